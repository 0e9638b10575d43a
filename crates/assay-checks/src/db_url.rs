//! `postgres://user:password@host:port/database?param=value` as libpq reads it.

use assay_core::display;

/// The parts of a Postgres connection URL, percent-decoded.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct PgUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    /// Hosts in order (libpq accepts `h1:p1,h2:p2`); an empty host means a Unix socket.
    pub hosts: Vec<String>,
    pub port: Option<String>,
    pub database: Option<String>,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgUrl")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("hosts", &self.hosts)
            .field("port", &self.port)
            .field("database", &self.database)
            .finish()
    }
}

/// Whether a value is a Postgres connection URL of any client library: `postgres://`,
/// `postgresql://`, or a driver-qualified form such as SQLAlchemy's `postgresql+psycopg://`.
pub(crate) fn is_postgres_url(value: &str) -> bool {
    let Some((scheme, _)) = value.trim().split_once("://") else {
        return false;
    };
    let base = scheme.split('+').next().unwrap_or("").to_ascii_lowercase();
    base == "postgres" || base == "postgresql"
}

/// Parses a `postgres://` or `postgresql://` URL; `Err` says what is wrong (never echoing the
/// password).
pub(crate) fn parse(url: &str) -> Result<PgUrl, String> {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("is not a URL (expected postgres://user:password@host:port/database)".into());
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(format!(
            "has scheme `{}`, not postgres:// or postgresql://",
            display::value(&scheme)
        ));
    }
    let rest = rest.split('#').next().unwrap_or("");
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if path.is_some_and(|p| p.contains('@')) {
        // Not echoed: the part before the `@` is likely the tail of a password.
        return Err(
            "has an `@` after the host (is a `/` in the password not percent-encoded?)".into(),
        );
    }
    let mut out = PgUrl::default();
    let hostlist = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            match userinfo.split_once(':') {
                Some((u, p)) => {
                    out.user = non_empty(decode(u));
                    out.password = Some(decode(p));
                }
                None => out.user = non_empty(decode(userinfo)),
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    for entry in hostlist.split(',') {
        let (host, port) = split_host_port(entry);
        out.hosts.push(decode(host));
        if out.port.is_none() {
            out.port = port.map(str::to_string);
        }
    }
    out.database = path.map(decode).and_then(non_empty);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v);
        match k {
            "host" => out.hosts = v.split(',').map(str::to_string).collect(),
            "port" => out.port = non_empty(v),
            "user" => out.user = non_empty(v),
            "password" => out.password = Some(v),
            "dbname" => out.database = non_empty(v),
            _ => {}
        }
    }
    if let Some(port) = &out.port {
        if port.split(',').next().unwrap_or("").parse::<u16>().is_err() {
            // Not echoed: in a malformed URL the "port" may be part of a password.
            return Err("has a port that is not a number (is a `/` or `:` in the password not percent-encoded?)".into());
        }
    }
    Ok(out)
}

fn split_host_port(entry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let port = rest[end + 1..].strip_prefix(':');
            return (&rest[..end], port);
        }
    }
    match entry.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (entry, None),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The password of the URL's userinfo exactly as written (still percent-encoded).
pub(crate) fn raw_password(url: &str) -> Option<&str> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, p)| p)
}

/// Percent-decodes; a malformed escape is kept as written.
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The URL with its password replaced by `***` (for evidence). Conservative: everything between
/// `scheme://` and the last `@` before the query is credentials, so a malformed URL (a `/` in an
/// unencoded password) does not leak part of the password either.
pub(crate) fn masked(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".into();
    };
    let query_start = rest.find('?').unwrap_or(rest.len());
    let (before_query, query) = rest.split_at(query_start);
    let mut shown = format!("{scheme}://");
    match before_query.rfind('@') {
        Some(i) => {
            let userinfo = &before_query[..i];
            match userinfo.split_once(':') {
                Some((u, _)) => shown.push_str(&format!("{u}:***@")),
                None => shown.push_str(&format!("{userinfo}@")),
            }
            shown.push_str(&before_query[i + 1..]);
        }
        None => shown.push_str(before_query),
    }
    // A password may also hide in the query string.
    if let Some(q) = query.strip_prefix('?') {
        let q: Vec<String> = q
            .split('&')
            .map(|p| {
                if p.starts_with("password=") {
                    "password=***".to_string()
                } else {
                    p.to_string()
                }
            })
            .collect();
        shown.push('?');
        shown.push_str(&q.join("&"));
    }
    display::value(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_form() {
        let u = parse("postgres://app:s%40cret@db:5432/notes").unwrap();
        assert_eq!(u.user.as_deref(), Some("app"));
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert_eq!(u.hosts, vec!["db"]);
        assert_eq!(u.port.as_deref(), Some("5432"));
        assert_eq!(u.database.as_deref(), Some("notes"));
    }

    #[test]
    fn parses_variants() {
        let u = parse("postgresql://db/app").unwrap();
        assert_eq!(
            (u.user, u.password, u.hosts, u.port),
            (None, None, vec!["db".to_string()], None)
        );
        let u = parse("postgres://u@[::1]:6543/x?password=p%20w&host=pg").unwrap();
        assert_eq!(u.hosts, vec!["pg"]);
        assert_eq!(u.port.as_deref(), Some("6543"));
        assert_eq!(u.password.as_deref(), Some("p w"));
        let u = parse("postgres://u:p@h1:5432,h2:5433/d").unwrap();
        assert_eq!(u.hosts, vec!["h1", "h2"]);
        assert_eq!(parse("postgres:///d").unwrap().hosts, vec![""]);
        assert!(parse("mysql://x@y/z").unwrap_err().contains("mysql"));
        assert!(parse("db:5432").is_err());
        assert!(parse("postgres://u:p@h:abc/d")
            .unwrap_err()
            .contains("not a number"));
        // A `/` in an unencoded password: the error and the masked URL show none of it.
        let bad = "postgres://user:zq/xw@host/db";
        assert!(!parse(bad).unwrap_err().contains("zq"));
        assert_eq!(masked(bad), "postgres://user:***@host/db");
        let bad = "postgres://user:123/zqxw@host/db";
        assert!(parse(bad).is_err());
        assert_eq!(masked(bad), "postgres://user:***@host/db");
    }

    #[test]
    fn postgres_urls_of_any_driver_are_recognised() {
        for yes in [
            "postgres://a:b@db/x",
            "postgresql://db/x",
            "postgresql+psycopg2://u:p@db:5432/x",
            " POSTGRES+asyncpg://db/x",
        ] {
            assert!(is_postgres_url(yes), "{yes}");
        }
        for no in [
            "mysql://db/x",
            "db:5432",
            "http://postgres/x",
            "postgresx://db",
        ] {
            assert!(!is_postgres_url(no), "{no}");
        }
    }

    #[test]
    fn masking_never_shows_the_password() {
        assert_eq!(
            masked("postgres://app:hunter2@db:5432/notes"),
            "postgres://app:***@db:5432/notes"
        );
        assert_eq!(
            masked("postgres://db/x?password=hunter2&sslmode=disable"),
            "postgres://db/x?password=***&sslmode=disable"
        );
        assert!(!format!("{:?}", parse("postgres://a:hunter2@b/c").unwrap()).contains("hunter2"));
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(raw_password("postgres://u:p%40ss@h/d"), Some("p%40ss"));
        assert_eq!(raw_password("postgres://u@h/d"), None);
    }
}
