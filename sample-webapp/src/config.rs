//! Configuration from environment variables.
//!
//! The environment is injected as a lookup function, so the rules can be tested without touching
//! the process environment. An empty variable counts as unset (as `VAR=` in a compose file does).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Port the webapp listens on when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 8080;
/// Postgres port when none is given.
pub const DEFAULT_PG_PORT: u16 = 5432;
/// Postgres user when none is given.
pub const DEFAULT_PG_USER: &str = "postgres";
/// Seconds to keep trying to reach the database at start when `DB_CONNECT_TIMEOUT_SECS` is unset.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 5;
/// Largest accepted `DB_CONNECT_TIMEOUT_SECS` (one day).
const MAX_CONNECT_TIMEOUT_SECS: u64 = 86_400;
/// Largest password file read through `PGPASSWORD_FILE`.
const MAX_PASSWORD_FILE_BYTES: u64 = 64 * 1024;

/// Everything the webapp needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address the HTTP server binds (`0.0.0.0:$PORT`).
    pub listen: SocketAddr,
    /// Where the database is and how to log in.
    pub db: DbTarget,
    /// How long to keep trying to reach the database at start before exiting 1.
    pub connect_timeout: Duration,
    /// Things worth telling the operator that do not stop the start (e.g. ignored variables).
    pub warnings: Vec<String>,
}

/// Which variables the database settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbSource {
    /// `DATABASE_URL`.
    DatabaseUrl,
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`/`PGPASSWORD_FILE`, `PGDATABASE`.
    PgVars,
}

/// Database location and credentials. `Debug` never prints the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DbTarget {
    /// Host name, IP address, or a directory holding a Unix socket (starts with `/`).
    pub host: String,
    /// TCP port (also names the Unix socket file).
    pub port: u16,
    /// Login role.
    pub user: String,
    /// Password, when one is configured.
    pub password: Option<String>,
    /// Database name.
    pub dbname: String,
    /// Where these settings came from.
    pub source: DbSource,
}

impl DbTarget {
    /// `host:port` as written in logs (IPv6 addresses in brackets).
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('/') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("dbname", &self.dbname)
            .field("source", &self.source)
            .finish()
    }
}

/// A configuration problem; the message names the variable and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable at fault.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.reason)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// Reads the configuration through `lookup` (normally `std::env::var`).
pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
    let port = listen_port(lookup)?;
    let connect_timeout = match get("DB_CONNECT_TIMEOUT_SECS") {
        Some(raw) => parse_timeout(&raw)?,
        None => Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS),
    };
    let mut warnings = Vec::new();
    let db = match get("DATABASE_URL") {
        Some(url) => {
            let shadowed: Vec<&str> = PG_VARS
                .iter()
                .copied()
                .filter(|name| get(name).is_some())
                .collect();
            if !shadowed.is_empty() {
                warnings.push(format!(
                    "DATABASE_URL is set, so {} {} ignored",
                    shadowed.join(", "),
                    if shadowed.len() == 1 { "is" } else { "are" }
                ));
            }
            parse_database_url(&url, &mut warnings)?
        }
        None => from_pg_vars(&get)?,
    };
    Ok(Config {
        listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        db,
        connect_timeout,
        warnings,
    })
}

/// The port to listen on: `PORT`, or [`DEFAULT_PORT`].
pub fn listen_port(lookup: &dyn Fn(&str) -> Option<String>) -> Result<u16, ConfigError> {
    match lookup("PORT").filter(|value| !value.is_empty()) {
        Some(raw) => parse_port("PORT", &raw),
        None => Ok(DEFAULT_PORT),
    }
}

/// The libpq-style variables read when `DATABASE_URL` is unset.
const PG_VARS: [&str; 6] = [
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSWORD_FILE",
    "PGDATABASE",
];

fn from_pg_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<DbTarget, ConfigError> {
    let host = get("PGHOST").ok_or_else(|| {
        invalid(
            "PGHOST",
            "not set, and DATABASE_URL is not set either: set PGHOST to the database's host name \
             (e.g. the name of the database service) or DATABASE_URL=postgres://user:pass@host:5432/db",
        )
    })?;
    let port = match get("PGPORT") {
        Some(raw) => parse_port("PGPORT", &raw)?,
        None => DEFAULT_PG_PORT,
    };
    let user = get("PGUSER").unwrap_or_else(|| DEFAULT_PG_USER.to_string());
    let password = match (get("PGPASSWORD"), get("PGPASSWORD_FILE")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "PGPASSWORD_FILE",
                "both PGPASSWORD and PGPASSWORD_FILE are set; set only one of them",
            ))
        }
        (Some(password), None) => Some(password),
        (None, Some(path)) => Some(read_password_file(&path)?),
        (None, None) => None,
    };
    let dbname = get("PGDATABASE").unwrap_or_else(|| user.clone());
    Ok(DbTarget {
        host,
        port,
        user,
        password,
        dbname,
        source: DbSource::PgVars,
    })
}

fn parse_port(var: &'static str, raw: &str) -> Result<u16, ConfigError> {
    match raw.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(invalid(
            var,
            format!("{raw:?} is not a port number (1-65535)"),
        )),
    }
}

fn parse_timeout(raw: &str) -> Result<Duration, ConfigError> {
    match raw.trim().parse::<u64>() {
        Ok(secs) if (1..=MAX_CONNECT_TIMEOUT_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(invalid(
            "DB_CONNECT_TIMEOUT_SECS",
            format!(
                "{raw:?} is not a whole number of seconds between 1 and {MAX_CONNECT_TIMEOUT_SECS}"
            ),
        )),
    }
}

/// Reads a password file (a Docker/Kubernetes secret); trailing newlines are not part of it.
fn read_password_file(path: &str) -> Result<String, ConfigError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| invalid("PGPASSWORD_FILE", format!("cannot open {path}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_PASSWORD_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid("PGPASSWORD_FILE", format!("cannot read {path}: {e}")))?;
    if bytes.len() as u64 > MAX_PASSWORD_FILE_BYTES {
        return Err(invalid(
            "PGPASSWORD_FILE",
            format!("{path} is larger than {MAX_PASSWORD_FILE_BYTES} bytes; is it really a password file?"),
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| invalid("PGPASSWORD_FILE", format!("{path} is not UTF-8 text")))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// Parses `postgres://user:password@host:port/dbname?params` (also `postgresql://`).
///
/// User, password and database name are percent-decoded. Missing parts take the same defaults
/// as the PG* variables. Error messages never repeat the password.
pub fn parse_database_url(url: &str, warnings: &mut Vec<String>) -> Result<DbTarget, ConfigError> {
    const VAR: &str = "DATABASE_URL";
    let url = url.trim();
    let rest = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &url[scheme.len()..])
        })
        .ok_or_else(|| {
            invalid(
                VAR,
                "must start with postgres:// or postgresql:// (postgres://user:password@host:5432/dbname)",
            )
        })?;
    let (before_query, query) = match rest.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(slash) => (&before_query[..slash], &before_query[slash + 1..]),
        None => (before_query, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, password) = match info.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (info, None),
            };
            let user =
                percent_decode(user).map_err(|e| invalid(VAR, format!("the user name {e}")))?;
            let password = password
                .map(|p| percent_decode(p).map_err(|e| invalid(VAR, format!("the password {e}"))))
                .transpose()?;
            (
                Some(user).filter(|u| !u.is_empty()),
                password.filter(|p| !p.is_empty()),
            )
        }
    };
    let (host, port) = split_host_port(hostport)?;
    let user = user.unwrap_or_else(|| DEFAULT_PG_USER.to_string());
    let dbname =
        percent_decode(path).map_err(|e| invalid(VAR, format!("the database name {e}")))?;
    let dbname = if dbname.is_empty() {
        user.clone()
    } else {
        dbname
    };
    if let Some(query) = query {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (key, value) {
                ("sslmode", "require" | "verify-ca" | "verify-full") => {
                    return Err(invalid(
                        VAR,
                        format!("sslmode={value} is not supported: this app connects without TLS (use sslmode=disable or leave it out)"),
                    ))
                }
                ("sslmode", _) => {}
                _ => warnings.push(format!("DATABASE_URL parameter {key:?} is ignored")),
            }
        }
    }
    Ok(DbTarget {
        host,
        port,
        user,
        password,
        dbname,
        source: DbSource::DatabaseUrl,
    })
}

fn split_host_port(hostport: &str) -> Result<(String, u16), ConfigError> {
    const VAR: &str = "DATABASE_URL";
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid(VAR, "an IPv6 host opened with [ is not closed with ]"))?;
        match after {
            "" => (host.to_string(), None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host.to_string(), Some(port)),
                None => return Err(invalid(VAR, "unexpected text after the IPv6 host")),
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (hostport.to_string(), None),
        }
    };
    let host = percent_decode(&host).map_err(|e| invalid(VAR, format!("the host {e}")))?;
    if host.is_empty() {
        return Err(invalid(
            VAR,
            "has no host (postgres://user:password@HOST:5432/dbname)",
        ));
    }
    let port = match port {
        None | Some("") => DEFAULT_PG_PORT,
        Some(raw) => match raw.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => {
                return Err(invalid(
                    VAR,
                    format!("port {raw:?} is not a port number (1-65535)"),
                ))
            }
        },
    };
    Ok((host, port))
}

/// Decodes `%XX` escapes; the result must be UTF-8. `+` stays `+`.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("has a bad percent-escape at byte {i} (expected %XX)"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "is not UTF-8 after percent-decoding".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_env(&|name| map.get(name).cloned())
    }

    #[test]
    fn pg_vars_take_documented_defaults() {
        let c = config(&[("PGHOST", "db")]).unwrap();
        assert_eq!(c.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.db.host, "db");
        assert_eq!(c.db.port, 5432);
        assert_eq!(c.db.user, "postgres");
        assert_eq!(c.db.password, None);
        assert_eq!(c.db.dbname, "postgres");
        assert_eq!(c.db.source, DbSource::PgVars);
    }

    #[test]
    fn pgdatabase_defaults_to_pguser() {
        let c = config(&[("PGHOST", "db"), ("PGUSER", "app")]).unwrap();
        assert_eq!(c.db.dbname, "app");
    }

    #[test]
    fn missing_pghost_names_both_ways_to_configure() {
        let e = config(&[("PGUSER", "app")]).unwrap_err();
        assert_eq!(e.var, "PGHOST");
        assert!(e.to_string().contains("DATABASE_URL"), "{e}");
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let c = config(&[("PGHOST", "db"), ("PGPORT", ""), ("DATABASE_URL", "")]).unwrap();
        assert_eq!(c.db.port, 5432);
        assert_eq!(c.db.source, DbSource::PgVars);
    }

    #[test]
    fn database_url_is_percent_decoded() {
        let c = config(&[(
            "DATABASE_URL",
            "postgres://app%40corp:p%40ss%3Aw%2Frd%25@db.internal:6543/notes%20db",
        )])
        .unwrap();
        assert_eq!(c.db.host, "db.internal");
        assert_eq!(c.db.port, 6543);
        assert_eq!(c.db.user, "app@corp");
        assert_eq!(c.db.password.as_deref(), Some("p@ss:w/rd%"));
        assert_eq!(c.db.dbname, "notes db");
        assert_eq!(c.db.source, DbSource::DatabaseUrl);
    }

    #[test]
    fn database_url_defaults_and_ipv6() {
        let c = config(&[("DATABASE_URL", "postgresql://[::1]")]).unwrap();
        assert_eq!(c.db.host, "::1");
        assert_eq!(c.db.port, 5432);
        assert_eq!(c.db.user, "postgres");
        assert_eq!(c.db.dbname, "postgres");
        assert_eq!(c.db.endpoint(), "[::1]:5432");
    }

    #[test]
    fn database_url_wins_over_pg_vars_with_a_warning() {
        let c = config(&[("DATABASE_URL", "postgres://u:p@h/d"), ("PGHOST", "other")]).unwrap();
        assert_eq!(c.db.host, "h");
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("PGHOST"));
    }

    #[test]
    fn bad_database_urls_are_explained_without_the_password() {
        for (url, needle) in [
            ("mysql://u:secret@h/d", "postgres://"),
            ("postgres://u:secret@/d", "no host"),
            ("postgres://u:secret@h:99999/d", "port"),
            ("postgres://u:sec%zzret@h/d", "percent-escape"),
            ("postgres://u:secret@[::1/d", "IPv6"),
            ("postgres://u:secret@h/d?sslmode=require", "TLS"),
        ] {
            let e = config(&[("DATABASE_URL", url)]).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(needle), "{url}: {text}");
            assert!(!text.contains("secret"), "{url}: {text}");
        }
    }

    #[test]
    fn bad_numbers_are_rejected() {
        assert_eq!(
            config(&[("PGHOST", "h"), ("PORT", "http")])
                .unwrap_err()
                .var,
            "PORT"
        );
        assert_eq!(
            config(&[("PGHOST", "h"), ("PGPORT", "0")]).unwrap_err().var,
            "PGPORT"
        );
        assert_eq!(
            config(&[("PGHOST", "h"), ("DB_CONNECT_TIMEOUT_SECS", "-1")])
                .unwrap_err()
                .var,
            "DB_CONNECT_TIMEOUT_SECS"
        );
    }

    #[test]
    fn password_file_is_read_and_trailing_newline_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret \n").unwrap();
        let c = config(&[("PGHOST", "h"), ("PGPASSWORD_FILE", path.to_str().unwrap())]).unwrap();
        assert_eq!(c.db.password.as_deref(), Some("s3cret "));
        let both = config(&[
            ("PGHOST", "h"),
            ("PGPASSWORD", "x"),
            ("PGPASSWORD_FILE", path.to_str().unwrap()),
        ]);
        assert!(both.unwrap_err().reason.contains("only one"));
        let missing = config(&[("PGHOST", "h"), ("PGPASSWORD_FILE", "/nonexistent/pw")]);
        assert!(missing.unwrap_err().reason.contains("/nonexistent/pw"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = config(&[("PGHOST", "h"), ("PGPASSWORD", "hunter2")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
