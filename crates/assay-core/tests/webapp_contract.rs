//! The sample webapp (the handout) held to the contract the checks and the runner rely on
//! (`assay_core::webapp`): the variables it reads, their defaults and precedence, the note size.
//! Its configuration code is called directly, with the environment injected.

use assay_core::webapp;
use sample_webapp::config::{self, Config, DbSource};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// The webapp's configuration for `pairs`, and every variable it looked up.
fn configure(pairs: &[(&str, &str)]) -> (Result<Config, config::ConfigError>, BTreeSet<String>) {
    let env: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    let asked = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        asked.borrow_mut().insert(name.to_string());
        env.get(name).map(|v| v.to_string())
    };
    let config = config::from_env(&lookup);
    (config, asked.into_inner())
}

#[test]
fn the_webapp_reads_exactly_the_contract_variables() {
    let contract: BTreeSet<String> = webapp::DB_VARS
        .iter()
        .chain([&webapp::PORT, &webapp::DB_CONNECT_TIMEOUT_SECS])
        .map(|v| v.to_string())
        .collect();
    // Through PG* variables every one is looked up; with DATABASE_URL set, the PG* ones are
    // still looked at (to warn that they are ignored).
    let (pg, asked_pg) = configure(&[(webapp::PGHOST, "db")]);
    pg.expect("PGHOST alone is enough");
    let (url, asked_url) = configure(&[(webapp::DATABASE_URL, "postgres://app:pw@db:5433/notes")]);
    url.expect("a DATABASE_URL alone is enough");
    assert_eq!(asked_pg, contract);
    assert_eq!(asked_url, contract);
}

#[test]
fn defaults_are_the_contract_defaults() {
    let (c, _) = configure(&[(webapp::PGHOST, "db")]);
    let c = c.unwrap();
    assert_eq!(c.listen.port(), webapp::DEFAULT_PORT);
    assert_eq!(c.db.port, webapp::DEFAULT_PG_PORT);
    assert_eq!(c.db.user, webapp::DEFAULT_PG_USER);
    assert_eq!(
        c.db.dbname,
        webapp::DEFAULT_PG_USER,
        "the database defaults to the user"
    );
    assert_eq!(c.db.password, None);
    assert_eq!(
        c.connect_timeout,
        std::time::Duration::from_secs(webapp::DEFAULT_DB_CONNECT_TIMEOUT_SECS),
        "the connect window the runner's re-runs reason with"
    );

    let (c, _) = configure(&[(webapp::PGHOST, "db"), (webapp::PGUSER, "app")]);
    assert_eq!(
        c.unwrap().db.dbname,
        "app",
        "the database defaults to PGUSER"
    );
}

#[test]
fn database_url_wins_and_an_empty_variable_is_unset() {
    let (c, _) = configure(&[
        (webapp::DATABASE_URL, "postgres://app:pw@pg:5433/notes"),
        (webapp::PGHOST, "elsewhere"),
        (webapp::PORT, ""),
    ]);
    let c = c.unwrap();
    assert_eq!(c.db.source, DbSource::DatabaseUrl);
    assert_eq!(
        (
            c.db.host.as_str(),
            c.db.port,
            c.db.user.as_str(),
            c.db.dbname.as_str()
        ),
        ("pg", 5433, "app", "notes")
    );
    assert_eq!(
        c.listen.port(),
        webapp::DEFAULT_PORT,
        "PORT= counts as unset"
    );

    let (c, _) = configure(&[(webapp::DATABASE_URL, ""), (webapp::PGHOST, "db")]);
    assert_eq!(c.unwrap().db.source, DbSource::PgVars);
    let (c, _) = configure(&[(webapp::PGHOST, "")]);
    assert!(c.is_err(), "PGHOST is required when DATABASE_URL is unset");
}

#[test]
fn the_note_size_is_the_contract_size() {
    assert_eq!(sample_webapp::http::MAX_NOTE_BYTES, webapp::MAX_NOTE_BYTES);
}
