//! `compose.db-host` and `compose.credentials`: will the webapp find the database, and will
//! it log in? Also the credentials the sandbox uses to read the database itself.

use crate::identify::{DbSearch, Identified};
use crate::settings::{self, Client, Password, Server, Setting};
use crate::{DbCredentials, PasswordSource, Roles};
use assay_compose::{Project, Service};
use assay_core::display;
use assay_core::{normalize, CheckId, CheckResult, Location, SubmissionRoot};

/// A name the webapp can use for the db, with the networks (shared with the webapp) it
/// resolves on.
struct DbName {
    name: String,
    how: String,
    shared: Vec<String>,
}

/// The names under which `db` is reachable from `webapp` (service name, container_name,
/// network aliases, link aliases), each with the networks they share where it resolves.
fn db_names(webapp: &Service, db: &Service) -> Vec<DbName> {
    let shared_all: Vec<String> = webapp
        .networks
        .keys()
        .filter(|n| db.networks.contains_key(*n))
        .cloned()
        .collect();
    let mut names = vec![DbName {
        name: db.name.to_ascii_lowercase(),
        how: "service name".into(),
        shared: shared_all.clone(),
    }];
    if let Some(c) = &db.container_name {
        names.push(DbName {
            name: c.value.to_ascii_lowercase(),
            how: "container_name".into(),
            shared: shared_all.clone(),
        });
    }
    for (net, attach) in &db.networks {
        for a in &attach.aliases {
            let shared = if webapp.networks.contains_key(net) {
                vec![net.clone()]
            } else {
                Vec::new()
            };
            names.push(DbName {
                name: a.value.to_ascii_lowercase(),
                how: format!("alias on network `{net}`"),
                shared,
            });
        }
    }
    for link in &webapp.links {
        let (target, alias) = link
            .value
            .split_once(':')
            .unwrap_or((&link.value, &link.value));
        if target == db.name
            || db
                .container_name
                .as_ref()
                .is_some_and(|c| c.value == target)
        {
            names.push(DbName {
                name: alias.to_ascii_lowercase(),
                how: "link alias".into(),
                shared: shared_all.clone(),
            });
        }
    }
    names
}

/// `; it sets PG_HOST, DB_USER, which the sample webapp does not read` (or nothing).
fn unread_lookalikes(webapp: &Service) -> String {
    const READ: &[&str] = &assay_core::webapp::DB_VARS;
    let looks = |k: &str| {
        let k = k.to_ascii_uppercase();
        (k.contains("PG") || k.contains("DB") || k.contains("POSTGRES") || k.contains("DATABASE"))
            && ["HOST", "USER", "PASS", "NAME", "URL", "DATABASE", "PORT"]
                .iter()
                .any(|p| k.contains(p))
    };
    let found: Vec<&str> = webapp
        .environment
        .keys()
        .map(String::as_str)
        .filter(|k| !READ.contains(k) && looks(k))
        .take(6)
        .collect();
    if found.is_empty() {
        String::new()
    } else {
        format!(
            "; it sets {}, which the sample webapp does not read",
            found.join(", ")
        )
    }
}

/// Picks the db among the Postgres candidates: the one the webapp's host names (`true`), else
/// the first (`false`).
pub(crate) fn pick_db(
    project: &Project,
    dbs: &DbSearch,
    webapp: Option<&Identified>,
) -> Option<(Identified, bool)> {
    let client = webapp
        .and_then(|w| project.services.get(&w.name))
        .map(|w| (w, settings::client(w)));
    if let Some((w, c)) = &client {
        for cand in &dbs.candidates {
            let Some(db) = project.services.get(&cand.name) else {
                continue;
            };
            if db_names(w, db).iter().any(|n| c.hosts.contains(&n.name)) {
                return Some((cand.clone(), true));
            }
        }
    }
    dbs.candidates.first().cloned().map(|c| (c, false))
}

fn host_phrase(c: &Client, host: &Setting) -> String {
    match (&c.url, host.var.as_deref()) {
        (Some((masked, _)), _) => format!("DATABASE_URL={masked}"),
        (None, Some(var)) => {
            let from = settings::override_source(host.location.as_ref())
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            format!("{var}={}{from}", display::value(&host.value))
        }
        (None, None) => display::value(&host.value),
    }
}

fn others_phrase(db: &Service, names: &[DbName]) -> String {
    let mut others: Vec<String> = names
        .iter()
        .skip(1)
        .map(|n| format!("`{}`", display::value(&n.name)))
        .collect();
    others.dedup();
    if others.is_empty() {
        format!("the db service is `{}`", db.name)
    } else {
        format!(
            "the db service is `{}` (also {})",
            db.name,
            others.join(", ")
        )
    }
}

pub(crate) fn db_host(roles: &Roles, webapp: &Service, db: &Service) -> CheckResult {
    let id = CheckId::ComposeDbHost;
    let c = settings::client(webapp);
    if let Some(e) = &c.url_error {
        return CheckResult::fail(id, format!("webapp {e}"))
            .at_opt(c.url.as_ref().map(|u| u.1.clone()));
    }
    let Some(host) = &c.host else {
        return CheckResult::fail(
            id,
            format!(
                "webapp `{}` sets neither DATABASE_URL nor PGHOST; the sample webapp needs one to find the db service `{}`{}",
                webapp.name,
                db.name,
                unread_lookalikes(webapp)
            ),
        )
        .at(webapp.location.clone());
    };
    let at = host
        .location
        .clone()
        .unwrap_or_else(|| webapp.location.clone());
    let phrase = host_phrase(&c, host);
    for (who, s) in [("webapp", webapp), ("db", db)] {
        if let Some(m) = &s.network_mode {
            return CheckResult::fail(
                id,
                format!("webapp {phrase}; the {who} service `{}` uses network_mode `{}`, which the sandbox does not apply", s.name, display::value(&m.value)),
            )
            .at(m.location.clone());
        }
    }
    let names = db_names(webapp, db);
    let matched: Vec<&DbName> = c
        .hosts
        .iter()
        .flat_map(|h| names.iter().filter(move |n| &n.name == h))
        .collect();
    let Some(first) = matched.first() else {
        let h = c.hosts.first().map(String::as_str).unwrap_or("");
        let why = if h.is_empty() || h.starts_with('/') {
            "; a Unix socket cannot reach another container".to_string()
        } else if h == "localhost" || h.starts_with("127.") || h == "::1" || h == "0.0.0.0" {
            "; inside a container, localhost is the webapp itself".to_string()
        } else if roles.project.services.contains_key(h) {
            format!("; `{}` is another service", display::value(h))
        } else {
            String::new()
        };
        return CheckResult::fail(
            id,
            format!("webapp {phrase}; {}{why}", others_phrase(db, &names)),
        )
        .at(at);
    };
    let Some(shared) = matched.iter().find_map(|n| n.shared.first()) else {
        let nets = |s: &Service| {
            s.networks
                .keys()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return CheckResult::fail(
            id,
            format!(
                "webapp {phrase} names the db service `{}`, but they share no network (webapp: {}; db: {})",
                db.name,
                nets(webapp),
                nets(db)
            ),
        )
        .at(at);
    };
    let server = settings::server(roles.project, roles.root, db);
    let client_port = c
        .port
        .value
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if client_port.parse::<u16>().ok() != server.port.value.trim().parse::<u16>().ok() {
        return CheckResult::fail(
            id,
            format!(
                "webapp connects to port {} but Postgres listens on {}",
                c.port.describe(),
                server.port.describe()
            ),
        )
        .at(c.port.location.clone().unwrap_or(at));
    }
    let how = if first.how.starts_with("alias") {
        format!("by its {}", first.how)
    } else if first.how == "service name" {
        format!("on network `{shared}`")
    } else {
        format!("(its {}) on network `{shared}`", first.how)
    };
    CheckResult::pass(
        id,
        format!("webapp {phrase} names the db service `{}` {how}", db.name),
    )
    .at(at)
}

/// A password reduced to what can be compared.
enum Material {
    Value(String),
    File {
        provider: Option<String>,
        host_file: Option<std::path::PathBuf>,
        content: Result<String, String>,
    },
}

fn material(roles: &Roles, service: &Service, p: &Password) -> Option<Material> {
    match p {
        Password::Value { value, .. } => Some(Material::Value(value.clone())),
        Password::File { container_path, .. } => {
            let hf = settings::host_file(roles.project, service, container_path);
            Some(Material::File {
                provider: hf.as_ref().and_then(|h| h.secret.clone()),
                host_file: hf
                    .as_ref()
                    .and_then(|h| h.host_file.as_ref().map(|f| normalize(f))),
                content: settings::read_container_file(
                    roles.project,
                    roles.root,
                    service,
                    container_path,
                ),
            })
        }
        Password::Missing | Password::Unset { .. } => None,
    }
}

/// `Ok(how)` when the webapp's password opens the db, `Err(problem)` otherwise.
fn compare_passwords(
    roles: &Roles,
    webapp: &Service,
    c: &Client,
    db: &Service,
    s: &Server,
) -> Result<String, String> {
    if s.trust {
        return Ok("the db trusts every connection: POSTGRES_HOST_AUTH_METHOD=trust".into());
    }
    if let Password::Value { value, origin, .. } = &s.password {
        if value.is_empty() {
            let unset = match origin {
                assay_compose::Origin::Interpolated { variables, .. } => variables
                    .iter()
                    .filter(|v| !roles.project.variables.contains_key(*v))
                    .map(|v| format!("${v}"))
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            };
            let why = if unset.is_empty() {
                String::new()
            } else {
                format!(" ({} not set in .env)", unset.join(", "))
            };
            return Err(format!("db POSTGRES_PASSWORD is blank{why}: the postgres image refuses to initialise without a password"));
        }
    }
    let Some(server) = material(roles, db, &s.password) else {
        return Err(match &s.password {
            Password::Unset { var, .. } => format!("db {var} is listed without a value (assay never passes its own environment)"),
            _ => "db sets neither POSTGRES_PASSWORD nor POSTGRES_PASSWORD_FILE: the postgres image refuses to initialise".into(),
        });
    };
    let Some(client) = material(roles, webapp, &c.password) else {
        return Err(format!(
            "webapp sends {} but the db expects {}",
            c.password.describe(),
            s.password.describe()
        ));
    };
    if let (
        Material::File {
            provider: a,
            host_file: fa,
            ..
        },
        Material::File {
            provider: b,
            host_file: fb,
            ..
        },
    ) = (&client, &server)
    {
        if a.is_some() && a == b {
            return Ok(format!("both read {}", a.as_deref().unwrap_or_default()));
        }
        if fa.is_some() && fa == fb {
            return Ok(format!(
                "both read {}",
                fa.as_ref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default()
            ));
        }
    }
    let text = |m: Material, who: &str| match m {
        Material::Value(v) => Ok(v),
        Material::File { content, .. } => {
            content.map_err(|e| format!("cannot read the {who}'s password file: {e}"))
        }
    };
    let (a, b) = (text(client, "webapp")?, text(server, "db")?);
    if a == b {
        Ok("same value".into())
    } else {
        Err(format!(
            "webapp password {} differs from db {}",
            c.password.describe(),
            s.password.describe()
        ))
    }
}

pub(crate) fn credentials(roles: &Roles, webapp: &Service, db: &Service) -> CheckResult {
    let id = CheckId::ComposeCredentials;
    let c = settings::client(webapp);
    if let Some(e) = &c.url_error {
        return CheckResult::fail(id, format!("webapp {e}"))
            .at_opt(c.url.as_ref().map(|u| u.1.clone()));
    }
    if !webapp
        .environment
        .keys()
        .any(|k| k == assay_core::webapp::DATABASE_URL || k.starts_with("PG"))
    {
        return CheckResult::fail(
            id,
            format!(
                "webapp `{}` sets no database variable (DATABASE_URL or PG*){}",
                webapp.name,
                unread_lookalikes(webapp)
            ),
        )
        .at(webapp.location.clone());
    }
    let s = settings::server(roles.project, roles.root, db);
    let mut problems: Vec<(String, Option<Location>)> = Vec::new();
    for (what, a, b) in [
        ("user", &c.user, &s.user),
        ("database", &c.database, &s.database),
    ] {
        if a.value != b.value {
            problems.push((
                format!("{what}: webapp {} ≠ db {}", a.describe(), b.describe()),
                a.location.clone().or(b.location.clone()),
            ));
        }
    }
    let password = compare_passwords(roles, webapp, &c, db, &s);
    if let Err(p) = &password {
        problems.push((
            p.clone(),
            c.password.location().or(s.password.location()).cloned(),
        ));
    }
    if problems.is_empty() {
        let how = password.unwrap_or_default();
        return CheckResult::pass(
            id,
            format!(
                "webapp logs in as `{}` to `{}` with {}; the db is initialised with {}, {}, {}: match ({how})",
                display::value(&c.user.value),
                display::value(&c.database.value),
                c.password.describe(),
                s.user.describe(),
                s.database.describe(),
                s.password.describe(),
            ),
        )
        .at(c.user.location.clone().or_else(|| c.password.location().cloned()).unwrap_or_else(|| webapp.location.clone()));
    }
    let init_scripts = db
        .volumes
        .iter()
        .any(|v| v.value.target.starts_with("/docker-entrypoint-initdb.d"));
    let note = if init_scripts && problems.len() > usize::from(password.is_err()) {
        " (an init script in /docker-entrypoint-initdb.d may create them; a reviewer should look)"
    } else {
        ""
    };
    let at = problems
        .iter()
        .find_map(|p| p.1.clone())
        .unwrap_or_else(|| webapp.location.clone());
    let text: Vec<String> = problems.into_iter().map(|p| p.0).collect();
    CheckResult::fail(id, format!("credentials differ: {}{note}", text.join("; "))).at(at)
}

/// What Postgres is initialised with, for the sandbox.
pub(crate) fn db_credentials(
    project: &Project,
    root: &SubmissionRoot,
    db: &Service,
) -> DbCredentials {
    let s = settings::server(project, root, db);
    let password_source = if s.trust {
        PasswordSource::Trust
    } else {
        match &s.password {
            Password::Value { value, .. } => PasswordSource::Value(value.clone()),
            Password::File { container_path, .. } => {
                let hf = settings::host_file(project, db, container_path);
                PasswordSource::File {
                    container_path: container_path.clone(),
                    secret: hf.as_ref().and_then(|h| h.secret.clone()),
                    host_file: hf.and_then(|h| h.host_file),
                }
            }
            Password::Missing | Password::Unset { .. } => PasswordSource::Missing,
        }
    };
    DbCredentials {
        user: s.user.value,
        password_source,
        database: s.database.value,
    }
}
