//! The runner: executes a candidate's compose project in the sandbox and proves, from inside
//! the run's own networks, that the webapp really talks to Postgres.
//!
//! - [`mod@plan`]: project → hardened specs (pure, where the security policy lives);
//! - [`run`]: executes a plan through the engine, one deadline, readiness strategies, teardown
//!   on every path (success, failure, timeout, cancel, panic);
//! - [`probe`]: the probe container driven through exec (HTTP, Postgres, TCP), its answers read
//!   with the contract `assay-probe` writes with ([`assay_core::probe`]);
//! - [`scenarios`]: the `runtime.*` checks, and [`run_checks`], the entry point;
//! - [`evidence`]: how much container output is kept as evidence (made safe by
//!   [`assay_core::display::Masker`]: capped, escaped, masked);
//! - [`reaper`]: run locks, the sweep every run starts with, and `assay gc`;
//!
//! The host never sends traffic to a container address: run networks are `internal` with no
//! bridge IPv4 address, and every probe runs inside them.

pub mod evidence;
pub mod nominal;
pub mod plan;
pub mod probe;
pub mod reaper;
pub mod run;
pub mod scenarios;

/// The unit tests' hand-built compose projects (assay-testkit's), under the name they use.
#[cfg(test)]
use assay_testkit::projects as testkit;

pub use plan::{plan, Limits, PlanInputs, RunPlan};
pub use reaper::{gc, GcReport};
pub use run::{cancel_on_signals, Progress, RunError};
pub use scenarios::{run_checks, DbCredentials, RunInputs, Scenarios};
pub use tokio_util::sync::CancellationToken;
