//! assay grades DevOps take-home submissions.
//!
//! The pipeline runs in one direction, each stage a function from one type to the next:
//!
//! 1. **intake** (`assay-intake`): the submission (.zip, directory or git checkout) is unpacked
//!    or copied into a private temp dir under caps on entries, bytes actually written, depth and
//!    names; its files are discovered (compose file, `.env`, answer documents, Dockerfiles,
//!    Kubernetes manifests).
//! 2. **facts**: the compose project is loaded exactly as Docker Compose loads it
//!    (`assay-compose`); answer documents become text, matched to questions and counted
//!    (`assay-essays`).
//! 3. **checks**: static checks turn facts into [`assay_core::CheckResult`]s (`assay-checks`);
//!    the runner (`assay-runner`) plans the stack, runs it through the one Docker layer
//!    (`assay-sandbox`, which also prepares the images) and grades the `runtime.*` checks.
//! 4. **verdict** ([`verdict`]): rubric weights and required checks give a score and PASS/FAIL;
//!    a reviewer's [`overrides`] (a check credited or waived, with a reason) recompute it, the
//!    verdict before them kept.
//! 5. **report** ([`report`]): human, JSON, Markdown, JUnit and HTML renderers.
//!
//! Every string a submission controls (names, compose values, logs, build output, errors) is
//! made safe to show by one module, [`assay_core::display`]: one sanitiser and one encoder per
//! output (terminal, HTML, Markdown, XML, CSV, CI annotations, JSON, YAML).
//!
//! The command layer ([`cmd`]) is the only part that prints to the terminal or chooses an exit
//! code: it parses the arguments, calls the library, prints, and maps the outcome (or the
//! library's one [`error::Error`], by its kind) to an exit code ([`exit::Exit`]). The library
//! modules never import it.

pub mod batch;
pub mod cmd;
pub mod error;
pub mod evaluate;
pub mod excerpt;
pub mod exit;
pub mod images;
pub mod kit;
pub mod overrides;
pub mod report;
pub mod rubric;
pub mod runtime;
pub mod say;
pub mod verdict;
