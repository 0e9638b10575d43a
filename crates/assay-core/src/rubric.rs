//! The rubric model: what a hiring team configures. Parsing lives in the root crate
//! (`assay::rubric`); every room reads the part it needs from these types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole rubric (`rubrics/default.yaml` is the built-in one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub name: String,
    /// Score (0-100) a submission must reach, besides passing every required check.
    pub pass_threshold: f64,
    pub essays: EssayRules,
    pub questions: Vec<Question>,
    /// Weight and requiredness per check id; a check not listed keeps its default requiredness
    /// ([`crate::CheckId::required_by_default`]) and weight 0.
    pub checks: BTreeMap<String, CheckRule>,
    pub intake: IntakeLimits,
    pub webapp: WebappIdentity,
    pub database: DatabaseRules,
    pub runtime: RuntimeRules,
    /// Budgets over all scenario runs of one submission ([`crate::budget`]); the defaults
    /// when a rubric has no `limits:` section.
    #[serde(default)]
    pub limits: crate::budget::RunBudget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EssayRules {
    /// Minimum words of every written answer.
    pub min_words: usize,
    /// How many of the elective questions must be answered.
    pub electives_required: usize,
    /// Within this fraction below the minimum the finding says "N short" so a reviewer can judge.
    #[serde(default = "default_near_miss")]
    pub near_miss_fraction: f64,
}

fn default_near_miss() -> f64 {
    0.05
}

/// Whether a question is the orchestration question (Q1) or an elective essay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuestionKind {
    Orchestration,
    Elective,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// `q1` … `q5`.
    pub id: String,
    pub kind: QuestionKind,
    pub title: String,
    /// The question as the handout prints it.
    pub text: String,
    /// Words that identify an answer to this question when headings do not.
    #[serde(default)]
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRule {
    pub weight: f64,
    pub required: bool,
}

/// Caps applied while unpacking a submission, whatever the archive declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeLimits {
    pub max_entries: u64,
    pub max_total_bytes: u64,
    pub max_file_bytes: u64,
    pub max_depth: usize,
    pub max_name_bytes: usize,
    /// Largest allowed ratio of bytes written to compressed bytes, per entry.
    pub max_compression_ratio: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            max_entries: 10_000,
            max_total_bytes: 256 * 1024 * 1024,
            max_file_bytes: 64 * 1024 * 1024,
            max_depth: 32,
            max_name_bytes: 1024,
            max_compression_ratio: 1000,
        }
    }
}

/// How to recognise the sample webapp in a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebappIdentity {
    /// Image names (without tag) that stand for the webapp, e.g. `assay/sample-webapp`.
    pub images: Vec<String>,
    /// Service names that usually hold the webapp (`webapp`, `web`, `app`, …).
    pub service_hints: Vec<String>,
    /// The Cargo package name of the handout webapp; a build context holding it is the webapp.
    pub package_name: String,
    /// Port the webapp listens on by default.
    pub default_port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseRules {
    /// Image repositories that count as Postgres (`postgres`, `library/postgres`, …).
    pub images: Vec<String>,
    /// Tags the grader can run (the images `assay images` prepares).
    pub allowed_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeRules {
    /// Deadline of one submission's runtime phase, seconds.
    pub timeout_secs: u64,
    /// When false, a machine without Docker grades statically instead of exiting 3.
    pub required: bool,
    /// Seconds the db container is held back in `runtime.cold-start`.
    pub cold_start_pause_secs: u64,
}
