//! The runner: executes a candidate's compose project in the sandbox and proves, from inside
//! the run's own networks, that the webapp really talks to Postgres.
//!
//! - [`plan`]: project → hardened specs (pure, where the security policy lives);
//! - [`run`]: executes a plan through the engine, always tears down;
//! - [`reaper`]: sweeps what dead runs left, `assay gc`.

pub mod plan;

pub mod evidence;
pub mod ops;
pub mod probe;
pub mod reaper;
pub mod run;
pub mod scenarios;
#[cfg(test)]
mod testkit;

pub use plan::{plan, Limits, PlanInputs, RunPlan};
pub use reaper::{gc, GcReport};
pub use run::{cancel_on_signals, RunError};
pub use scenarios::{run_checks, DbCredentials, RunInputs, Scenarios};
pub use tokio_util::sync::CancellationToken;
