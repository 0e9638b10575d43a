//! Every static check passing and failing on fixture submissions loaded end to end through the
//! real compose loader, with the evidence a reviewer reads and the location asserted.

mod common;
use assay_core::{CheckId, Severity, Status};
use common::*;
use std::path::PathBuf;

fn case(name: &str) -> PathBuf {
    let sub = fixtures().join("submissions").join(name);
    if sub.is_dir() {
        sub
    } else {
        fixtures().join("checks").join(name)
    }
}

/// Asserts one check of one fixture: status, a piece of the evidence, the location's line.
#[track_caller]
fn expect(name: &str, id: CheckId, status: Status, evidence: &str, line: Option<u32>) {
    let (loaded, facts) = run(&case(name));
    let c = check(&facts, id);
    let ctx = || {
        format!(
            "{name} {id}: {c:?}\nloader: {:?}\n{}",
            loaded.diagnostics,
            table(&facts)
        )
    };
    assert_eq!(c.status, status, "{}", ctx());
    assert!(
        c.evidence.contains(evidence),
        "evidence lacks {evidence:?}: {}",
        ctx()
    );
    if let Some(line) = line {
        assert_eq!(
            c.location.as_ref().and_then(|l| l.line),
            Some(line),
            "{}",
            ctx()
        );
        assert_eq!(
            c.location.as_ref().map(|l| l.file.as_str()),
            Some("compose.yaml")
        );
    }
}

use CheckId::*;
use Status::{Fail, Pass, Skipped};

#[test]
fn the_good_submission_passes_every_check() {
    let (loaded, facts) = run(&case("good"));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    for c in &facts.checks {
        assert_eq!(c.status, Pass, "{}", table(&facts));
    }
    assert_eq!(facts.checks.len(), 13);
    assert_eq!(facts.db_service.as_deref(), Some("db"));
    assert_eq!(facts.webapp_service.as_deref(), Some("webapp"));
    let creds = facts.db_credentials.unwrap();
    assert_eq!(
        (creds.user.as_str(), creds.database.as_str()),
        ("notes", "notes")
    );
    assert_eq!(
        creds
            .password_source
            .password(&open_root(&case("good")))
            .as_deref(),
        Some("correct-horse-battery")
    );
    assert_eq!(format!("{:?}", creds.password_source), "Value(***)");
}

#[test]
fn valid() {
    expect("good", ComposeValid, Pass, "valid: 2 services", None);
    expect(
        "invalid",
        ComposeValid,
        Fail,
        "2 errors; first: services.webapp: additional property \"restrat\" is not allowed",
        Some(19),
    );
    let (_, facts) = run(&case("invalid"));
    let v = check(&facts, ComposeValid);
    assert_eq!(
        v.details.len(),
        2,
        "every loader diagnostic is in the details"
    );
    assert!(v.details[1].message.contains("undefined network nope"));
    assert!(facts.checks[1..]
        .iter()
        .all(|c| c.status == Skipped
            && c.evidence == "the compose file is not valid (compose.valid)"));
    assert_eq!((facts.db_service, facts.webapp_service), (None, None));
}

#[test]
fn security() {
    expect("good", ComposeSecurity, Pass, "no policy violation", None);
    expect(
        "container-name-fixed-port",
        ComposeSecurity,
        Pass,
        "no policy violation (2 notes on settings the sandbox overrides)",
        None,
    );
}

#[test]
fn db_service() {
    expect(
        "good",
        ComposeDbService,
        Pass,
        "service `db`: image `postgres:16`",
        Some(4),
    );
    expect(
        "db-built",
        ComposeDbService,
        Pass,
        "service `db`: built FROM postgres:16-alpine (db/Dockerfile)",
        Some(4),
    );
    expect(
        "unpinned",
        ComposeDbService,
        Pass,
        "image `postgres`",
        Some(4),
    );
    expect(
        "no-db",
        ComposeDbService,
        Fail,
        "no service uses a Postgres image (postgres, library/postgres",
        None,
    );
    expect(
        "no-db",
        ComposeDbService,
        Fail,
        "services: `db` (mysql:8.4), `webapp` (build ./sample-webapp)",
        None,
    );
    expect(
        "lookalike-db",
        ComposeDbService,
        Fail,
        "service `db` uses `bitnami/postgresql:16`, which is not a Postgres image the grader runs",
        Some(4),
    );
    // Without a db, the checks about it are blocked, the others still run.
    expect(
        "no-db",
        ComposeDbHost,
        Skipped,
        "no Postgres service (compose.db-service)",
        None,
    );
    expect("no-db", ComposeScalable, Pass, "", None);
}

#[test]
fn webapp_service() {
    expect("good", ComposeWebappService, Pass, "service `webapp`: its build context `./sample-webapp` holds the handout webapp (sample-webapp)", Some(18));
    expect(
        "webapp-image",
        ComposeWebappService,
        Pass,
        "its image `assay/sample-webapp:1.0` is the handout webapp's",
        Some(18),
    );
    expect(
        "webapp-guessed",
        ComposeWebappService,
        Fail,
        "the other checks judge `api`, chosen by evidence: `api`: it sets PGDATABASE, PGHOST, PGPASSWORD, PGUSER, it shares network `default` with the database, its name is a usual webapp name",
        Some(17),
    );
    // The image the handout's README builds (`docker build -t sample-webapp .`), no source.
    expect(
        "webapp-image-suggested",
        ComposeWebappService,
        Pass,
        "service `notes`: its image `sample-webapp` is the name the handout's README builds (`docker build -t sample-webapp .`); the pristine handout image runs in its place (see notes)",
        Some(19),
    );
    // A build of the handout folder the zip left out.
    expect(
        "webapp-build-missing",
        ComposeWebappService,
        Pass,
        "service `webapp`: it builds `./sample-webapp`, which the submission does not contain, and the folder is the handout's `sample-webapp/` and it sets PGHOST, as the handout webapp reads it",
        Some(18),
    );
    for (name, service) in [
        ("webapp-image-suggested", "notes"),
        ("webapp-build-missing", "webapp"),
    ] {
        let (_, facts) = run(&case(name));
        assert_eq!(facts.webapp_service.as_deref(), Some(service));
        assert_eq!(facts.notes.len(), 1, "{:?}", facts.notes);
        assert!(facts.notes[0].contains("pristine handout webapp image"));
        for c in &facts.checks {
            assert_eq!(c.status, Pass, "{name}\n{}", table(&facts));
        }
    }
    // The candidate's own app: the check fails, and the service the other checks judge is the
    // one holding a Postgres URL under a name of its own, not the one with the usual name.
    expect(
        "own-app-url",
        ComposeWebappService,
        Fail,
        "the other checks judge `worker`, chosen by evidence: `worker`: SQLALCHEMY_DATABASE_URI holds a Postgres URL, it shares network `default` with the database; not chosen: `web`: it shares network `default` with the database, its name is a usual webapp name",
        Some(11),
    );
    // Database variables from an env_file and a network shared with the db outweigh the name.
    expect(
        "own-app-envfile",
        ComposeWebappService,
        Fail,
        "the other checks judge `ledger`, chosen by evidence: `ledger`: it sets DB_HOST (env_file ledger.env), DB_NAME (env_file ledger.env), DB_USER (env_file ledger.env), it shares network `back` with the database; not chosen: `app`: its name is a usual webapp name",
        Some(9),
    );
    // The guess still drives the connection checks.
    expect(
        "webapp-guessed",
        ComposeDbHost,
        Pass,
        "webapp PGHOST=db",
        None,
    );
}

#[test]
fn pwd_is_the_project_directory_and_missing_bind_sources_are_reported() {
    let (loaded, facts) = run(&case("pwd-binds"));
    let security = check(&facts, ComposeSecurity);
    assert_eq!(security.status, Pass, "{}", table(&facts));
    assert!(
        security.evidence.ends_with("; 1 warning"),
        "{}",
        security.evidence
    );
    let missing: Vec<_> = security
        .details
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    assert_eq!(missing.len(), 1, "{:?}", security.details);
    assert!(
        missing[0]
            .message
            .contains("bind source `./proxy/nginx.conf` does not exist in the submission"),
        "{}",
        missing[0].message
    );
    assert_eq!(missing[0].location.as_ref().and_then(|l| l.line), Some(20));
    // The loader says how it read ${PWD}, as a warning a reviewer sees.
    let note = loaded
        .diagnostics
        .iter()
        .find(|d| d.message.contains("${PWD}"))
        .expect("a note on ${PWD}");
    assert_eq!(note.severity, Severity::Warning);
    assert_eq!(
        note.message,
        "`${PWD}` is read as the project directory (`.`), as when `docker compose up` runs in it"
    );
    assert_eq!(facts.webapp_service.as_deref(), Some("webapp"));
    expect(
        "pwd-binds",
        ComposeWebappService,
        Pass,
        "holds the handout webapp",
        None,
    );
}

#[test]
fn db_host() {
    expect(
        "good",
        ComposeDbHost,
        Pass,
        "webapp PGHOST=db names the db service `db` on network `default`",
        Some(20),
    );
    expect("alias-url", ComposeDbHost, Pass, "webapp DATABASE_URL=postgres://notes:***@database:5432/notes names the db service `db` by its alias on network `back`", Some(23));
    expect(
        "container-name-host",
        ComposeDbHost,
        Pass,
        "names the db service `db` (its container_name) on network `default`",
        None,
    );
    expect("wrong-host", ComposeDbHost, Fail, "webapp PGHOST=localhost; the db service is `db`; inside a container, localhost is the webapp itself", Some(20));
    expect(
        "disjoint-networks",
        ComposeDbHost,
        Fail,
        "but they share no network (webapp: `front`; db: `back`)",
        Some(22),
    );
    expect("no-host", ComposeDbHost, Fail, "sets neither DATABASE_URL nor PGHOST; the sample webapp needs one to find the db service `db`; it sets DB_HOST, which the sample webapp does not read", Some(17));
    expect(
        "port-mismatch",
        ComposeDbHost,
        Fail,
        "webapp connects to port PGPORT=`5433` but Postgres listens on `5432` (default)",
        Some(21),
    );
}

#[test]
fn credentials() {
    // A password left blank by an unset variable matches on both sides, but Postgres will not
    // initialise: the check says so instead of passing.
    expect(
        "blank-password",
        ComposeCredentials,
        Fail,
        "db POSTGRES_PASSWORD is blank ($DB_PASSWORD not set in .env): the postgres image refuses to initialise without a password",
        Some(22),
    );
    // …and no-inline-secrets does not claim that no password variable is set.
    expect(
        "blank-password",
        ComposeNoInlineSecrets,
        Pass,
        "no literal secret: POSTGRES_PASSWORD of `db` from $DB_PASSWORD (blank), PGPASSWORD of `webapp` from $DB_PASSWORD (blank)",
        None,
    );
    expect(
        "good",
        ComposeCredentials,
        Pass,
        "webapp logs in as `notes` to `notes` with PGPASSWORD (from $DB_PASSWORD)",
        Some(21),
    );
    expect(
        "alias-url",
        ComposeCredentials,
        Pass,
        "match (same value)",
        None,
    ); // percent-decoded URL password
    expect(
        "secrets",
        ComposeCredentials,
        Pass,
        "match (both read secret db-password)",
        None,
    );
    expect(
        "secret-vs-value",
        ComposeCredentials,
        Pass,
        "POSTGRES_PASSWORD_FILE=/run/secrets/db-password: match (same value)",
        None,
    );
    expect(
        "env-file",
        ComposeCredentials,
        Pass,
        "PGPASSWORD (from env_file webapp.env)",
        None,
    );
    expect(
        "trust",
        ComposeCredentials,
        Pass,
        "the db trusts every connection: POSTGRES_HOST_AUTH_METHOD=trust",
        None,
    );
    expect("wrong-password", ComposeCredentials, Fail, "webapp password DATABASE_URL (from $WEBAPP_DB_PASSWORD) differs from db POSTGRES_PASSWORD (from $DB_PASSWORD)", Some(20));
    expect(
        "secret-mismatch",
        ComposeCredentials,
        Fail,
        "differs from db POSTGRES_PASSWORD_FILE=/run/secrets/db-password",
        None,
    );
    expect("default-user", ComposeCredentials, Fail, "user: webapp `postgres` (default) ≠ db POSTGRES_USER=`notes`; database: webapp `postgres` (default) ≠ db POSTGRES_DB=`notes`", Some(6));
}

#[test]
fn healthcheck() {
    expect(
        "good",
        ComposeHealthcheck,
        Pass,
        "db healthcheck runs `pg_isready -U notes -d notes` (every 5s, 10 retries)",
        Some(10),
    );
    expect(
        "db-built",
        ComposeHealthcheck,
        Pass,
        "db image built from db/Dockerfile declares HEALTHCHECK",
        None,
    );
    expect(
        "no-startup-order",
        ComposeHealthcheck,
        Fail,
        "db service `db` has no healthcheck",
        Some(3),
    );
    expect(
        "healthcheck-disabled",
        ComposeHealthcheck,
        Fail,
        "db service `db` disables its healthcheck",
        Some(10),
    );
    expect("healthcheck-curl", ComposeHealthcheck, Fail, "db healthcheck `curl -f http://localhost:5432` does not check that Postgres accepts connections", Some(10));
}

#[test]
fn startup_order() {
    expect(
        "good",
        ComposeStartupOrder,
        Pass,
        "webapp depends_on `db` with condition service_healthy",
        Some(27),
    );
    expect(
        "restart-on-failure",
        ComposeStartupOrder,
        Pass,
        "webapp has restart: on-failure: it restarts until the database accepts connections",
        Some(21),
    );
    expect("no-startup-order", ComposeStartupOrder, Fail, "webapp depends_on `db` with condition service_started (started, not ready) and has no restart policy", Some(20));
    expect(
        "healthy-without-healthcheck",
        ComposeStartupOrder,
        Fail,
        "webapp waits for `db` to be service_healthy, but db service `db` has no healthcheck",
        Some(22),
    );
}

#[test]
fn db_volume() {
    expect(
        "good",
        ComposeDbVolume,
        Pass,
        "Postgres data /var/lib/postgresql/data is on named volume `db-data`",
        Some(15),
    );
    expect(
        "volume-bind-inside",
        ComposeDbVolume,
        Pass,
        "is on bind mount `./pgdata` inside the project",
        Some(15),
    );
    expect(
        "volume-pgdata",
        ComposeDbVolume,
        Pass,
        "Postgres data /data/pg is on named volume `db-data`",
        None,
    );
    expect(
        "no-volume",
        ComposeDbVolume,
        Fail,
        "db service `db` keeps its data (/var/lib/postgresql/data, default) in the container",
        Some(3),
    );
    expect(
        "volume-anonymous",
        ComposeDbVolume,
        Fail,
        "is on an anonymous volume",
        Some(15),
    );
}

#[test]
fn no_inline_secrets() {
    expect("good", ComposeNoInlineSecrets, Pass, "no literal secret: POSTGRES_PASSWORD of `db` from $DB_PASSWORD, PGPASSWORD of `webapp` from $DB_PASSWORD", None);
    expect(
        "alias-url",
        ComposeNoInlineSecrets,
        Pass,
        "DATABASE_URL of `webapp` from $DB_PASSWORD_URL",
        None,
    );
    expect(
        "secrets",
        ComposeNoInlineSecrets,
        Pass,
        "POSTGRES_PASSWORD_FILE of `db`, PGPASSWORD_FILE of `webapp`",
        None,
    );
    expect(
        "env-file",
        ComposeNoInlineSecrets,
        Pass,
        "from env_file db.env",
        None,
    );
    expect(
        "inline",
        ComposeNoInlineSecrets,
        Fail,
        "2 inline secrets; first: service `db`: POSTGRES_PASSWORD is a literal in the compose file",
        Some(7),
    );
    expect(
        "inline-default",
        ComposeNoInlineSecrets,
        Fail,
        "POSTGRES_PASSWORD is a default written in the compose file",
        Some(7),
    );
    // Any secret-named key and any URL with a password; look-alike names are not secrets.
    expect(
        "secrets-any-name",
        ComposeNoInlineSecrets,
        Fail,
        "2 inline secrets; first: service `webapp`: the password in CACHE_URL is a literal in the compose file",
        Some(19),
    );
    let (_, facts) = run(&case("secrets-any-name"));
    let d = &check(&facts, ComposeNoInlineSecrets).details;
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "service `webapp`: the password in CACHE_URL is a literal in the compose file",
            "service `webapp`: MAPS_API_KEY is a literal in the compose file"
        ]
    );
    let text = format!("{:?}", check(&facts, ComposeNoInlineSecrets));
    assert!(
        !text.contains("swordfish") && !text.contains("AIza"),
        "{text}"
    );
    // A password variable set from .env is named as such, never "no password variable".
    expect(
        "secrets-indirect",
        ComposeNoInlineSecrets,
        Pass,
        "no literal secret: POSTGRES_PASSWORD of `db` from $PG_PW, PGPASSWORD of `webapp` from $PG_PW, PG_PW of `webapp` from $PG_PW",
        None,
    );
    let (_, facts) = run(&case("inline"));
    let d = &check(&facts, ComposeNoInlineSecrets).details;
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[1].message,
        "service `webapp`: the password in DATABASE_URL is a literal in the compose file"
    );
}

#[test]
fn db_not_published() {
    expect(
        "good",
        ComposeDbNotPublished,
        Pass,
        "db service `db` publishes no port",
        None,
    );
    expect(
        "db-published",
        ComposeDbNotPublished,
        Fail,
        "db service `db` publishes 5432 → host 5432 (and 1 more)",
        Some(15),
    );
    let (_, facts) = run(&case("db-published"));
    let d = &check(&facts, ComposeDbNotPublished).details;
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[1].message,
        "db service `db` publishes 5432 → a random host port"
    );
}

#[test]
fn scalable() {
    expect(
        "good",
        ComposeScalable,
        Pass,
        "webapp `webapp` has no container_name and no fixed host port",
        None,
    );
    expect(
        "scalable-range",
        ComposeScalable,
        Pass,
        "no fixed host port",
        None,
    );
    expect(
        "container-name-fixed-port",
        ComposeScalable,
        Fail,
        "webapp sets container_name `notes-webapp`; webapp publishes fixed host port 8080: two replicas would clash",
        Some(19),
    );
}

#[test]
fn pinned_images() {
    expect(
        "good",
        ComposePinnedImages,
        Pass,
        "1 image pinned: `postgres:16`",
        None,
    );
    expect(
        "unpinned",
        ComposePinnedImages,
        Fail,
        "2 unpinned images; first: service `cache`: image `redis:latest` uses the `latest` tag",
        Some(30),
    );
    let (_, facts) = run(&case("unpinned"));
    let d = &check(&facts, ComposePinnedImages).details;
    assert_eq!(
        d.iter().map(|d| d.message.as_str()).collect::<Vec<_>>(),
        [
            "service `cache`: image `redis:latest` uses the `latest` tag",
            "service `db`: image `postgres` has no tag (means latest)"
        ]
    );
}

/// No evidence, detail or hint ever shows a password, whatever the check.
#[test]
fn passwords_never_appear_in_any_result() {
    let secrets = [
        "correct-horse-battery",
        "hunter2",
        "Tr0ub4dor",
        "s3cret-in-a-file",
        "not-the-file",
        "fallback-secret",
        "from-an-env-file",
        "p@ss",
        "p%40ss",
    ];
    let mut dirs: Vec<PathBuf> = Vec::new();
    for group in ["checks", "submissions"] {
        dirs.extend(
            std::fs::read_dir(fixtures().join(group))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_dir()),
        );
    }
    assert!(dirs.len() > 30);
    for dir in dirs {
        let (_, facts) = run(&dir);
        let text = format!("{:?}", facts);
        for s in secrets {
            assert!(
                !text.contains(s),
                "{} shows a password: {text}",
                dir.display()
            );
        }
    }
}

#[test]
fn credentials_for_the_sandbox() {
    let (_, facts) = run(&case("secrets"));
    let creds = facts.db_credentials.unwrap();
    match &creds.password_source {
        assay_checks::PasswordSource::File {
            container_path,
            secret,
            host_file,
        } => {
            assert_eq!(container_path, "/run/secrets/db-password");
            assert_eq!(secret.as_deref(), Some("secret db-password"));
            assert_eq!(
                host_file.as_deref(),
                Some(std::path::Path::new("db-password.txt"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        creds
            .password_source
            .password(&open_root(&case("secrets")))
            .as_deref(),
        Some("s3cret-in-a-file")
    );
    let (_, facts) = run(&case("trust"));
    assert_eq!(
        facts.db_credentials.unwrap().password_source,
        assay_checks::PasswordSource::Trust
    );
}

/// Hostile values: escapes, huge strings and passwords in commands stay out of the evidence.
#[test]
fn hostile_values_give_bounded_escaped_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "h".repeat(5000);
    let compose = format!(
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: zz-secret\n    healthcheck:\n      test: [\"CMD-SHELL\", \"PGPASSWORD=zz-secret psql -h postgres://u:zz-secret@localhost/x -c 'SELECT 1'\"]\n  webapp:\n    build: ./sample-webapp\n    environment:\n      PGHOST: \"\\e[31mred\\e[0m{huge}\"\n      PGPASSWORD: zz-secret\n"
    );
    write_files(
        dir.path(),
        &[
            ("compose.yaml", &compose),
            (
                "sample-webapp/Cargo.toml",
                "[package]\nname = \"sample-webapp\"\n",
            ),
        ],
    );
    let (loaded, facts) = run(dir.path());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    assert_eq!(check(&facts, CheckId::ComposeHealthcheck).status, Pass);
    assert!(check(&facts, CheckId::ComposeHealthcheck)
        .evidence
        .contains("PGPASSWORD=***"));
    assert_eq!(check(&facts, CheckId::ComposeDbHost).status, Fail);
    for c in &facts.checks {
        assert!(!c.evidence.contains("zz-secret"), "{c:?}");
        assert!(!c.evidence.contains('\u{1b}'), "{c:?}");
        assert!(c.evidence.len() < 1000, "{} chars: {c:?}", c.evidence.len());
    }
}
