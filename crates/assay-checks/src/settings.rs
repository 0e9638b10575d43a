//! How the webapp will connect (DATABASE_URL or PG* variables, with the sample webapp's
//! defaults) and what the Postgres service is initialised with (POSTGRES_* variables, `*_FILE`
//! secrets). Passwords are kept to compare them, never to print them.

use crate::db_url;
use crate::paths;
use assay_compose::{Located, Origin, Project, Service};
use assay_core::display;
use assay_core::webapp::{
    DATABASE_URL, DEFAULT_PG_PORT, DEFAULT_PG_USER, PGDATABASE, PGHOST, PGPASSWORD,
    PGPASSWORD_FILE, PGPORT, PGUSER,
};
use assay_core::{normalize, Location, SubmissionRoot};
use std::path::{Path, PathBuf};

/// Largest secret file read to compare passwords.
const SECRET_FILE_CAP: u64 = 64 * 1024;

/// One connection parameter and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    pub value: String,
    /// The variable that set it (`PGUSER`, `DATABASE_URL`), or `None` for a default.
    pub var: Option<String>,
    pub location: Option<Location>,
}

impl Setting {
    fn default_value(value: &str) -> Self {
        Setting {
            value: value.to_string(),
            var: None,
            location: None,
        }
    }

    fn from_env(var: &str, value: &str, at: &Location) -> Self {
        Setting {
            value: value.to_string(),
            var: Some(var.to_string()),
            location: Some(at.clone()),
        }
    }

    /// `PGUSER=app`, `app (DATABASE_URL)`, or `postgres (default)`; a value an override file
    /// sets names it (`PGUSER=app (compose.override.yml:4)`).
    pub fn describe(&self) -> String {
        let v = display::value(&self.value);
        let from = override_source(self.location.as_ref());
        match (self.var.as_deref(), from) {
            (Some("DATABASE_URL"), None) => format!("`{v}` (DATABASE_URL)"),
            (Some("DATABASE_URL"), Some(f)) => format!("`{v}` (DATABASE_URL, {f})"),
            (Some(var), None) => format!("{var}=`{v}`"),
            (Some(var), Some(f)) => format!("{var}=`{v}` ({f})"),
            (None, _) => format!("`{v}` (default)"),
        }
    }
}

/// Where a password comes from.
#[derive(Clone, PartialEq)]
pub(crate) enum Password {
    /// No password variable at all.
    Missing,
    /// Listed as a bare `KEY` (compose would take it from the grader's shell; assay leaves it unset).
    Unset { var: String, location: Location },
    /// A value (literal, interpolated or from an env_file).
    Value {
        value: String,
        var: String,
        location: Location,
        origin: Origin,
    },
    /// A file inside the container (`*_FILE`).
    File {
        var: String,
        container_path: String,
        location: Location,
    },
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Password::Missing => f.write_str("Missing"),
            Password::Unset { var, .. } => write!(f, "Unset({var})"),
            Password::Value { var, .. } => write!(f, "Value({var}=***)"),
            Password::File {
                var,
                container_path,
                ..
            } => write!(f, "File({var}={container_path})"),
        }
    }
}

impl Password {
    pub fn location(&self) -> Option<&Location> {
        match self {
            Password::Missing => None,
            Password::Unset { location, .. }
            | Password::Value { location, .. }
            | Password::File { location, .. } => Some(location),
        }
    }

    /// How the password is given, without its value: `PGPASSWORD (from .env)`.
    pub fn describe(&self) -> String {
        match self {
            Password::Missing => "no password".into(),
            Password::Unset { var, .. } => format!("{var} listed without a value"),
            Password::Value {
                var,
                origin,
                location,
                ..
            } => match override_source(Some(location)) {
                Some(f) => format!("{var} ({}, {f})", origin_words(origin)),
                None => format!("{var} ({})", origin_words(origin)),
            },
            Password::File {
                var,
                container_path,
                ..
            } => format!("{var}={}", display::value(container_path)),
        }
    }
}

/// `set in compose.override.yml:4` when a value comes from an override file merged into the
/// project (a reviewer looking only at the main file would not find it).
pub(crate) fn override_source(location: Option<&Location>) -> Option<String> {
    let l = location?;
    let name = l.file.rsplit('/').next().unwrap_or_default();
    if !name.contains(".override.") {
        return None;
    }
    Some(match l.line {
        Some(n) => format!("set in {}:{n}", l.file),
        None => format!("set in {}", l.file),
    })
}

/// `literal`, `from .env`, `from env_file x`.
pub(crate) fn origin_words(origin: &Origin) -> String {
    match origin {
        Origin::Literal => "literal".into(),
        Origin::Interpolated { variables, .. } => {
            let vars: Vec<String> = variables.iter().map(|v| format!("${v}")).collect();
            format!("from {}", vars.join(", "))
        }
        Origin::EnvFile { file } => format!("from env_file {file}"),
    }
}

/// The webapp's view of its database, as the sample webapp reads its environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Client {
    /// `DATABASE_URL` masked, when set.
    pub url: Option<(String, Location)>,
    /// Why `DATABASE_URL` could not be read.
    pub url_error: Option<String>,
    /// Hosts in order (lower-case); empty when none is set.
    pub hosts: Vec<String>,
    /// The setting that named the host (`PGHOST=…` or `DATABASE_URL`).
    pub host: Option<Setting>,
    pub port: Setting,
    pub user: Setting,
    pub password: Password,
    pub database: Setting,
}

/// A present, non-bare environment value.
pub(crate) fn env<'a>(
    service: &'a Service,
    key: &str,
) -> Option<(&'a str, &'a Located<Option<String>>)> {
    let entry = service.environment.get(key)?;
    entry.value.as_deref().map(|v| (v, entry))
}

fn password_var(service: &Service, var: &str, file_var: &str) -> Password {
    if let Some((v, at)) = env(service, var) {
        return Password::Value {
            value: v.to_string(),
            var: var.into(),
            location: at.location.clone(),
            origin: at.origin.clone(),
        };
    }
    if let Some((p, at)) = env(service, file_var) {
        return Password::File {
            var: file_var.into(),
            container_path: p.to_string(),
            location: at.location.clone(),
        };
    }
    for key in [var, file_var] {
        if let Some(at) = service.environment.get(key) {
            return Password::Unset {
                var: key.into(),
                location: at.location.clone(),
            };
        }
    }
    Password::Missing
}

/// Reads the webapp's connection settings with the handout webapp's rules
/// ([`assay_core::webapp`]).
pub(crate) fn client(service: &Service) -> Client {
    if let Some((url, at)) = env(service, DATABASE_URL).filter(|(u, _)| !u.trim().is_empty()) {
        let loc = at.location.clone();
        let mut c = Client {
            url: Some((db_url::masked(url), loc.clone())),
            url_error: None,
            hosts: Vec::new(),
            host: None,
            port: Setting::default_value(&DEFAULT_PG_PORT.to_string()),
            user: Setting::default_value(DEFAULT_PG_USER),
            password: Password::Missing,
            database: Setting::default_value(DEFAULT_PG_USER),
        };
        match db_url::parse(url) {
            Ok(u) => {
                c.hosts = u.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
                c.host = Some(Setting::from_env(DATABASE_URL, &u.hosts.join(","), &loc));
                if let Some(p) = &u.port {
                    c.port = Setting::from_env(DATABASE_URL, p, &loc);
                }
                if let Some(user) = &u.user {
                    c.user = Setting::from_env(DATABASE_URL, user, &loc);
                }
                c.database = match &u.database {
                    Some(d) => Setting::from_env(DATABASE_URL, d, &loc),
                    None => Setting::default_value(&c.user.value),
                };
                if let Some(p) = u.password {
                    c.password = Password::Value {
                        value: p,
                        var: DATABASE_URL.into(),
                        location: loc,
                        origin: at.origin.clone(),
                    };
                }
            }
            Err(e) => c.url_error = Some(format!("DATABASE_URL {}", e)),
        }
        return c;
    }
    let get = |k: &str| {
        env(service, k)
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, at)| Setting::from_env(k, v, &at.location))
    };
    let host = get(PGHOST);
    let user = get(PGUSER).unwrap_or_else(|| Setting::default_value(DEFAULT_PG_USER));
    let database = get(PGDATABASE).unwrap_or_else(|| Setting::default_value(&user.value));
    Client {
        url: None,
        url_error: None,
        hosts: host
            .as_ref()
            .map(|h| {
                h.value
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default(),
        host,
        port: get(PGPORT).unwrap_or_else(|| Setting::default_value(&DEFAULT_PG_PORT.to_string())),
        user,
        password: password_var(service, PGPASSWORD, PGPASSWORD_FILE),
        database,
    }
}

/// What the Postgres service is initialised with (the official image's entrypoint rules).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Server {
    pub user: Setting,
    pub password: Password,
    pub database: Setting,
    /// `POSTGRES_HOST_AUTH_METHOD=trust`: any password is accepted.
    pub trust: bool,
    /// The port the server listens on (PGPORT, `-p N`, `-c port=N`; default 5432).
    pub port: Setting,
}

pub(crate) fn server(project: &Project, root: &SubmissionRoot, service: &Service) -> Server {
    let value_or_file = |var: &str, file_var: &str| -> Option<Setting> {
        if let Some((v, at)) = env(service, var).filter(|(v, _)| !v.is_empty()) {
            return Some(Setting::from_env(var, v, &at.location));
        }
        let (p, at) = env(service, file_var)?;
        let text = read_container_file(project, root, service, p).ok()?;
        Some(Setting::from_env(file_var, &text, &at.location))
    };
    let user = value_or_file("POSTGRES_USER", "POSTGRES_USER_FILE")
        .unwrap_or_else(|| Setting::default_value("postgres"));
    let database = value_or_file("POSTGRES_DB", "POSTGRES_DB_FILE")
        .unwrap_or_else(|| Setting::default_value(&user.value));
    let trust = env(service, "POSTGRES_HOST_AUTH_METHOD")
        .is_some_and(|(v, _)| v.trim().eq_ignore_ascii_case("trust"));
    Server {
        user,
        password: password_var(service, "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"),
        database,
        trust,
        port: server_port(service),
    }
}

fn server_port(service: &Service) -> Setting {
    if let Some(cmd) = &service.command {
        let args = &cmd.value;
        for (i, a) in args.iter().enumerate() {
            let value = if a == "-p" || a == "--port" {
                args.get(i + 1).cloned()
            } else if let Some(v) = a.strip_prefix("--port=") {
                Some(v.to_string())
            } else if a == "-c" {
                args.get(i + 1)
                    .and_then(|s| s.strip_prefix("port="))
                    .map(str::to_string)
            } else {
                a.strip_prefix("-cport=").map(str::to_string)
            };
            if let Some(v) = value {
                return Setting {
                    value: v,
                    var: Some("command".into()),
                    location: Some(cmd.location.clone()),
                };
            }
        }
    }
    match env(service, "PGPORT") {
        Some((v, at)) if !v.is_empty() => Setting::from_env("PGPORT", v, &at.location),
        _ => Setting::default_value("5432"),
    }
}

/// Where a file inside a container comes from on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostFile {
    /// The top-level secret or config that provides it, when one does.
    pub secret: Option<String>,
    /// The host file relative to the submission root (lexical), when known.
    pub host_file: Option<PathBuf>,
}

/// Maps a path inside `service`'s container to the secret, config or bind mount providing it.
pub(crate) fn host_file(
    project: &Project,
    service: &Service,
    container_path: &str,
) -> Option<HostFile> {
    let wanted = normalize(Path::new(container_path));
    for s in &service.secrets {
        let target = match s.value.target.as_deref() {
            Some(t) if t.starts_with('/') => PathBuf::from(t),
            Some(t) => Path::new("/run/secrets").join(t),
            None => Path::new("/run/secrets").join(&s.value.source),
        };
        if normalize(&target) == wanted {
            let def = project.secrets.get(&s.value.source);
            return Some(HostFile {
                secret: Some(format!("secret {}", s.value.source)),
                host_file: def.and_then(|d| d.file_resolved.clone()),
            });
        }
    }
    for c in &service.configs {
        let target = match c.value.target.as_deref() {
            Some(t) if t.starts_with('/') => PathBuf::from(t),
            Some(t) => Path::new("/").join(t),
            None => Path::new("/").join(&c.value.source),
        };
        if normalize(&target) == wanted {
            let def = project.configs.get(&c.value.source);
            return Some(HostFile {
                secret: Some(format!("config {}", c.value.source)),
                host_file: def.and_then(|d| d.file_resolved.clone()),
            });
        }
    }
    for v in &service.volumes {
        let m = &v.value;
        let Some(host) = &m.host_path else { continue };
        if let Ok(rest) = wanted.strip_prefix(&m.target) {
            let host = if rest.as_os_str().is_empty() {
                host.clone()
            } else {
                host.join(rest)
            };
            let rel = host
                .strip_prefix(&project.root)
                .map(Path::to_path_buf)
                .unwrap_or(host);
            return Some(HostFile {
                secret: None,
                host_file: Some(rel),
            });
        }
    }
    None
}

/// Reads a file the container sees at `container_path`, from the submission (trailing newlines
/// dropped, as the Postgres entrypoint does). `Err` says why it cannot be read.
pub(crate) fn read_container_file(
    project: &Project,
    root: &SubmissionRoot,
    service: &Service,
    container_path: &str,
) -> Result<String, String> {
    let hf = host_file(project, service, container_path).ok_or_else(|| {
        format!(
            "no secret, config or bind mount of service `{}` provides {}",
            service.name,
            display::value(container_path)
        )
    })?;
    let file = hf
        .host_file
        .ok_or_else(|| format!("{} has no file", hf.secret.unwrap_or_default()))?;
    let text = paths::read_text(root, &file, SECRET_FILE_CAP)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// The checks read a webapp's environment as the handout webapp reads it: for each environment
/// below, what [`client`] concludes (host, port, user, database, password) is what the sample
/// webapp's own configuration code concludes.
#[cfg(test)]
mod agrees_with_the_webapp {
    use super::*;
    use std::collections::BTreeMap;

    fn webapp_service(env: &[(&str, &str)]) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = String::from("services:\n  webapp:\n    image: x\n    environment:\n");
        for (k, v) in env {
            yaml.push_str(&format!("      {k}: \"{v}\"\n"));
        }
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        let loaded = assay_compose::load_project(
            dir.path(),
            Path::new("compose.yaml"),
            &assay_compose::LoadOptions::default(),
        );
        loaded.project.expect("loads").services["webapp"].clone()
    }

    #[test]
    fn every_environment_reads_the_same() {
        let cases: &[&[(&str, &str)]] = &[
            &[("PGHOST", "db")],
            &[("PGHOST", "db"), ("PGUSER", "app")],
            &[
                ("PGHOST", "db"),
                ("PGPORT", "6543"),
                ("PGUSER", "app"),
                ("PGPASSWORD", "pw"),
                ("PGDATABASE", "notes"),
            ],
            &[("PGHOST", "db"), ("PGUSER", ""), ("PGDATABASE", "")],
            &[("DATABASE_URL", "postgres://app:pw@pg:5433/notes")],
            &[("DATABASE_URL", "postgresql://app@pg")],
            &[("DATABASE_URL", "postgres://pg/notes")],
            &[
                ("DATABASE_URL", "postgres://app:p%40ss@pg/notes"),
                ("PGHOST", "other"),
            ],
            &[("DATABASE_URL", ""), ("PGHOST", "db"), ("PGUSER", "u")],
        ];
        for env in cases {
            let map: BTreeMap<&str, &str> = env.iter().copied().collect();
            let lookup = |k: &str| map.get(k).map(|v| v.to_string());
            let theirs = sample_webapp::config::from_env(&lookup)
                .unwrap_or_else(|e| panic!("{env:?}: the webapp refuses: {e}"))
                .db;
            let ours = client(&webapp_service(env));
            let password = match &ours.password {
                Password::Value { value, .. } => Some(value.clone()),
                _ => None,
            };
            assert_eq!(
                (
                    ours.host.as_ref().map(|h| h.value.as_str()),
                    ours.port.value.as_str(),
                    ours.user.value.as_str(),
                    ours.database.value.as_str(),
                    password.as_deref(),
                ),
                (
                    Some(theirs.host.as_str()),
                    theirs.port.to_string().as_str(),
                    theirs.user.as_str(),
                    theirs.dbname.as_str(),
                    theirs.password.as_deref(),
                ),
                "{env:?}"
            );
        }
    }
}
