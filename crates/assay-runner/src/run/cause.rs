//! Reading why a container stopped from its log, and telling a cause the grader's load can
//! produce (the database was not up yet) from one that is the stack's own (a typo in the db's
//! command, a wrong password). The one home of both rules: the fail-fast watch, the evidence
//! and the re-run decision all use them.

/// What a failure's cause says about timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseKind {
    /// The database was not reachable yet (refused, starting up, shutting down): a slower
    /// database under load produces the same text.
    Timing,
    /// Anything else: the stack's own (wrong password, missing database, a crash).
    Own,
}

/// Texts that mean "the database was not up yet".
const TIMING: &[&str] = &[
    "connection refused",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is not yet accepting connections",
];

/// Texts that settle a cause as the stack's own even when a timing text is also present,
/// besides a refusal the configuration settles ([`SETTLED`]), which always is.
const OWN: &[&str] = &["does not exist", "oomkilled, exit"];

/// Texts of a refusal that the database's configuration settles, so a restart of the client
/// meets it again: its credentials against a server that is up (only the real server, never
/// the image's one-time setup server on the unix socket, answers over the network). A missing
/// role or database is not here: another service may still be creating it.
const SETTLED: &[&str] = &["password authentication failed", "no pg_hba.conf entry"];

/// Whether `text` names a refusal a restart does not change ([`SETTLED`]): the fail-fast
/// watch judges a service restarting for it at its first restart, not at the loop's third.
pub fn settled_refusal(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    SETTLED.iter().any(|s| lower.contains(s))
}

/// Whether `text` names a cause that is the stack's own whatever else it says.
pub fn mentions_own_cause(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    settled_refusal(&lower) || OWN.iter().any(|o| lower.contains(o))
}

/// Whether `text` (evidence or a log line) reads as a timing cause.
pub fn cause_kind(text: &str) -> CauseKind {
    let lower = text.to_ascii_lowercase();
    if TIMING.iter().any(|t| lower.contains(t)) && !mentions_own_cause(text) {
        CauseKind::Timing
    } else {
        CauseKind::Own
    }
}

/// Postgres `FATAL:` lines a server logs about one client's connection, not about itself.
const CLIENT_FATAL: &[&str] = &[
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is not yet accepting connections",
    "the database system is in recovery mode",
    "password authentication failed",
    "no pg_hba.conf entry",
    "role \"",
    "database \"",
    "terminating connection due to",
    "connection to client lost",
    "canceling authentication due to timeout",
    "sorry, too many clients already",
    "unsupported frontend protocol",
    "invalid length of startup packet",
];

/// The line of a log that says why a process stopped, as its own words, the same in every run:
/// the last Postgres `FATAL:`/`PANIC:` about the server itself (without the timestamp and pid
/// prefix); else the last JSON line at level error or fatal (its message and error fields);
/// else the last non-empty line. Capped at 300 characters.
pub fn cause_line(logs: &str) -> Option<String> {
    let lines: Vec<&str> = logs
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let text = lines
        .iter()
        .rev()
        .find_map(|l| postgres_fatal(l))
        .or_else(|| lines.iter().rev().find_map(|l| json_error(l)))
        .or_else(|| {
            lines.last().map(|l| match json_message(l) {
                Some(m) => m,
                None => l.to_string(),
            })
        })?;
    Some(text.chars().take(300).collect())
}

/// `… [57] FATAL:  unrecognized configuration parameter "x"` → `FATAL: unrecognized …`, for a
/// server-side `FATAL:` or `PANIC:`; `None` for other lines and for a client's connection.
fn postgres_fatal(line: &str) -> Option<String> {
    let at = ["FATAL:", "PANIC:"]
        .iter()
        .filter_map(|k| line.find(k))
        .min()?;
    let rest = &line[at..];
    if CLIENT_FATAL.iter().any(|c| rest.contains(c)) {
        return None;
    }
    let (level, msg) = rest.split_once(':')?;
    Some(format!("{level}: {}", msg.trim()))
}

/// A JSON log line at level error/fatal/panic, as its message and error fields.
fn json_error(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let level = ["level", "severity", "lvl"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|l| l.as_str()))?
        .to_ascii_lowercase();
    matches!(level.as_str(), "error" | "fatal" | "panic" | "critical")
        .then(|| json_message(line))?
}

/// A JSON object line's message and error fields joined, or the line when it has none.
fn json_message(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if !v.is_object() {
        return None;
    }
    let parts: Vec<String> = ["msg", "message", "error", "err", "detail"]
        .iter()
        .filter_map(|k| v.get(*k))
        .map(|f| {
            f.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| f.to_string())
        })
        .collect();
    Some(if parts.is_empty() {
        line.to_string()
    } else {
        parts.join(": ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_line_reads_json_logs() {
        let logs = "{\"level\":\"info\",\"msg\":\"starting\"}\n{\"level\":\"error\",\"msg\":\"could not connect to the database\",\"error\":\"localhost:5432: connection refused\"}\n\n";
        assert_eq!(
            cause_line(logs).unwrap(),
            "could not connect to the database: localhost:5432: connection refused"
        );
        assert_eq!(cause_line("plain text\nlast line\n").unwrap(), "last line");
        assert_eq!(cause_line("\n \n"), None);
    }

    #[test]
    fn a_json_error_line_wins_over_later_info_lines() {
        let logs = "{\"level\":\"error\",\"msg\":\"bad config\",\"error\":\"PGPORT is not a number\"}\n{\"level\":\"info\",\"msg\":\"exiting\"}\n";
        assert_eq!(
            cause_line(logs).unwrap(),
            "bad config: PGPORT is not a number"
        );
    }

    #[test]
    fn the_servers_own_fatal_line_is_the_cause_without_its_timestamp() {
        let logs = "\
2026-11-29 07:00:01.100 UTC [48] LOG:  database system is ready to accept connections
2026-11-29 07:00:01.200 UTC [50] FATAL:  the database system is starting up
waiting for server to shut down.... done
server stopped
2026-11-29 07:00:02.345 UTC [1] FATAL:  unrecognized configuration parameter \"shared_bufers\"
2026-11-29 07:00:02.346 UTC [1] LOG:  database system is shut down
";
        assert_eq!(
            cause_line(logs).unwrap(),
            "FATAL: unrecognized configuration parameter \"shared_bufers\""
        );
        // A client's failed login is not the server's cause.
        let client = "2026-11-29 07:00:01.200 UTC [50] FATAL:  password authentication failed for user \"app\"\nlast words\n";
        assert_eq!(cause_line(client).unwrap(), "last words");
    }

    #[test]
    fn timing_causes_are_told_from_the_stacks_own() {
        assert_eq!(cause_kind("service `webapp` exited 1: could not connect to the database at db:5432 within 5 s: error connecting to server: Connection refused (os error 111)"), CauseKind::Timing);
        assert_eq!(
            cause_kind("FATAL: the database system is starting up"),
            CauseKind::Timing
        );
        assert_eq!(cause_kind("could not connect: password authentication failed for user \"app\" (Connection refused earlier)"), CauseKind::Own);
        assert_eq!(
            cause_kind("FATAL: unrecognized configuration parameter \"shared_bufers\""),
            CauseKind::Own
        );
    }

    #[test]
    fn only_a_refusal_the_configuration_settles_is_final_at_the_first_restart() {
        assert!(settled_refusal("could not connect to the database at db:5432 within 5 s: db error: FATAL: password authentication failed for user \"notes\""));
        assert!(settled_refusal(
            "FATAL: no pg_hba.conf entry for host \"172.18.0.3\", user \"app\""
        ));
        // Another service may still create a role or a database, and a refused connection
        // is the database not being up yet.
        assert!(!settled_refusal("FATAL: database \"notes\" does not exist"));
        assert!(!settled_refusal("FATAL: role \"app\" does not exist"));
        assert!(!settled_refusal(
            "error connecting to server: Connection refused"
        ));
        assert!(!settled_refusal("config file /run/app.toml does not exist"));
    }
}
