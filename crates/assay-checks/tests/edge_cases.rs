//! Less common shapes of a submission, built in temp dirs and loaded end to end.

mod common;
use assay_core::{CheckId, Status};
use common::*;

const CARGO: &str = "[package]\nname = \"sample-webapp\"\nversion = \"0.1.0\"\n";

fn run_yaml(compose: &str, env: &str) -> (assay_compose::Loaded, assay_checks::ComposeFacts) {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("compose.yaml", compose),
            (".env", env),
            ("sample-webapp/Cargo.toml", CARGO),
        ],
    );
    let out = run(dir.path());
    assert!(!out.0.has_errors(), "{:?}", out.0.diagnostics);
    out
}

#[track_caller]
fn expect(facts: &assay_checks::ComposeFacts, id: CheckId, status: Status, evidence: &str) {
    let c = check(facts, id);
    assert_eq!(c.status, status, "{}", table(facts));
    assert!(
        c.evidence.contains(evidence),
        "{id}: {:?} lacks {evidence:?}",
        c.evidence
    );
}

#[test]
fn a_build_from_the_root_with_the_webapp_dockerfile_is_the_webapp() {
    let (_, facts) = run_yaml(
        "services:\n  web:\n    build:\n      context: .\n      dockerfile: sample-webapp/Dockerfile\n    environment:\n      PGHOST: db\n  db:\n    image: postgres:16\n",
        "",
    );
    expect(
        &facts,
        CheckId::ComposeWebappService,
        Status::Pass,
        "service `web`: its build context `.` holds the handout webapp",
    );
}

#[test]
fn the_webapp_is_found_by_its_cargo_package_even_in_a_renamed_dir() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (
                "compose.yaml",
                "services:\n  svc:\n    build: ./notes\n  db:\n    image: postgres:16\n",
            ),
            ("notes/Cargo.toml", CARGO),
        ],
    );
    let (_, facts) = run(dir.path()); // no webapp_dirs: intake found nothing
    expect(
        &facts,
        CheckId::ComposeWebappService,
        Status::Pass,
        "service `svc`: its build context `./notes` holds the handout webapp",
    );
}

#[test]
fn postgres_18_keeps_its_data_under_a_versioned_dir() {
    let base = "services:\n  db:\n    image: postgres:18\n    volumes:\n      - pg:VOLUME\n  webapp:\n    build: ./sample-webapp\nvolumes:\n  pg:\n";
    let (_, facts) = run_yaml(&base.replace("VOLUME", "/var/lib/postgresql"), "");
    expect(
        &facts,
        CheckId::ComposeDbVolume,
        Status::Pass,
        "Postgres data /var/lib/postgresql/18/docker is on named volume `pg`",
    );
    let (_, facts) = run_yaml(&base.replace("VOLUME", "/var/lib/postgresql/data"), "");
    expect(
        &facts,
        CheckId::ComposeDbVolume,
        Status::Fail,
        "keeps its data (/var/lib/postgresql/18/docker, postgres 18 default)",
    );
}

#[test]
fn missing_and_bare_passwords_are_explained() {
    let (_, facts) = run_yaml(
        "services:\n  db:\n    image: postgres:16\n  webapp:\n    build: ./sample-webapp\n    environment:\n      PGHOST: db\n      PGPASSWORD: x\n",
        "",
    );
    expect(&facts, CheckId::ComposeCredentials, Status::Fail, "db sets neither POSTGRES_PASSWORD nor POSTGRES_PASSWORD_FILE: the postgres image refuses to initialise");
    assert_eq!(
        facts.db_credentials.unwrap().password_source,
        assay_checks::PasswordSource::Missing
    );
    let (_, facts) = run_yaml(
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${PW}\n  webapp:\n    build: ./sample-webapp\n    environment:\n      - PGHOST=db\n      - PGPASSWORD\n",
        "PW=abc\n",
    );
    expect(&facts, CheckId::ComposeCredentials, Status::Fail, "webapp sends PGPASSWORD listed without a value but the db expects POSTGRES_PASSWORD (from $PW)");
}

#[test]
fn the_webapp_picks_among_several_postgres_services() {
    let (_, facts) = run_yaml(
        "services:\n  cache-db:\n    image: postgres:16\n  main-db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${PW}\n  webapp:\n    build: ./sample-webapp\n    environment:\n      PGHOST: main-db\n      PGPASSWORD: ${PW}\n",
        "PW=abc\n",
    );
    expect(
        &facts,
        CheckId::ComposeDbService,
        Status::Pass,
        "(2 Postgres services: `cache-db`, `main-db`; the webapp uses `main-db`)",
    );
    assert_eq!(facts.db_service.as_deref(), Some("main-db"));
    expect(
        &facts,
        CheckId::ComposeCredentials,
        Status::Pass,
        "match (same value)",
    );
}

#[test]
fn a_db_on_another_port_is_followed() {
    let compose = "services:\n  db:\n    image: postgres:16\n    command: [\"postgres\", \"-p\", \"5433\"]\n    environment:\n      POSTGRES_PASSWORD: ${PW}\n  webapp:\n    build: ./sample-webapp\n    environment:\n      DATABASE_URL: postgres://postgres:${PW}@db:PORT/postgres\n";
    let (_, facts) = run_yaml(&compose.replace("PORT", "5433"), "PW=abc\n");
    expect(
        &facts,
        CheckId::ComposeDbHost,
        Status::Pass,
        "names the db service `db` on network `default`",
    );
    let (_, facts) = run_yaml(&compose.replace("PORT", "5432"), "PW=abc\n");
    expect(
        &facts,
        CheckId::ComposeDbHost,
        Status::Fail,
        "webapp connects to port `5432` (DATABASE_URL) but Postgres listens on command=`5433`",
    );
}

#[test]
fn a_database_url_that_is_not_postgres_is_reported() {
    let (_, facts) = run_yaml(
        "services:\n  db:\n    image: postgres:16\n  webapp:\n    build: ./sample-webapp\n    environment:\n      DATABASE_URL: mysql://root:hunter2@db/x\n",
        "",
    );
    expect(
        &facts,
        CheckId::ComposeDbHost,
        Status::Fail,
        "webapp DATABASE_URL has scheme `mysql`, not postgres:// or postgresql://",
    );
    expect(
        &facts,
        CheckId::ComposeCredentials,
        Status::Fail,
        "has scheme `mysql`",
    );
}

#[test]
fn link_aliases_name_the_db() {
    let (_, facts) = run_yaml(
        "services:\n  db:\n    image: postgres:16\n  webapp:\n    build: ./sample-webapp\n    links: [\"db:database\"]\n    environment:\n      PGHOST: database\n",
        "",
    );
    expect(
        &facts,
        CheckId::ComposeDbHost,
        Status::Pass,
        "names the db service `db` (its link alias) on network `default`",
    );
}

#[test]
fn a_healthcheck_interval_in_words_fails_compose_valid_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "compose.yaml",
            "services:\n  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n      interval: ten seconds\n",
        )],
    );
    let (_, facts) = run(dir.path());
    let valid = check(&facts, CheckId::ComposeValid);
    assert_eq!(valid.status, Status::Fail, "{}", table(&facts));
    assert!(
        valid
            .evidence
            .contains("services.db.healthcheck.interval: time: invalid duration \"ten seconds\""),
        "{:?}",
        valid.evidence
    );
    let at = valid.location.as_ref().expect("located");
    assert_eq!((at.line, at.column), (Some(6), Some(17)));
}
