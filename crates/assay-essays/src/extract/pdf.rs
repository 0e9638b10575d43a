//! .pdf → text layer (`pdf-extract`). PDF parsers panic, loop and recurse on malformed input,
//! so extraction runs on its own thread with a large stack, inside `catch_unwind`, under a
//! wall-clock deadline; the input size is capped before parsing. A panic, an error or a
//! timeout is an error message for a diagnostic, never a crash of the grader.
//!
//! Limits of in-process isolation: a timed-out extraction thread is abandoned (it cannot be
//! killed) and memory is bounded only by the input cap; a child process would bound both.

use super::{text::lines_to_blocks, Block, ExtractLimits};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Once};

pub(crate) fn blocks(bytes: &[u8], limits: &ExtractLimits) -> Result<Vec<Block>, String> {
    if !bytes.starts_with(b"%PDF-")
        && !bytes[..bytes.len().min(1024)]
            .windows(5)
            .any(|w| w == b"%PDF-")
    {
        return Err("not a PDF: no %PDF- header".to_string());
    }
    let pages = extract_pages_isolated(bytes.to_vec(), limits)?;
    let mut out = Vec::new();
    for page in &pages {
        out.extend(lines_to_blocks(page.lines().map(|l| (None, l))));
    }
    if out.is_empty() && !pages.is_empty() {
        return Err(format!(
            "the PDF's {} page(s) have no text layer (scanned images?); assay does not OCR",
            pages.len()
        ));
    }
    Ok(out)
}

/// Name of the extraction thread; its panics are expected and kept off stderr.
const THREAD_NAME: &str = "assay-pdf-extract";

/// Installs (once per process) a panic hook that stays silent for the PDF extraction thread,
/// whose panics are caught and reported as diagnostics, and defers to the previous hook for
/// every other thread.
fn quiet_extraction_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(THREAD_NAME) {
                previous(info);
            }
        }));
    });
}

fn extract_pages_isolated(bytes: Vec<u8>, limits: &ExtractLimits) -> Result<Vec<String>, String> {
    quiet_extraction_panics();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                pdf_extract::extract_text_from_mem_by_pages(&bytes)
            }));
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start PDF extraction: {e}"));
    }
    match rx.recv_timeout(limits.pdf_timeout) {
        Ok(Ok(Ok(pages))) => Ok(pages),
        Ok(Ok(Err(e))) => Err(format!("malformed PDF: {e}")),
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(format!(
                "malformed PDF: the PDF parser gave up ({})",
                crate::truncate_chars(&msg, 200)
            ))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "PDF text extraction did not finish within {} s; the document is not read",
            limits.pdf_timeout.as_secs()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("malformed PDF: the PDF parser stopped".to_string())
        }
    }
}
