//! Static checks: the compose security policy and the `compose.*` checks (ids and what each
//! proves: [`assay_core::CheckId`], and the README's "Check ids" table).
//!
//! Input is what the compose loader produced ([`assay_compose::Loaded`]): the resolved project
//! (interpolated, merged, `extends`/`include` applied) and every diagnostic. Output is one
//! [`CheckResult`] per `compose.*` check (except `compose.found`, which the pipeline decides from
//! what intake found, in `src/evaluate.rs`) plus the facts the sandbox needs: which service is
//! the database, which is the webapp, and the credentials Postgres is initialised with.
//!
//! Order and blocking:
//! - `compose.valid` fails when the loader reported any error; then (or without a project)
//!   every other check is blocked.
//! - `compose.security` runs the [`security_policy`]. When it fails, the other checks still run:
//!   they only read the model and files inside the submission (never a path the policy
//!   rejected), so they are safe and tell the candidate everything at once. Nothing is started
//!   by this crate.
//! - A check that needs the db or the webapp service is blocked when that service was not found.
//!   A webapp found only by a guess fails `compose.webapp-service` but is still used by the
//!   later checks, so the candidate learns about their connection settings too.
//!
//! Evidence never contains a password (values are compared, and shown as `***` at most).

mod connection;
mod db_url;
mod dockerfile;
mod hygiene;
mod identify;
mod image_ref;
mod paths;
mod policy;
mod readiness;
mod settings;

pub use policy::{budget_findings, security_policy};

use assay_compose::{Loaded, Project, Service};
use assay_core::{CheckId, CheckResult, Diagnostic, Rubric, SubmissionRoot};
use std::path::PathBuf;

/// What the checks need to know besides the loaded project.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// The submission root: every path of the project is judged, and every file read, by it.
    pub root: &'a SubmissionRoot,
    /// The rubric: webapp identity (images, service hints, package name) and database images.
    pub rubric: &'a Rubric,
    /// Directories (relative to `root`) holding the handout webapp's Cargo.toml (intake discovery).
    pub webapp_dirs: &'a [PathBuf],
}

/// The static checks' results and the facts later stages need.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFacts {
    /// One result per `compose.*` check id except `compose.found`, in report order.
    pub checks: Vec<CheckResult>,
    /// The Postgres service.
    pub db_service: Option<String>,
    /// The webapp service (possibly a guess; see the `compose.webapp-service` result).
    pub webapp_service: Option<String>,
    /// What Postgres is initialised with, for reading the nonce back from the database.
    pub db_credentials: Option<DbCredentials>,
    /// What a reviewer should read even when every check passes: what assay runs in place of
    /// what the compose file says.
    pub notes: Vec<String>,
}

/// The credentials the Postgres service is initialised with (the official image's rules:
/// `POSTGRES_USER` default `postgres`, `POSTGRES_DB` default the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbCredentials {
    pub user: String,
    pub password_source: PasswordSource,
    pub database: String,
}

/// Where the Postgres superuser's password comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `POSTGRES_PASSWORD`, after interpolation. Masked in `Debug`.
    Value(String),
    /// `POSTGRES_PASSWORD_FILE`: a file inside the db container, provided by a secret, a config
    /// or a bind mount (`host_file` relative to the submission root, when known).
    File {
        container_path: String,
        secret: Option<String>,
        host_file: Option<PathBuf>,
    },
    /// `POSTGRES_HOST_AUTH_METHOD=trust`: no password is checked.
    Trust,
    /// No password at all: the official image refuses to initialise.
    Missing,
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::Value(_) => f.write_str("Value(***)"),
            PasswordSource::File {
                container_path,
                secret,
                host_file,
            } => f
                .debug_struct("File")
                .field("container_path", container_path)
                .field("secret", secret)
                .field("host_file", host_file)
                .finish(),
            PasswordSource::Trust => f.write_str("Trust"),
            PasswordSource::Missing => f.write_str("Missing"),
        }
    }
}

impl PasswordSource {
    /// The password itself: the value, or the file's content read from inside `root` (trailing
    /// newlines dropped, as the Postgres entrypoint does). `None` for trust, missing, or a file
    /// that cannot be read inside the submission.
    pub fn password(&self, root: &SubmissionRoot) -> Option<String> {
        match self {
            PasswordSource::Value(v) => Some(v.clone()),
            PasswordSource::File {
                host_file: Some(f), ..
            } => paths::read_text(root, f, 64 * 1024)
                .ok()
                .map(|t| t.trim_end_matches(['\n', '\r']).to_string()),
            _ => None,
        }
    }
}

/// The `compose.*` ids this crate decides, in report order: every compose check that needs a
/// compose file to have been found (`compose.found` itself is decided by discovery), read from
/// the `check_ids!` table of assay-core.
pub fn check_ids() -> impl Iterator<Item = CheckId> {
    CheckId::ALL
        .iter()
        .copied()
        .filter(|c| c.family() == "compose" && c.needs(CheckId::ComposeFound))
}

/// Runs every static `compose.*` check on a loaded project.
pub fn compose_checks(loaded: &Loaded, ctx: &CheckContext) -> ComposeFacts {
    let valid = validity(loaded);
    let project = match &loaded.project {
        Some(p) if valid.status == assay_core::Status::Pass => p,
        _ => {
            // A file the project names outside the submission is refused while loading; that
            // is a security violation in its own right, whatever else is wrong.
            let escapes: Vec<&Diagnostic> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.code == Some(assay_core::codes::OUTSIDE_SUBMISSION))
                .collect();
            let security = if escapes.is_empty() {
                CheckResult::blocked(
                    CheckId::ComposeSecurity,
                    "the compose file is not valid (compose.valid)",
                )
            } else {
                fail_summary(CheckId::ComposeSecurity, "policy violations", &escapes)
                    .with_details(escapes.iter().map(|d| (*d).clone()).collect())
            };
            let mut checks = vec![valid, security];
            // What requires a valid file (`CheckId::requires`), security decided above.
            checks.extend(
                check_ids()
                    .filter(|id| id.needs(CheckId::ComposeValid) && *id != CheckId::ComposeSecurity)
                    .map(|id| {
                        CheckResult::blocked(id, "the compose file is not valid (compose.valid)")
                    }),
            );
            return ComposeFacts {
                checks,
                db_service: None,
                webapp_service: None,
                db_credentials: None,
                notes: Vec::new(),
            };
        }
    };
    let mut checks = vec![valid, security(project, ctx.root, &ctx.rubric.limits)];

    let dbs = identify::find_db(project, ctx);
    let db_names: Vec<String> = dbs.candidates.iter().map(|c| c.name.clone()).collect();
    let webapp = identify::find_webapp(project, ctx, &db_names);
    let picked = connection::pick_db(project, &dbs, webapp.as_ref());
    checks.push(identify::db_service_result(
        project,
        &dbs,
        picked.as_ref(),
        ctx,
    ));
    let db = picked.map(|(db, _)| db);
    checks.push(identify::webapp_service_result(webapp.as_ref(), ctx));

    let svc = |name: &Option<identify::Identified>| {
        name.as_ref().and_then(|i| project.services.get(&i.name))
    };
    let roles = Roles {
        project,
        root: ctx.root,
        db: svc(&db),
        webapp: svc(&webapp),
    };
    checks.push(roles.both(CheckId::ComposeDbHost, connection::db_host));
    checks.push(roles.both(CheckId::ComposeCredentials, connection::credentials));
    checks.push(roles.db_only(CheckId::ComposeHealthcheck, readiness::healthcheck));
    checks.push(roles.both(CheckId::ComposeStartupOrder, readiness::startup_order));
    checks.push(roles.db_only(CheckId::ComposeDbVolume, hygiene::db_volume));
    checks.push(hygiene::no_inline_secrets(project));
    checks.push(roles.db_only(CheckId::ComposeDbNotPublished, hygiene::db_not_published));
    checks.push(match roles.webapp {
        Some(w) => hygiene::scalable(w),
        None => CheckResult::blocked(
            CheckId::ComposeScalable,
            "no webapp service (compose.webapp-service)",
        ),
    });
    let substituted = webapp
        .as_ref()
        .filter(|w| w.substitution.is_some())
        .map(|w| w.name.as_str());
    checks.push(hygiene::pinned_images(project, substituted));

    let db_credentials = roles
        .db
        .map(|d| connection::db_credentials(project, ctx.root, d));
    let notes = webapp
        .as_ref()
        .filter(|w| !w.guessed)
        .and_then(|w| w.substitution.clone())
        .into_iter()
        .collect();
    ComposeFacts {
        checks,
        db_service: db.map(|d| d.name),
        webapp_service: webapp.map(|w| w.name),
        db_credentials,
        notes,
    }
}

/// The project and the services in their roles, for checks that need them.
pub(crate) struct Roles<'a> {
    pub project: &'a Project,
    pub root: &'a SubmissionRoot,
    pub db: Option<&'a Service>,
    pub webapp: Option<&'a Service>,
}

impl Roles<'_> {
    fn db_only(&self, id: CheckId, f: impl Fn(&Roles, &Service) -> CheckResult) -> CheckResult {
        match self.db {
            Some(db) => f(self, db),
            None => CheckResult::blocked(id, "no Postgres service (compose.db-service)"),
        }
    }

    fn both(
        &self,
        id: CheckId,
        f: impl Fn(&Roles, &Service, &Service) -> CheckResult,
    ) -> CheckResult {
        match (self.webapp, self.db) {
            (Some(w), Some(d)) => f(self, w, d),
            (None, _) => CheckResult::blocked(id, "no webapp service (compose.webapp-service)"),
            (_, None) => CheckResult::blocked(id, "no Postgres service (compose.db-service)"),
        }
    }
}

fn validity(loaded: &Loaded) -> CheckResult {
    let errors: Vec<&Diagnostic> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    let warnings = loaded.diagnostics.len() - errors.len();
    let details = loaded.diagnostics.clone();
    let result = match (errors.first(), &loaded.project) {
        (Some(_), _) => fail_summary(CheckId::ComposeValid, "errors", &errors),
        (None, None) => CheckResult::fail(
            CheckId::ComposeValid,
            "the compose loader produced no project",
        ),
        (None, Some(p)) => {
            let tail = if warnings > 0 {
                format!("; {warnings} warning{}", plural(warnings))
            } else {
                String::new()
            };
            CheckResult::pass(
                CheckId::ComposeValid,
                format!(
                    "valid: {} service{}{tail}",
                    p.services.len(),
                    plural(p.services.len())
                ),
            )
        }
    };
    result.with_details(details)
}

fn security(
    project: &Project,
    root: &SubmissionRoot,
    budget: &assay_core::RunBudget,
) -> CheckResult {
    let mut diags = budget_findings(project, budget);
    diags.extend(security_policy(project, root));
    let violations: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    let notes = diags
        .iter()
        .filter(|d| d.severity == assay_core::Severity::Info)
        .count();
    let warnings = diags.len() - violations.len() - notes;
    let result = match violations.first() {
        Some(_) => fail_summary(CheckId::ComposeSecurity, "policy violations", &violations),
        None => {
            let mut tail = if notes > 0 {
                format!(
                    " ({notes} note{} on settings the sandbox overrides)",
                    plural(notes)
                )
            } else {
                String::new()
            };
            if warnings > 0 {
                tail.push_str(&format!("; {warnings} warning{}", plural(warnings)));
            }
            CheckResult::pass(
                CheckId::ComposeSecurity,
                format!("no policy violation{tail}"),
            )
        }
    };
    result.with_details(diags)
}

/// A failing result that summarises located problems: the first one's message (prefixed with
/// `N <noun>; first: ` when there are several) at the first one's location.
pub(crate) fn fail_summary(id: CheckId, noun: &str, problems: &[&Diagnostic]) -> CheckResult {
    let Some(first) = problems.first() else {
        return CheckResult::fail(id, format!("no {noun}"));
    };
    let head = if problems.len() > 1 {
        format!("{} {noun}; first: ", problems.len())
    } else {
        String::new()
    };
    CheckResult::fail(id, format!("{head}{}", first.message)).at_opt(first.location.clone())
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
