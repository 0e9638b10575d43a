//! `assay-probe`: the probes assay runs from inside a run's networks, through `docker exec` in
//! the probe container. Each subcommand prints ONE JSON object on stdout and exits 0 even when
//! the probe fails (`"ok": false` plus `"error"`); only a usage error exits 2. What it prints
//! is [`assay_core::probe::ProbeResult`], the contract the runner reads with the same type.
//!
//! ```text
//! assay-probe http GET|POST URL [--body S] [--timeout-ms N]
//! assay-probe pg --host H [--port P] --user U (--password P | --password-file F) --db D
//!                [--query-nonce NONCE] [--timeout-ms N]
//! assay-probe wait-tcp HOST PORT [--timeout-ms N]
//! assay-probe serve     (many of the above over one exec: see [`serve`])
//! assay-probe meter DIR [EVERY_MS]   (the run's disk meter, one line per pass: see [`meter`])
//! ```

pub mod http;
pub mod meter;
pub mod pg;
pub mod serve;
pub mod tcp;

pub use assay_core::probe::ProbeResult;
use std::time::Duration;

/// Default deadline of one probe.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Http {
        method: http::Method,
        url: String,
        body: Option<String>,
        timeout: Duration,
    },
    Pg(pg::PgProbe),
    WaitTcp {
        host: String,
        port: u16,
        timeout: Duration,
    },
}

pub const USAGE: &str = "usage:\n  \
assay-probe http GET|POST URL [--body S] [--timeout-ms N]\n  \
assay-probe pg --host H [--port P] --user U (--password P | --password-file F) --db D [--query-nonce NONCE] [--timeout-ms N]\n  \
assay-probe wait-tcp HOST PORT [--timeout-ms N]\n  \
assay-probe serve   (JSON lines: {\"id\":N,\"args\":[...]} in, {\"id\":N,\"result\":{...}} out)\n  \
assay-probe meter DIR [EVERY_MS]   (the sizes of DIR/0, DIR/1, ... as a JSON line every EVERY_MS, default 1000)";

/// `--name value` pairs, in command-line order.
type NamedOptions = Vec<(String, String)>;

/// Split `args` into positionals and `--name value` options (also `--name=value`).
fn split_args(args: &[String]) -> Result<(Vec<String>, NamedOptions), String> {
    let mut pos = Vec::new();
    let mut opts = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let v = it
                        .next()
                        .ok_or_else(|| format!("option --{name} needs a value"))?;
                    (name.to_string(), v.clone())
                }
            };
            opts.push((name, value));
        } else {
            pos.push(a.clone());
        }
    }
    Ok((pos, opts))
}

struct Opts(NamedOptions);

impl Opts {
    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(i).1)
    }

    fn timeout(&mut self) -> Result<Duration, String> {
        match self.take("timeout-ms") {
            None => Ok(DEFAULT_TIMEOUT),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=3_600_000).contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| format!("--timeout-ms {v}: expected 1..=3600000")),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self.0.first() {
            Some((n, _)) => Err(format!("unknown or repeated option --{n}")),
            None => Ok(()),
        }
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("port {s:?}: expected 1..=65535"))
}

/// Parse the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let (pos, opts) = split_args(args)?;
    let mut opts = Opts(opts);
    let cmd = match pos.first().map(String::as_str) {
        Some("http") => {
            let [_, method, url] = pos.as_slice() else {
                return Err("http needs METHOD and URL".into());
            };
            let method = match method.to_ascii_uppercase().as_str() {
                "GET" => http::Method::Get,
                "POST" => http::Method::Post,
                other => return Err(format!("http method {other:?}: expected GET or POST")),
            };
            Command::Http {
                method,
                url: url.clone(),
                body: opts.take("body"),
                timeout: opts.timeout()?,
            }
        }
        Some("pg") => {
            if pos.len() != 1 {
                return Err(format!(
                    "pg takes no positional arguments, got {:?}",
                    &pos[1..]
                ));
            }
            let host = opts.take("host").ok_or("pg needs --host")?;
            let port = match opts.take("port") {
                Some(p) => parse_port(&p)?,
                None => 5432,
            };
            let user = opts.take("user").ok_or("pg needs --user")?;
            let password = match (opts.take("password"), opts.take("password-file")) {
                (Some(p), None) => pg::Secret::Value(p),
                (None, Some(f)) => pg::Secret::File(f),
                (None, None) => pg::Secret::None,
                (Some(_), Some(_)) => {
                    return Err("give --password or --password-file, not both".into())
                }
            };
            let db = opts.take("db").ok_or("pg needs --db")?;
            Command::Pg(pg::PgProbe {
                host,
                port,
                user,
                password,
                db,
                nonce: opts.take("query-nonce"),
                timeout: opts.timeout()?,
            })
        }
        Some("wait-tcp") => {
            let [_, host, port] = pos.as_slice() else {
                return Err("wait-tcp needs HOST and PORT".into());
            };
            Command::WaitTcp {
                host: host.clone(),
                port: parse_port(port)?,
                timeout: opts.timeout()?,
            }
        }
        Some(other) => return Err(format!("unknown probe {other:?}")),
        None => return Err("no probe given".into()),
    };
    opts.finish()?;
    Ok(cmd)
}

/// Run a probe to its result. Never fails: a failed probe is `"ok": false`.
pub async fn run(cmd: Command) -> ProbeResult {
    let started = std::time::Instant::now();
    let (probe, mut result) = match cmd {
        Command::Http {
            method,
            url,
            body,
            timeout,
        } => (
            "http",
            http::probe(method, &url, body.as_deref(), timeout).await,
        ),
        Command::Pg(p) => ("pg", pg::probe(&p).await),
        Command::WaitTcp {
            host,
            port,
            timeout,
        } => ("wait-tcp", tcp::wait(&host, port, timeout).await),
    };
    result.probe = Some(probe.into());
    result.elapsed_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    result
}

/// `{"ok": false, "error": msg}`.
pub fn failure(msg: impl Into<String>) -> ProbeResult {
    ProbeResult::failure(msg)
}

/// Cut `s` to at most `max` bytes on a char boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_http() {
        assert_eq!(
            parse(&args(
                "http POST http://web:8080/notes --body abc --timeout-ms 500"
            ))
            .unwrap(),
            Command::Http {
                method: http::Method::Post,
                url: "http://web:8080/notes".into(),
                body: Some("abc".into()),
                timeout: Duration::from_millis(500),
            }
        );
    }

    #[test]
    fn parses_pg_with_password_file() {
        let c = parse(&args(
            "pg --host db --user app --password-file /run/secrets/pw --db appdb --query-nonce n1",
        ))
        .unwrap();
        let Command::Pg(p) = c else { panic!("{c:?}") };
        assert_eq!(p.port, 5432);
        assert_eq!(p.password, pg::Secret::File("/run/secrets/pw".into()));
        assert_eq!(p.nonce.as_deref(), Some("n1"));
    }

    #[test]
    fn usage_errors_name_the_problem() {
        assert!(parse(&args("http PUT http://x/"))
            .unwrap_err()
            .contains("PUT"));
        assert!(parse(&args("wait-tcp db 99999"))
            .unwrap_err()
            .contains("99999"));
        assert!(parse(&args("pg --host db --user u --db d --bogus 1"))
            .unwrap_err()
            .contains("--bogus"));
        assert!(parse(&args(
            "pg --host db --user u --password a --password-file f --db d"
        ))
        .unwrap_err()
        .contains("not both"));
        assert!(parse(&args("http GET")).is_err());
        assert!(parse(&args("http GET http://x/ --timeout-ms 0")).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&args("http GET http://x/ --body"))
            .unwrap_err()
            .contains("--body"));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
