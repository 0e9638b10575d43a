//! The runner: executes a candidate's compose project in the sandbox and proves, from inside
//! the run's own networks, that the webapp really talks to Postgres.
//!
//! - [`plan`]: project → hardened specs (pure, where the security policy lives);
//! - [`run`]: executes a plan through the engine, always tears down;
//! - [`reaper`]: sweeps what dead runs left, `assay gc`.

pub mod plan;

#[cfg(test)]
mod testkit;
pub mod evidence;
pub mod ops;
pub mod probe;
pub mod reaper;
