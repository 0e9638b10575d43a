//! Prints the diagnostics and the resolved config of a compose file, like `docker compose config`.
//!
//! `cargo run -p assay-compose --example compose_config -- ROOT FILE [yaml|json]`

use assay_compose::{load_project, render_config, ConfigFormat, LoadOptions};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: compose_config ROOT FILE [yaml|json]");
        std::process::exit(2);
    }
    let format = if args.get(3).map(String::as_str) == Some("json") {
        ConfigFormat::Json
    } else {
        ConfigFormat::Yaml
    };
    let loaded = load_project(
        Path::new(&args[1]),
        Path::new(&args[2]),
        &LoadOptions::default(),
    );
    for d in &loaded.diagnostics {
        eprintln!("{:?}: {d}", d.severity);
    }
    if let Some(p) = &loaded.project {
        print!("{}", render_config(p, format));
    }
    std::process::exit(i32::from(loaded.has_errors()));
}
