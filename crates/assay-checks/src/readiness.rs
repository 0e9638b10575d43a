//! `compose.healthcheck` and `compose.startup-order`: does the stack wait for a ready database?

use crate::identify;
use crate::{db_url, Roles};
use assay_compose::Service;
use assay_core::display;
use assay_core::{CheckId, CheckResult, Location};

/// A connect timeout at least this long outlasts a cold Postgres start (the cold-start scenario
/// holds the db back for 10 s).
const PATIENT_CONNECT_SECS: u64 = 30;

/// What a healthcheck command does, for evidence: shell text with passwords masked.
fn command_text(test: &[String]) -> String {
    let args = match test.first().map(String::as_str) {
        Some("CMD") | Some("CMD-SHELL") => &test[1..],
        _ => test,
    };
    let masked: Vec<String> = args
        .join(" ")
        .split(' ')
        .map(|w| {
            if w.contains("://") {
                db_url::masked(w)
            } else if let Some((k, _)) = w
                .split_once('=')
                .filter(|(k, _)| k.to_ascii_lowercase().contains("password"))
            {
                format!("{k}=***")
            } else {
                w.to_string()
            }
        })
        .collect();
    display::value(&masked.join(" "))
}

/// Whether a command checks that Postgres accepts connections.
fn checks_postgres(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("pg_isready") || (t.contains("psql") && t.contains("select 1"))
}

/// The db's readiness healthcheck: `Ok((evidence, location))` or `Err((evidence, location))`.
fn db_health(roles: &Roles, db: &Service) -> Result<(String, Location), (String, Location)> {
    let Some(hc) = &db.healthcheck else {
        if let Some((facts, file)) = identify::build_dockerfile(roles.root, db) {
            if let Some(h) = facts.healthcheck.filter(|h| checks_postgres(h)) {
                let at = db
                    .build
                    .as_ref()
                    .map_or_else(|| db.location.clone(), |b| b.location.clone());
                return Ok((
                    format!(
                        "db image built from {file} declares HEALTHCHECK {}",
                        display::value(&h)
                    ),
                    at,
                ));
            }
        }
        return Err((
            format!("db service `{}` has no healthcheck (e.g. test: [\"CMD-SHELL\", \"pg_isready -U $${{POSTGRES_USER:-postgres}}\"])", db.name),
            db.location.clone(),
        ));
    };
    let test = hc.test.as_ref();
    if hc.disable || test.is_some_and(|t| t.value.first().is_some_and(|f| f == "NONE")) {
        return Err((
            format!("db service `{}` disables its healthcheck", db.name),
            hc.location.clone(),
        ));
    }
    let Some(test) = test else {
        return Err((
            format!(
                "db service `{}` has a healthcheck without a test (the postgres image has none)",
                db.name
            ),
            hc.location.clone(),
        ));
    };
    let text = command_text(&test.value);
    if checks_postgres(&test.value.join(" ")) {
        let mut timing = Vec::new();
        if let Some(i) = &hc.interval {
            timing.push(format!("every {}", display::value(i.value.text())));
        }
        if let Some(r) = &hc.retries {
            timing.push(format!("{} retries", r.value));
        }
        let timing = if timing.is_empty() {
            String::new()
        } else {
            format!(" ({})", timing.join(", "))
        };
        Ok((
            format!("db healthcheck runs `{text}`{timing}"),
            test.location.clone(),
        ))
    } else {
        Err((format!("db healthcheck `{text}` does not check that Postgres accepts connections (use pg_isready)"), test.location.clone()))
    }
}

pub(crate) fn healthcheck(roles: &Roles, db: &Service) -> CheckResult {
    match db_health(roles, db) {
        Ok((e, at)) => CheckResult::pass(CheckId::ComposeHealthcheck, e).at(at),
        Err((e, at)) => CheckResult::fail(CheckId::ComposeHealthcheck, e).at(at),
    }
}

pub(crate) fn startup_order(roles: &Roles, webapp: &Service, db: &Service) -> CheckResult {
    let id = CheckId::ComposeStartupOrder;
    let dep = webapp.depends_on.get(&db.name);
    let restart = webapp
        .restart
        .as_ref()
        .filter(|r| {
            matches!(r.value.as_str(), "always" | "unless-stopped")
                || r.value.starts_with("on-failure")
        })
        .map(|r| (format!("restart: {}", r.value), r.location.clone()))
        .or_else(|| {
            let d = webapp.deploy.as_ref()?.restart_policy_condition.as_ref()?;
            matches!(d.value.as_str(), "any" | "on-failure").then(|| {
                (
                    format!("deploy.restart_policy.condition: {}", d.value),
                    d.location.clone(),
                )
            })
        });
    let patient = crate::settings::env(webapp, "DB_CONNECT_TIMEOUT_SECS").and_then(|(v, at)| {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s >= PATIENT_CONNECT_SECS)
            .map(|s| (s, at.location.clone()))
    });
    let healthy = dep.filter(|d| d.value.condition == "service_healthy");
    if let Some(d) = healthy {
        match db_health(roles, db) {
            Ok(_) => {
                return CheckResult::pass(
                    id,
                    format!(
                        "webapp depends_on `{}` with condition service_healthy",
                        db.name
                    ),
                )
                .at(d.location.clone());
            }
            Err((why, _)) if restart.is_none() => {
                return CheckResult::fail(
                    id,
                    format!("webapp waits for `{}` to be service_healthy, but {why}; the stack never starts", db.name),
                )
                .at(d.location.clone());
            }
            Err(_) => {}
        }
    }
    if let Some((how, at)) = restart {
        return CheckResult::pass(
            id,
            format!("webapp has {how}: it restarts until the database accepts connections"),
        )
        .at(at);
    }
    if let Some((secs, at)) = patient {
        return CheckResult::pass(
            id,
            format!("webapp retries its connection for DB_CONNECT_TIMEOUT_SECS={secs} s"),
        )
        .at(at);
    }
    let (what, at) = match dep {
        Some(d) => (
            format!(
                "webapp depends_on `{}` with condition {} (started, not ready)",
                db.name, d.value.condition
            ),
            d.location.clone(),
        ),
        None => (
            format!("webapp does not depend on `{}`", db.name),
            webapp.location.clone(),
        ),
    };
    CheckResult::fail(
        id,
        format!("{what} and has no restart policy: it exits if Postgres is not ready within its connect timeout"),
    )
    .at(at)
}
