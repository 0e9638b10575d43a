//! Fuzz target of the compose loader: arbitrary bytes become a compose file and its `.env`
//! (split at the first NUL byte), loaded and rendered. The loader must never panic and must stay
//! bounded in time and memory whatever the input.
#![no_main]

use assay_compose::{load_project, render_config, ConfigFormat, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let (compose, env) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("compose.yaml"), compose).is_err() || std::fs::write(dir.path().join(".env"), env).is_err() {
        return;
    }
    let loaded = load_project(dir.path(), Path::new("compose.yaml"), &LoadOptions::default());
    if let Some(project) = &loaded.project {
        let _ = render_config(project, ConfigFormat::Yaml);
        let _ = render_config(project, ConfigFormat::Json);
    }
    for d in &loaded.diagnostics {
        assert!(d.location.is_some(), "unlocated diagnostic: {d}");
    }
});
