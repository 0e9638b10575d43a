//! The loader against the public corpora: every awesome-compose sample loads cleanly, and the
//! compose-go fixtures load or fail exactly as compose-go says.

mod common;

use assay_compose::{load_env_file, MountKind};
use common::*;
use std::path::Path;

#[test]
fn every_awesome_compose_sample_loads_without_errors() {
    let Some(corpora) = corpora() else { return };
    let files = awesome_compose_files(&corpora);
    assert!(
        files.len() >= 39,
        "expected the 39 samples, found {}",
        files.len()
    );
    for (dir, name) in files {
        let loaded = load(&dir, &name);
        let errs = errors(&loaded);
        assert!(errs.is_empty(), "{}/{name}: {errs:#?}", dir.display());
        let project = loaded.project.expect("a project");
        assert!(
            !project.services.is_empty(),
            "{}: no services",
            dir.display()
        );
        for (sname, svc) in &project.services {
            assert!(svc.image.is_some() || svc.build.is_some(), "{sname}");
            assert_eq!(
                svc.location.file, name,
                "locations are relative to the root"
            );
        }
    }
}

#[test]
fn the_postgres_samples_resolve_their_database_wiring() {
    let Some(corpora) = corpora() else { return };
    let ac = corpora.join("awesome-compose");
    // react-rust-postgres: backend reaches db by name on the shared server-side network
    let p = load(&ac.join("react-rust-postgres"), "compose.yaml")
        .project
        .unwrap();
    let backend = &p.services["backend"];
    assert_eq!(backend.environment["PG_HOST"].value.as_deref(), Some("db"));
    assert!(
        backend.networks.contains_key("server-side")
            && p.services["db"].networks.contains_key("server-side")
    );
    assert_eq!(
        p.services["db"].ports[0].value.published.as_deref(),
        Some("5432")
    );
    let data = &p.services["db"].volumes[0].value;
    assert_eq!(
        (data.kind, data.source.as_deref(), data.target.as_str()),
        (
            MountKind::Volume,
            Some("db-data"),
            "/var/lib/postgresql/data"
        )
    );
    // postgresql-pgadmin: credentials interpolated from its .env, with the origin recorded
    let p = load(&ac.join("postgresql-pgadmin"), "compose.yaml")
        .project
        .unwrap();
    let pg = p
        .services
        .values()
        .find(|s| {
            s.image
                .as_ref()
                .is_some_and(|i| i.value.starts_with("postgres"))
        })
        .unwrap();
    let user = &pg.environment["POSTGRES_USER"];
    assert_eq!(user.value.as_deref(), Some("yourUser"));
    match &user.origin {
        assay_compose::Origin::Interpolated {
            variables,
            from_dotenv,
        } => {
            assert_eq!(variables, &["POSTGRES_USER"]);
            assert_eq!(from_dotenv, &["POSTGRES_USER"]);
        }
        other => panic!("expected an interpolated origin, got {other:?}"),
    }
}

/// compose-go loader fixtures this loader must accept (with their own `.env` where present).
const VALID: &[&str] = &[
    "loader/testdata/compose-include.yaml",
    "loader/testdata/compose-test-extends.yaml",
    "loader/testdata/compose-test-with-version.yaml",
    "loader/testdata/compose-test-extends-with-context-url.yaml",
    "loader/testdata/include/compose.yaml",
    "loader/testdata/include/project-directory.yaml",
    "loader/testdata/combined/compose.yaml",
    "loader/testdata/extends/depends_on.yaml",
    "loader/testdata/extends/interpolated.yaml",
    "loader/testdata/extends/nested.yaml",
    "loader/testdata/extends/ports.yaml",
    "loader/testdata/extends/reset.yaml",
    "loader/testdata/extends/sibling.yaml",
    "loader/testdata/extends/withdir/compose.yaml",
    "loader/testdata/remote/compose.yaml",
    "loader/testdata/subdir/compose-test-extends-imported.yaml",
    "cli/testdata/simple/compose.yaml",
    "cli/testdata/simple/compose-name.yaml",
    "cli/testdata/simple/compose-with-overrides.yaml",
    "cli/testdata/simple/compose-with-paths.yaml",
    "cli/testdata/simple/compose-with-variables.yaml",
    "cli/testdata/env-file/compose-with-env-file.yaml",
    "cli/testdata/env-file/compose-with-env-files.yaml",
];

/// compose-go fixtures that must fail: (file, message, line of the error; 0 = whole file).
const INVALID: &[(&str, &str, u32)] = &[
    (
        "loader/testdata/compose-include-cycle.yaml",
        "include cycle detected",
        2,
    ),
    (
        "loader/testdata/compose-depends-on-cycle.yaml",
        "dependency cycle detected: service1 -> service2 -> service3 -> service1",
        14,
    ),
    (
        "loader/testdata/compose-depends-on-self.yaml",
        "dependency cycle detected: service1 -> service1",
        6,
    ),
    // the same graph as the cycle fixture; compose-go only accepts it with a service selection
    (
        "loader/testdata/compose-depends-on-profile-no-cycle.yaml",
        "dependency cycle detected",
        14,
    ),
    ("loader/testdata/empty.yaml", "empty compose file", 0),
    (
        "loader/testdata/extends/base.yaml",
        "service \"with-port\" has neither an image nor a build context specified",
        8,
    ),
    (
        "loader/testdata/remote/cycle/compose.yaml",
        "remote resources are not loaded",
        4,
    ),
    (
        "loader/testdata/remote/nested/compose.yaml",
        "remote resources are not loaded",
        4,
    ),
];

#[test]
fn compose_go_valid_fixtures_load() {
    let Some(corpora) = corpora() else { return };
    let root = corpora.join("compose-go-testdata");
    for file in VALID {
        let loaded = load(&root, file);
        assert!(errors(&loaded).is_empty(), "{file}: {:#?}", errors(&loaded));
        assert!(loaded.project.is_some(), "{file}");
    }
}

#[test]
fn compose_go_invalid_fixtures_fail_with_located_messages() {
    let Some(corpora) = corpora() else { return };
    let root = corpora.join("compose-go-testdata");
    for (file, message, line) in INVALID {
        let loaded = load(&root, file);
        let hit = errors(&loaded)
            .into_iter()
            .find(|d| d.message.contains(message));
        let hit = hit.unwrap_or_else(|| {
            panic!(
                "{file}: no error containing {message:?} in {:#?}",
                loaded.diagnostics
            )
        });
        let loc = hit.location.as_ref().expect("located");
        assert_eq!(loc.file, *file);
        assert_eq!(loc.line.unwrap_or(0), *line, "{file}: {hit}");
    }
}

#[test]
fn compose_go_fixture_details() {
    let Some(corpora) = corpora() else { return };
    let root = corpora.join("compose-go-testdata");
    // extends from another file: env_file resolved beside the extended file
    let p = load(&root, "loader/testdata/compose-test-extends.yaml")
        .project
        .unwrap();
    let importer = &p.services["importer"];
    assert_eq!(importer.image.as_ref().unwrap().value, "nginx");
    assert_eq!(
        importer.environment["SOURCE"].value.as_deref(),
        Some("extends")
    );
    assert_eq!(
        importer.env_files[0].resolved,
        Path::new("loader/testdata/subdir/extra.env")
    );
    // !reset removes the inherited command
    let p = load(&root, "loader/testdata/extends/reset.yaml")
        .project
        .unwrap();
    assert!(p.services["base"].command.is_none());
    assert_eq!(
        p.services["init"].command.as_ref().unwrap().value,
        ["sleep", "infinity"]
    );
    // include with a project directory: relative paths resolve against it
    let p = load(&root, "loader/testdata/include/project-directory.yaml")
        .project
        .unwrap();
    let bind = &p.services["service"].volumes[0].value;
    assert!(bind
        .host_path
        .as_ref()
        .unwrap()
        .ends_with("loader/testdata/subdir/compose-test-extends-imported.yaml"));
    // .env interpolation
    let p = load(&root, "cli/testdata/simple/compose-with-variables.yaml")
        .project
        .unwrap();
    assert_eq!(
        p.services["simple"].ports[0].value.published.as_deref(),
        Some("8000")
    );
    // COMPOSE_PROJECT_NAME from .env names the project
    let p = load(&root, "cli/testdata/env-file/compose-with-env-files.yaml")
        .project
        .unwrap();
    assert_eq!(p.name, "my_project_from_dot_env");
    assert_eq!(
        p.services["simple"].environment["DEFAULT_PORT"]
            .value
            .as_deref(),
        Some("9090")
    );
}

#[test]
fn compose_go_dotenv_fixtures() {
    let Some(corpora) = corpora() else { return };
    let root = corpora.join("compose-go-testdata/dotenv/fixtures");
    let err = load_env_file(&root, Path::new("invalid1.env")).unwrap_err();
    assert_eq!(err.message, "line 7: key cannot contain a space");
    assert_eq!(err.location.unwrap().to_string(), "invalid1.env:7:1");
    let get = |file: &str, key: &str| {
        load_env_file(&root, Path::new(file)).unwrap()[key]
            .value
            .clone()
    };
    assert_eq!(get("plain.env", "OPTION_H"), "my string");
    assert_eq!(
        get("quoted.env", "OPTION_J"),
        "first line\nsecond line\nthird line\nand so on"
    );
    assert_eq!(get("quoted.env", "OPTION_K"), "Let's go!");
    assert_eq!(get("quoted.env", "OPTION_H"), "\n");
    assert_eq!(get("exported.env", "OPTION_B"), "\\n");
    assert_eq!(
        get("equals.env", "OPTION_A"),
        "postgres://localhost:5432/database?sslmode=disable"
    );
    assert_eq!(get("utf8-bom.env", "OPTION_A"), "1");
    assert_eq!(get("substitutions.env", "OPTION_D"), "1_1");
    assert_eq!(get("special.env", "VAR-WITH-DASHES"), "dashes");
    assert_eq!(
        get("unquoted.env", "OPTION_C"),
        "then another one with an unquoted phrase"
    );
    assert_eq!(get("custom.format", "ZOT"), "QIX");
    let v = load_env_file(&root, Path::new("quoted.env")).unwrap();
    assert_eq!(v["OPTION_Z"].location.line, Some(15));
}
