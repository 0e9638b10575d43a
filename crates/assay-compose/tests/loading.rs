//! Loading behaviour on fixtures written for assay: every problem at once and located,
//! variables only from the submission, override files, profiles, hostile input.

mod common;

use assay_compose::{load_project, render_config, ConfigFormat, LoadOptions, MountKind, Origin};
use assay_core::Severity;
use common::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn five_mistakes_give_five_located_errors_in_one_run() {
    let loaded = load(&fixtures(), "five-mistakes/compose.yaml");
    let errs: Vec<String> = errors(&loaded).iter().map(|d| d.to_string()).collect();
    assert_eq!(
        errs,
        [
            "five-mistakes/compose.yaml:4:5: services.web: additional property \"restrat\" is not allowed (hint: did you mean \"restart\"?)",
            "five-mistakes/compose.yaml:6:19: error while interpolating services.web.environment.PGPASSWORD: required variable DB_PASSWORD is missing a value: set DB_PASSWORD in .env",
            "five-mistakes/compose.yaml:8:9: service \"web\" depends on undefined service \"databse\"",
            "five-mistakes/compose.yaml:10:9: service \"web\" refers to undefined network backend (hint: declare it under the top-level `networks:` key)",
            "five-mistakes/compose.yaml:13:5: mapping key \"image\" already defined at line 12",
        ]
    );
    assert!(
        loaded.project.is_some(),
        "the model is still built for later checks"
    );
}

#[test]
fn variables_come_from_the_submission_never_from_the_process() {
    // The grader's own environment must not leak into interpolation.
    std::env::set_var("ASSAY_TEST_SHELL_ONLY", "leaked");
    std::env::set_var("WEB_TAG", "leaked");
    let loaded = load(&fixtures(), "env-sources/compose.yaml");
    assert!(errors(&loaded).is_empty(), "{:#?}", loaded.diagnostics);
    let warning = loaded
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .unwrap();
    assert_eq!(
        warning.message,
        "The \"ASSAY_TEST_SHELL_ONLY\" variable is not set. Defaulting to a blank string."
    );
    assert_eq!(
        warning.location.as_ref().unwrap().to_string(),
        "env-sources/compose.yaml:11:19"
    );
    let p = loaded.project.unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image.as_ref().unwrap().value, "assay/sample-webapp:1.0");
    assert_eq!(web.environment["FROM_SHELL"].value.as_deref(), Some(""));
    assert_eq!(
        web.environment["DATABASE_URL"].value.as_deref(),
        Some("postgres://app:s3cret@db:5432/app")
    );
    assert_eq!(
        web.environment["DATABASE_URL"].origin,
        Origin::Interpolated {
            variables: vec!["DB_PASSWORD".into()],
            from_dotenv: vec!["DB_PASSWORD".into()]
        }
    );
    // env_file first, environment over it; each value says where it came from
    assert_eq!(web.environment["PGHOST"].value.as_deref(), Some("db"));
    assert_eq!(web.environment["PGHOST"].origin, Origin::Literal);
    assert_eq!(
        web.environment["PGUSER"].origin,
        Origin::EnvFile {
            file: "env-sources/app.env".into()
        }
    );
    assert_eq!(
        web.environment["PGUSER"].location.to_string(),
        "env-sources/app.env:1:1"
    );
    assert_eq!(web.environment["BARE"].value, None);
    assert_eq!(web.env_files.len(), 2);
    assert!(!web.env_files[1].required && !web.env_files[1].loaded);
    assert_eq!(web.ports[0].value.published.as_deref(), Some("8081"));
    assert_eq!(web.ports[0].value.target, 8080);
    let db = &p.services["db"];
    assert!(
        !db.privileged.as_ref().unwrap().value,
        "compose casts \"no\" on boolean fields"
    );
    assert_eq!(
        db.healthcheck
            .as_ref()
            .unwrap()
            .test
            .as_ref()
            .unwrap()
            .value,
        ["CMD-SHELL", "pg_isready -U app"]
    );
    assert_eq!(
        p.variables["DB_PASSWORD"].location.to_string(),
        "env-sources/.env:2:1"
    );

    // explicit overrides win over .env
    let mut opts = LoadOptions::default();
    opts.env_overrides
        .insert("DB_PASSWORD".into(), "over".into());
    let p = load_project(&fixtures(), Path::new("env-sources/compose.yaml"), &opts)
        .project
        .unwrap();
    assert_eq!(
        p.services["db"].environment["POSTGRES_PASSWORD"]
            .value
            .as_deref(),
        Some("over")
    );
    match &p.services["db"].environment["POSTGRES_PASSWORD"].origin {
        Origin::Interpolated { from_dotenv, .. } => assert!(from_dotenv.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn override_file_merges_like_compose() {
    let loaded = load(&fixtures(), "override/compose.yaml");
    assert!(errors(&loaded).is_empty(), "{:#?}", loaded.diagnostics);
    let p = loaded.project.unwrap();
    assert_eq!(
        p.files,
        [
            Path::new("override/compose.yaml"),
            Path::new("override/compose.override.yaml")
        ]
    );
    let web = &p.services["web"];
    let env: Vec<(&str, Option<&str>)> = web
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_deref()))
        .collect();
    assert_eq!(
        env,
        [("A", Some("1")), ("B", Some("three")), ("C", Some("4"))]
    );
    assert_eq!(web.ports.len(), 2, "ports are appended");
    assert_eq!(web.volumes.len(), 1, "volumes merge by target");
    assert_eq!(web.volumes[0].value.source.as_deref(), Some("./b"));
    assert_eq!(web.volumes[0].value.kind, MountKind::Bind);
    assert_eq!(
        web.command.as_ref().unwrap().value,
        ["run", "b"],
        "command is replaced"
    );
    assert!(p.services["db"].ports.is_empty(), "!reset clears");
    assert_eq!(
        web.environment["C"].location.to_string(),
        "override/compose.override.yaml:5:10"
    );
}

#[test]
fn profiles_enable_services() {
    let p = load(&fixtures(), "profiles/compose.yaml").project.unwrap();
    assert_eq!(p.services.keys().collect::<Vec<_>>(), ["web"]);
    assert!(p.disabled_services.contains_key("debug"));
    let opts = LoadOptions {
        profiles: vec!["debug".into()],
        ..Default::default()
    };
    let p = load_project(&fixtures(), Path::new("profiles/compose.yaml"), &opts)
        .project
        .unwrap();
    assert_eq!(p.services.len(), 2);
}

#[test]
fn files_outside_the_submission_are_never_read() {
    let loaded = load(&fixtures().join("escape"), "sub/compose.yaml");
    let errs: Vec<String> = errors(&loaded).iter().map(|d| d.to_string()).collect();
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter()
            .all(|e| e.contains("resolves outside the submission directory")),
        "{errs:#?}"
    );
    assert!(errs[0].starts_with("sub/compose.yaml:4:15"));
    assert!(errs[1].starts_with("sub/compose.yaml:6:13"));
    let p = loaded.project.unwrap();
    assert!(
        p.services["web"].environment.is_empty(),
        "nothing of /etc/passwd reached the model"
    );
}

#[test]
fn alias_bomb_is_a_located_error() {
    let loaded = load(&fixtures(), "bomb/compose.yaml");
    assert!(loaded.project.is_none());
    let e = &errors(&loaded)[0];
    assert!(e.message.contains("more than 100000 YAML nodes"), "{e}");
    assert_eq!(e.location.as_ref().unwrap().file, "bomb/compose.yaml");
}

#[test]
fn durations_are_typed_at_load_and_a_bad_one_is_a_located_error_in_go_wording() {
    let loaded = load(&fixtures(), "durations/compose.yaml");
    let errs: Vec<String> = errors(&loaded).iter().map(|d| d.to_string()).collect();
    assert_eq!(
        errs,
        [
            "durations/compose.yaml:6:17: services.db.healthcheck.interval: time: invalid duration \"ten seconds\"",
            "durations/compose.yaml:7:16: services.db.healthcheck.timeout: time: missing unit in duration \"10\"",
            "durations/compose.yaml:8:21: services.db.healthcheck.start_period: time: unknown unit \"y\" in duration \"1y\"",
            "durations/compose.yaml:10:24: services.db.stop_grace_period: negative duration \"-5s\": a duration here must be zero or more",
            "durations/compose.yaml:20:16: services.webapp.deploy.restart_policy.delay: time: invalid duration \"soon\"",
        ]
    );
    let p = loaded.project.expect("the model is still built");
    let db = p.services["db"].healthcheck.as_ref().unwrap();
    assert_eq!(db.interval, None, "an invalid duration is not in the model");
    assert_eq!(
        db.start_interval.as_ref().unwrap().value.duration(),
        Duration::from_millis(500)
    );
    let web = &p.services["webapp"];
    let hc = web.healthcheck.as_ref().unwrap();
    let interval = hc.interval.as_ref().unwrap();
    assert_eq!(interval.value.duration(), Duration::from_secs(90));
    assert_eq!(interval.value.text(), "1m30s");
    assert!(matches!(interval.origin, Origin::Interpolated { .. }));
    assert_eq!(
        hc.timeout.as_ref().unwrap().value.duration(),
        Duration::from_millis(2500)
    );
    assert_eq!(
        web.stop_grace_period.as_ref().unwrap().value.duration(),
        Duration::ZERO
    );
    // `config` prints durations as written.
    let json: serde_json::Value =
        serde_json::from_str(&render_config(&p, ConfigFormat::Json)).unwrap();
    assert_eq!(
        json["services"]["webapp"]["healthcheck"]["interval"],
        "1m30s"
    );
    assert_eq!(json["services"]["webapp"]["stop_grace_period"], "0");
}

#[test]
fn config_renders_yaml_and_json() {
    let p = load(&fixtures(), "env-sources/compose.yaml")
        .project
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&render_config(&p, ConfigFormat::Json)).unwrap();
    assert_eq!(json["services"]["web"]["ports"][0]["published"], "8081");
    assert_eq!(
        json["services"]["db"]["environment"]["POSTGRES_PASSWORD"],
        "s3cret"
    );
    let yaml = render_config(&p, ConfigFormat::Yaml);
    assert!(yaml.starts_with("name: env-sources\n"), "{yaml}");
    assert!(yaml.contains("      - mode: ingress\n        protocol: tcp\n        published: \"8081\"\n        target: 8080\n"), "{yaml}");
    // the YAML reads back to the same JSON
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), &yaml).unwrap();
    let again = load(dir.path(), "compose.yaml");
    assert!(errors(&again).is_empty(), "{:#?}", again.diagnostics);
}

#[test]
fn extends_cycles_are_located_errors() {
    let loaded = load(&fixtures(), "extends-cycle/compose.yaml");
    let errs: Vec<String> = errors(&loaded).iter().map(|d| d.to_string()).collect();
    assert_eq!(
        errs,
        ["extends-cycle/compose.yaml:7:5: extends cycle detected: a -> b -> a"]
    );
    assert!(loaded.project.is_some());
}

#[test]
fn merge_keys_apply_and_a_scalar_merge_is_located() {
    let loaded = load(&fixtures(), "anchors/compose.yaml");
    let errs: Vec<String> = errors(&loaded).iter().map(|d| d.to_string()).collect();
    assert_eq!(errs, ["anchors/compose.yaml:15:9: map merge requires map or sequence of maps as the value (hint: the merge key `<<` at line 15 takes an alias of a mapping, e.g. `<<: *defaults`)"]);
    let p = loaded.project.unwrap();
    assert_eq!(
        p.services["web"].restart.as_ref().unwrap().value,
        "no",
        "explicit keys win over merged ones"
    );
    assert_eq!(
        p.services["worker"].restart.as_ref().unwrap().value,
        "unless-stopped"
    );
    assert_eq!(
        p.services["worker"].environment["TZ"].value.as_deref(),
        Some("UTC")
    );
    // the merged value keeps the location of the anchor's definition
    assert_eq!(
        p.services["worker"]
            .restart
            .as_ref()
            .unwrap()
            .location
            .to_string(),
        "anchors/compose.yaml:2:12"
    );
}

#[test]
fn env_files_outside_the_root_are_refused() {
    let err = assay_compose::load_env_file(
        &fixtures().join("escape"),
        Path::new("../../../../../../../etc/passwd"),
    )
    .unwrap_err();
    assert!(
        err.message
            .contains("resolves outside the submission directory"),
        "{err}"
    );
    let ok =
        assay_compose::load_env_file(&fixtures().join("env-sources"), Path::new(".env")).unwrap();
    assert_eq!(ok["DB_PASSWORD"].value, "s3cret");
    assert_eq!(ok["WEB_PORT"].location.to_string(), ".env:3:1");
}

/// Every file is read through the submission root, which never follows a link: a link that
/// stays inside is refused too (with the link named), one that leaves is refused as outside
/// (and carries the code that routes it to `compose.security`).
#[test]
fn files_reached_through_a_link_are_refused_naming_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sub");
    std::fs::create_dir_all(root.join("env")).unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(root.join("env/real.env"), "A=1\n").unwrap();
    std::fs::write(dir.path().join("outside/x.env"), "B=2\n").unwrap();
    std::os::unix::fs::symlink("env", root.join("env-dir")).unwrap();
    std::os::unix::fs::symlink("../outside/x.env", root.join("out.env")).unwrap();
    std::fs::write(
        root.join("compose.yaml"),
        "services:\n  a:\n    image: postgres:16\n    env_file:\n      - env-dir/real.env\n      - out.env\n",
    )
    .unwrap();
    let loaded = load(&root, "compose.yaml");
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(
        errs[0].message,
        "refusing to read env-dir/real.env: env-dir is a symbolic link, and assay never follows links in a submission"
    );
    assert_eq!(
        errs[0].location.as_ref().unwrap().to_string(),
        "compose.yaml:5:9"
    );
    assert_eq!(errs[0].code, None);
    assert!(
        errs[1]
            .to_string()
            .starts_with("compose.yaml:6:9: refusing to read out.env: it resolves outside"),
        "{}",
        errs[1]
    );
    assert_eq!(errs[1].code, Some(assay_core::codes::OUTSIDE_SUBMISSION));
}

/// `../..` is two levels above the project, never the project itself (the checks crate's old
/// normaliser folded it to the root).
#[test]
fn a_path_climbing_two_levels_is_outside_not_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/sub");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(dir.path().join("x.env"), "A=1\n").unwrap();
    std::fs::write(
        root.join("compose.yaml"),
        "services:\n  a:\n    image: postgres:16\n    env_file: ../../x.env\n",
    )
    .unwrap();
    let loaded = load(&root, "compose.yaml");
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0]
            .message
            .contains("resolves outside the submission directory"),
        "{}",
        errs[0]
    );
}

/// Hostile YAML, huge scalars: a scalar of megabytes loads (a string, nothing expands it)
/// while the file is under the 4 MiB cap; above the cap the file is refused, located, unparsed.
#[test]
fn a_huge_scalar_loads_under_the_file_cap_and_a_file_over_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = |mib: usize| {
        format!(
            "services:\n  db:\n    image: postgres:16\n    environment:\n      BIG: {}\n",
            "x".repeat(mib * 1024 * 1024)
        )
    };
    std::fs::write(dir.path().join("compose.yaml"), file(3)).unwrap();
    let loaded = load(dir.path(), "compose.yaml");
    assert!(errors(&loaded).is_empty(), "{:#?}", loaded.diagnostics);
    assert!(loaded.project.is_some());

    std::fs::write(dir.path().join("compose.yaml"), file(5)).unwrap();
    let loaded = load(dir.path(), "compose.yaml");
    assert!(loaded.project.is_none());
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0]
            .message
            .contains("more than the 4194304 bytes allowed"),
        "{}",
        errs[0]
    );
    assert_eq!(errs[0].location.as_ref().unwrap().file, "compose.yaml");
}
