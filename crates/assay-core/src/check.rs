use crate::{Diagnostic, Location};
use serde::Serialize;
use std::fmt;

/// Outcome of one check. There is no "warn": a check passes, fails, or could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        })
    }
}

macro_rules! check_ids {
    ($( $variant:ident = $id:literal, $required:literal, [$($req:ident),*], $title:literal; )*) => {
        /// The stable check ids (API: reports, JUnit names, rubric keys; the README's "Check
        /// ids" table says what each proves).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CheckId { $( $variant, )* }

        impl CheckId {
            /// Every check, in report order.
            pub const ALL: &'static [CheckId] = &[ $( CheckId::$variant, )* ];

            /// The dotted id, e.g. `compose.db-host`.
            pub fn as_str(self) -> &'static str {
                match self { $( CheckId::$variant => $id, )* }
            }

            /// Whether this check is required unless a rubric says otherwise.
            pub fn required_by_default(self) -> bool {
                match self { $( CheckId::$variant => $required, )* }
            }

            /// The checks that must pass before this one runs (its `requires` column): when one
            /// of them did not pass, this one is `skipped` as blocked behind it.
            pub fn requires(self) -> &'static [CheckId] {
                match self { $( CheckId::$variant => &[ $( CheckId::$req ),* ], )* }
            }

            /// One line saying what the check proves.
            pub fn title(self) -> &'static str {
                match self { $( CheckId::$variant => $title, )* }
            }

            /// Parses a dotted id.
            pub fn parse(s: &str) -> Option<CheckId> {
                match s { $( $id => Some(CheckId::$variant), )* _ => None }
            }
        }
    };
}

// Each row: variant = id, required by default, requires (the checks that must pass first: the
// one table of which check blocks which; see `CheckId::requires`), title.
check_ids! {
    IntakeUnpack = "intake.unpack", true, [], "the archive unpacked safely within limits";
    ComposeFound = "compose.found", true, [IntakeUnpack], "an orchestration file was found";
    ComposeValid = "compose.valid", true, [ComposeFound], "the compose file is valid: YAML, keys, types, interpolation, references";
    ComposeSecurity = "compose.security", true, [ComposeValid], "nothing in the compose file violates the security policy";
    ComposeDbService = "compose.db-service", true, [ComposeValid], "a Postgres service exists";
    ComposeWebappService = "compose.webapp-service", true, [ComposeValid], "the sample webapp's service exists";
    ComposeDbHost = "compose.db-host", true, [ComposeValid], "the webapp's database host names the db service on a shared network";
    ComposeCredentials = "compose.credentials", true, [ComposeValid], "the webapp's credentials match the db service's";
    ComposeHealthcheck = "compose.healthcheck", false, [ComposeValid], "the db service has a readiness healthcheck";
    ComposeStartupOrder = "compose.startup-order", false, [ComposeValid], "the webapp waits for a healthy db or restarts until it connects";
    ComposeDbVolume = "compose.db-volume", false, [ComposeValid], "Postgres data lives in a named volume or a bind inside the project";
    ComposeNoInlineSecrets = "compose.no-inline-secrets", false, [ComposeValid], "passwords are not literals in the compose file";
    ComposeDbNotPublished = "compose.db-not-published", false, [ComposeValid], "the db port is not published to the host";
    ComposeScalable = "compose.scalable", false, [ComposeValid], "the webapp can run as several replicas";
    ComposePinnedImages = "compose.pinned-images", false, [ComposeValid], "images carry an explicit non-latest tag or a digest";
    RuntimeUp = "runtime.up", true, [ComposeValid, ComposeSecurity, ComposeDbService, ComposeWebappService], "every service started (and became healthy) before the deadline";
    RuntimeHealth = "runtime.health", true, [RuntimeUp], "GET /health on the webapp answers 200 with the database ok";
    RuntimeRoundtrip = "runtime.roundtrip", true, [RuntimeHealth], "a nonce POSTed to the webapp is read back through the webapp and from Postgres";
    RuntimeColdStart = "runtime.cold-start", false, [RuntimeUp], "with the db held back for 10 s the stack still converges";
    RuntimePersistence = "runtime.persistence", false, [RuntimeRoundtrip], "the nonce survives recreating the db container";
    RuntimeScale = "runtime.scale", false, [RuntimeHealth], "two webapp replicas both answer /health with the database ok";
    EssaysQ1 = "essays.q1", true, [IntakeUnpack], "Q1 is answered: an orchestration file, or an essay of at least the minimum words";
    EssaysElective = "essays.elective", true, [IntakeUnpack], "at least one of Q2-Q5 is answered";
    EssaysMinWords = "essays.min-words", true, [IntakeUnpack], "every answer present has at least the minimum words";
}

impl CheckId {
    /// The family of the check: `intake`, `compose`, `runtime` or `essays`.
    pub fn family(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or("")
    }

    /// Whether this check needs `other` to pass first, directly or through another check.
    pub fn needs(self, other: CheckId) -> bool {
        self.requires()
            .iter()
            .any(|r| *r == other || r.needs(other))
    }

    /// Every check that needs `self` to pass first, directly or not, in report order.
    pub fn dependents(self) -> impl Iterator<Item = CheckId> {
        CheckId::ALL.iter().copied().filter(move |c| c.needs(self))
    }

    /// `self` skipped because its first prerequisite did not pass: `runtime.health failed`.
    pub fn blocked_behind_first(self) -> CheckResult {
        let why = match self.requires().first() {
            Some(first) => format!("{first} failed"),
            None => "not run".to_string(),
        };
        CheckResult::blocked(self, why)
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a room found for one check: status, a one-line evidence a reviewer reads first,
/// the primary location, and any further located details (all problems, not only the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub id: CheckId,
    pub status: Status,
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Diagnostic>,
    /// Why a skipped check did not run; decides whether it counts against the score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipKind>,
}

/// Why a check was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipKind {
    /// An earlier required check failed; the check scores 0 of its points.
    Blocked,
    /// The check does not apply to this submission (Q1 answered as an essay, Kubernetes
    /// manifests graded by a reviewer); excluded from the score.
    NotApplicable,
    /// The check was not run in this mode (`--static`) or is not implemented yet; excluded from
    /// the score and named in the report so nobody mistakes it for a pass.
    NotRun,
}

impl CheckResult {
    pub fn new(id: CheckId, status: Status, evidence: impl Into<String>) -> Self {
        CheckResult {
            id,
            status,
            evidence: evidence.into(),
            location: None,
            details: Vec::new(),
            skip: None,
        }
    }

    pub fn pass(id: CheckId, evidence: impl Into<String>) -> Self {
        Self::new(id, Status::Pass, evidence)
    }

    pub fn fail(id: CheckId, evidence: impl Into<String>) -> Self {
        Self::new(id, Status::Fail, evidence)
    }

    /// Skipped because an earlier required check failed.
    pub fn blocked(id: CheckId, reason: impl Into<String>) -> Self {
        Self::skipped(id, SkipKind::Blocked, reason)
    }

    pub fn skipped(id: CheckId, kind: SkipKind, reason: impl Into<String>) -> Self {
        let mut r = Self::new(id, Status::Skipped, reason);
        r.skip = Some(kind);
        r
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn with_details(mut self, details: Vec<Diagnostic>) -> Self {
        self.details = details;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in CheckId::ALL {
            assert!(seen.insert(id.as_str()), "duplicate id {id}");
            assert_eq!(CheckId::parse(id.as_str()), Some(*id));
        }
        assert_eq!(CheckId::ALL.len(), 24);
        assert_eq!(CheckId::parse("compose.nope"), None);
    }

    #[test]
    fn location_displays_like_a_compiler() {
        assert_eq!(
            Location::at("compose.yaml", 3, 5).to_string(),
            "compose.yaml:3:5"
        );
        assert_eq!(Location::file("a.md").to_string(), "a.md");
    }
}

#[cfg(test)]
mod requires_tests {
    use super::CheckId::{self, *};

    #[test]
    fn the_requires_column_is_a_tree_rooted_at_intake() {
        for id in CheckId::ALL {
            assert!(!id.needs(*id), "{id} needs itself");
            if *id != IntakeUnpack {
                assert!(id.needs(IntakeUnpack), "{id} does not need intake.unpack");
            }
            for r in id.requires() {
                assert!(
                    r < id,
                    "{id} requires {r}, which comes later in report order"
                );
            }
        }
    }

    #[test]
    fn nothing_of_the_candidates_runs_unless_the_gates_pass() {
        for gate in [
            ComposeValid,
            ComposeSecurity,
            ComposeDbService,
            ComposeWebappService,
        ] {
            let runtime: Vec<CheckId> = CheckId::ALL
                .iter()
                .copied()
                .filter(|c| c.family() == "runtime")
                .collect();
            assert!(runtime.iter().all(|c| c.needs(gate)), "{gate}");
        }
        assert_eq!(
            RuntimeUp.dependents().collect::<Vec<_>>(),
            [
                RuntimeHealth,
                RuntimeRoundtrip,
                RuntimeColdStart,
                RuntimePersistence,
                RuntimeScale
            ]
        );
        assert_eq!(
            RuntimeScale.blocked_behind_first().evidence,
            "runtime.health failed"
        );
    }
}
