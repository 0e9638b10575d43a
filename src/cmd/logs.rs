//! `assay logs …`: the log-parsing exercise kit (`assay-logs`), with its signals handled here.

use crate::error::Error;
use crate::exit::Exit;

/// `assay logs …`. For `follow`, Ctrl-C or SIGTERM ends the watch with its final count; for
/// `grade --command`, it stops the grading and removes its containers (the other subcommands
/// keep the default: the signal ends them at once).
pub(super) fn run(cmd: assay_logs::LogsCommand) -> Result<Exit, Error> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    let runtime = matches!(
        cmd,
        assay_logs::LogsCommand::Follow { .. }
            | assay_logs::LogsCommand::Grade {
                command: Some(_),
                ..
            }
            | assay_logs::LogsCommand::Grade {
                script: Some(_),
                ..
            }
    )
    .then(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .ok()
    })
    .flatten();
    #[cfg(unix)]
    if let Some(rt) = &runtime {
        use tokio::signal::unix::{signal, SignalKind};
        // Registered here, before the watch starts, so no early signal slips past.
        let _entered = rt.enter();
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            let flag = cancel.clone();
            rt.spawn(async move {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
                flag.store(true, Ordering::SeqCst);
            });
        }
    }
    let stdout = std::io::stdout();
    let result = assay_logs::run_with(cmd, &mut stdout.lock(), &cancel);
    drop(runtime);
    match result.map_err(|e| Error::usage(e.to_string()))? {
        0 => Ok(Exit::Pass),
        3 => Ok(Exit::CouldNotGrade),
        _ => Ok(Exit::Fail),
    }
}
