//! The `sample-webapp` binary: arguments in, exit status out; the work is in the library.

use sample_webapp::{config, healthcheck, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: sample-webapp               run the service (configured by environment variables)
       sample-webapp healthcheck   exit 0 when GET http://127.0.0.1:$PORT/health answers 200
       sample-webapp --version     print the version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = match args.as_slice() {
        [] => run_service(),
        ["--version" | "-V"] => {
            println!("sample-webapp {}", env!("CARGO_PKG_VERSION"));
            EXIT_OK
        }
        ["--help" | "-h"] => {
            println!("{USAGE}");
            EXIT_OK
        }
        ["healthcheck"] => run_healthcheck(),
        _ => {
            eprintln!("sample-webapp: unexpected arguments {args:?}\n{USAGE}");
            EXIT_USAGE
        }
    };
    ExitCode::from(code)
}

fn read_config() -> Result<config::Config, config::ConfigError> {
    config::from_env(&|name| std::env::var(name).ok())
}

fn run_service() -> u8 {
    let config = match read_config() {
        Ok(config) => config,
        Err(e) => {
            sample_webapp::log::error(
                &format!("configuration error: {e}"),
                json!({ "variable": e.var, "error": e.reason }),
            );
            return EXIT_FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            sample_webapp::log::error(
                "cannot start the async runtime",
                json!({ "error": e.to_string() }),
            );
            return EXIT_FAILURE;
        }
    };
    let code = runtime.block_on(sample_webapp::serve(config));
    // A DNS lookup stuck in a blocking thread must not hold the exit back.
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

fn run_healthcheck() -> u8 {
    let port = match config::listen_port(&|name| std::env::var(name).ok()) {
        Ok(port) => port,
        Err(e) => {
            println!("unhealthy: {e}");
            return EXIT_FAILURE;
        }
    };
    match healthcheck::check(port) {
        Ok(body) => {
            println!("healthy: {body}");
            EXIT_OK
        }
        Err(reason) => {
            println!("unhealthy: {reason}");
            EXIT_FAILURE
        }
    }
}
