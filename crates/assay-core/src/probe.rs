//! The probe's wire contract: what `assay-probe` (inside a run's networks) prints and what the
//! runner reads, written once and used by both sides.
//!
//! A one-shot probe (`assay-probe http GET URL …`) prints one [`ProbeResult`] as a JSON line.
//! A session (`assay-probe serve`) reads [`ProbeRequest`] lines on stdin — the one-shot
//! command line as `args` — and writes one [`ProbeAnswer`] line per request, in the order they
//! finish. Every probe exits 0 and answers with `ok: false` and an `error` when it fails; which
//! fields are set depends on the probe (see each field).

use serde::{Deserialize, Serialize};

/// One request of a session: the arguments of the one-shot command line, and an id the answer
/// repeats (any JSON value; the runner numbers its requests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRequest {
    #[serde(default)]
    pub id: serde_json::Value,
    pub args: Vec<String>,
}

/// One answer of a session: the request's id and what the one-shot command would have printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeAnswer {
    pub id: serde_json::Value,
    pub result: ProbeResult,
}

/// What one probe found. `ok` says whether the operation succeeded: for `http`, that a response
/// arrived (any status: the caller judges it); for `pg`, that the connection and query did; for
/// `wait-tcp`, that a connection was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbeResult {
    pub ok: bool,
    /// Why the probe failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which probe answered: `http`, `pg` or `wait-tcp` (absent on a request that did not parse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// How long the probe took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// `http`: the response's status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `http`: the response's `Content-Type`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `http`: the response body, cut to a bound (see `body_truncated`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_truncated: Option<bool>,
    /// `pg`: the server's SQLSTATE when it refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
    /// `pg --query-nonce`: whether a note with the nonce as its body exists, and how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// `wait-tcp`: connection attempts made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

impl ProbeResult {
    /// A failed probe: `ok: false` and the reason.
    pub fn failure(error: impl Into<String>) -> ProbeResult {
        ProbeResult {
            error: Some(error.into()),
            ..ProbeResult::default()
        }
    }

    /// A successful probe with nothing else to say yet.
    pub fn success() -> ProbeResult {
        ProbeResult {
            ok: true,
            ..ProbeResult::default()
        }
    }

    /// The result as one JSON line's text (no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"ok":false}"#.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_round_trips_and_omits_what_a_probe_did_not_set() {
        let r = ProbeResult {
            status: Some(201),
            body: Some("{\"id\":7}".into()),
            body_truncated: Some(false),
            probe: Some("http".into()),
            elapsed_ms: Some(3),
            ..ProbeResult::success()
        };
        let text = r.to_json();
        assert_eq!(
            text,
            r#"{"ok":true,"probe":"http","elapsed_ms":3,"status":201,"body":"{\"id\":7}","body_truncated":false}"#
        );
        assert_eq!(serde_json::from_str::<ProbeResult>(&text).unwrap(), r);
        let f = ProbeResult::failure("connection refused");
        assert_eq!(f.to_json(), r#"{"ok":false,"error":"connection refused"}"#);
    }

    #[test]
    fn requests_and_answers_round_trip_with_any_id() {
        let q: ProbeRequest =
            serde_json::from_str(r#"{"id":"two","args":["wait-tcp","db","5432"]}"#).unwrap();
        assert_eq!(q.id, serde_json::json!("two"));
        assert_eq!(q.args, ["wait-tcp", "db", "5432"]);
        let a = ProbeAnswer {
            id: serde_json::json!(9),
            result: ProbeResult {
                found: Some(true),
                rows: Some(1),
                ..ProbeResult::success()
            },
        };
        let back: ProbeAnswer = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn a_status_out_of_range_is_not_a_result() {
        assert!(serde_json::from_str::<ProbeResult>(r#"{"ok":true,"status":70000}"#).is_err());
    }
}
