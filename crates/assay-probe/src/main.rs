//! `assay-probe`: see the library docs. Prints one JSON object; exit 0 unless the usage is wrong.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(
        args.first().map(String::as_str),
        Some("-h" | "--help" | "help")
    ) {
        println!("{}", assay_probe::USAGE);
        return;
    }
    // `meter` runs until the container is killed; it needs no runtime.
    if args.first().map(String::as_str) == Some("meter") {
        match assay_probe::meter::parse_args(&args[1..]) {
            Ok((dir, every)) => assay_probe::meter::run(&dir, every),
            Err(e) => {
                eprintln!("assay-probe: {e}\n{}", assay_probe::USAGE);
                std::process::exit(2);
            }
        }
    }
    // `serve` takes no arguments: its requests come on stdin.
    let cmd = if args.len() == 1 && args[0] == "serve" {
        None
    } else {
        match assay_probe::parse(&args) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("assay-probe: {e}\n{}", assay_probe::USAGE);
                std::process::exit(2);
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            println!(
                "{}",
                assay_probe::failure(format!("cannot start the runtime: {e}")).to_json()
            );
            return;
        }
    };
    let Some(cmd) = cmd else {
        runtime.block_on(assay_probe::serve::serve(
            tokio::io::BufReader::new(tokio::io::stdin()),
            tokio::io::stdout(),
        ));
        return;
    };
    let result = runtime.block_on(assay_probe::run(cmd));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", result.to_json());
    let _ = out.flush();
}
