//! The command layer: parse the arguments, call the library, print, and choose the exit code.
//! Only the modules here print to the terminal or pick an exit code; the library reports a
//! problem as an [`Error`] whose kind decides the code ([`Error::exit_code`]).

mod args;
mod compose;
mod evaluate;
mod images;
mod logs;
mod progress;
mod report;

pub use args::*;

use crate::error::Error;
use crate::exit::Exit;
use assay_core::display::terminal;
use assay_sandbox::Engine;
use clap::Parser;

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => Exit::Usage.code(),
            };
        }
    };
    run(cli).code()
}

/// Runs a parsed command line: the command's outcome, or its error on stderr and the error's
/// exit code.
pub fn run(cli: Cli) -> Exit {
    match dispatch(cli) {
        Ok(exit) => exit,
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    }
}

/// Every problem of `e` on a line of its own, made safe for a terminal.
fn print_error(e: &Error) {
    for line in e.lines() {
        eprintln!("error: {}", terminal(&line));
    }
}

fn dispatch(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Evaluate(args) => evaluate::run(args),
        Command::Compose(ComposeCommand::Config { path, format, env }) => {
            compose::config(&path, format, &env)
        }
        Command::Images {
            offline,
            rebuild,
            rubric,
        } => images::run(&load_rubric(rubric.as_deref())?, offline, rebuild),
        Command::Gc => images::gc(),
        Command::Kit { out, rubric } => {
            let rubric = load_rubric(rubric.as_deref())?;
            let n = crate::kit::write_kit(&rubric, &out)?;
            eprintln!("wrote {} ({n} files)", out.display());
            Ok(Exit::Pass)
        }
        Command::Logs(cmd) => logs::run(cmd),
        Command::Report(ReportCommand::Merge { dirs, out }) => report::merge(&dirs, &out),
        Command::Report(ReportCommand::Diff { old, new }) => report::diff(&old, &new),
        Command::ParseDocument => Ok(match assay_essays::child_main() {
            0 => Exit::Pass,
            _ => Exit::CouldNotGrade,
        }),
    }
}

/// The rubric named on the command line, or the built-in one; a bad file is a usage error.
fn load_rubric(path: Option<&std::path::Path>) -> Result<assay_core::Rubric, Error> {
    match path {
        None => Ok(crate::rubric::default_rubric()),
        Some(p) => crate::rubric::load(p).map_err(|e| Error::input(e.to_string())),
    }
}

/// Runs a command that needs the daemon: a runtime, a connected engine, `f`; a runtime or
/// connection failure is "could not grade" (exit 3).
fn with_engine<F, Fut>(f: F) -> Result<Exit, Error>
where
    F: FnOnce(Engine) -> Fut,
    Fut: std::future::Future<Output = Result<Exit, Error>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::host(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let engine = Engine::connect()
            .await
            .map_err(|e| Error::host(e.to_string()))?;
        f(engine).await
    })
}
