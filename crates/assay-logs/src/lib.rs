//! The log-parsing exercise of the assay interview: "count how many times one API endpoint was
//! requested in an nginx access log, excluding requests from our own servers and from bots".
//!
//! The crate holds the reference solution and the tooling around it:
//! - [`parse`]: the nginx `combined` log format, tolerant of hostile input (never panics);
//! - [`rule`]: what "a request to the endpoint" means, own networks (CIDRs) and bot markers;
//! - [`mod@count`]: the count on all cores in bounded memory (plain, gzip or a pipe), with the
//!   numbers common mistakes give ([`count::Alternatives`]); a byte-level fast path decides the
//!   common lines and the [`parse`]-based reference the rest;
//! - [`mod@follow`]: the same count, live, on a growing, truncated or rotated file;
//! - [`mod@generate`]: a deterministic log generator, streaming (any size), whose answer key is
//!   built independently of `count`;
//! - [`mod@grade`]: compare a candidate's number with the counts and explain a wrong one;
//! - [`sandboxed`]: run a candidate's own command in a container on generated logs (post-hoc,
//!   and live on a growing, rotated log) and grade the numbers it prints;
//! - [`cli`]: the `assay logs …` subcommands.

pub mod cli;
pub mod count;
pub mod follow;
pub mod generate;
pub mod grade;
pub mod parse;
pub mod rule;
pub mod sandboxed;
mod scan;
mod tally;

pub use cli::{run, run_with, LogsCommand};
pub use count::{
    count, count_detailed, count_reference, count_with, decompressed, Alternatives, CountOptions,
    Counter, Counts,
};
pub use follow::{follow, FollowOptions};
pub use generate::{generate, generate_to, Generated};
pub use grade::{grade, Grade};
pub use parse::{parse_line, Entry, ParseError};
pub use rule::{Cidr, Rule, DEFAULT_BOT_MARKERS};
