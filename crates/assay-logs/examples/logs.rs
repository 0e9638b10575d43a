//! `assay logs …` without the rest of assay: the binary `benches/count_speed.sh` times when no
//! `ASSAY_BIN` is given, so the benchmark builds this crate only (the full `assay` release
//! build takes many times longer). `count` and `generate` behave exactly as under `assay logs`
//! (the same [`assay_logs::run`]); `follow` ends with the process here, without the final
//! count `assay logs follow` prints on Ctrl-C.
//!
//! `cargo run --release -p assay-logs --example logs -- count access.log --own 10.0.0.0/8`

use clap::Parser;

#[derive(Parser)]
#[command(name = "logs", about = "assay logs, for benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: assay_logs::LogsCommand,
}

fn main() {
    let cli = Cli::parse();
    let code = match assay_logs::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    };
    std::process::exit(code);
}
