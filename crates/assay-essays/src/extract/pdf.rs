//! .pdf → text layer (`pdf-extract` parses; [`TextSink`] decides spaces and lines). PDF parsers panic, loop and recurse on malformed input,
//! so extraction runs on its own thread with a large stack, inside `catch_unwind`, under a
//! wall-clock deadline; the input size is capped before parsing. A panic, an error or a
//! timeout is an error message for a diagnostic, never a crash of the grader.
//!
//! Memory: the input is capped, and every Flate stream is inflated once under a running cap
//! before the parser sees the file (a compression bomb is refused). Limits of in-process
//! isolation: a timed-out extraction thread is abandoned (it cannot be killed), and other
//! filters (LZW, RunLength) are not pre-checked; a child process with rlimits would bound both.

use super::{text::lines_to_blocks, Block, ExtractLimits};
use std::io::Read;
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
    check_stream_expansion(bytes, limits.max_pdf_inflated_bytes)?;
    let (text, pages) = extract_isolated(bytes.to_vec(), limits)?;
    let lines = join_hyphenated_lines(&text);
    let out = lines_to_blocks(lines.iter().map(|l| (None, l.as_str())));
    if out.is_empty() && pages > 0 {
        return Err(format!(
            "the PDF's {pages} page(s) have no text layer (scanned images?); assay does not OCR"
        ));
    }
    Ok(out)
}

/// Collects the text layer with spacing decided per character: a gap wider than 0.15 em
/// between two glyphs is a space, whether the PDF wrote a space character or positioned the
/// next word (character spacing, `TJ` offsets, as ps2pdf and justified layouts do); a jump of
/// more than half a line down (and back left) is a new line, of about two lines a blank one.
struct TextSink {
    out: String,
    pages: u32,
    flip: pdf_extract::Transform,
    last_end: f64,
    last_y: f64,
    started: bool,
}

impl TextSink {
    fn new() -> Self {
        TextSink {
            out: String::new(),
            pages: 0,
            flip: pdf_extract::Transform::identity(),
            last_end: 0.0,
            last_y: 0.0,
            started: false,
        }
    }
}

impl pdf_extract::OutputDev for TextSink {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &pdf_extract::MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.flip =
            pdf_extract::Transform::row_major(1., 0., 0., -1., 0., media_box.ury - media_box.lly);
        if self.pages > 0 {
            self.out.push_str("\n\n");
        }
        self.pages += 1;
        self.started = false;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        let pos = trm.post_transform(&self.flip);
        let vx = font_size * (trm.m11 + trm.m21);
        let vy = font_size * (trm.m12 + trm.m22);
        let mut em = (vx * vy).abs().sqrt();
        if !em.is_finite() || em <= 0.0 {
            em = 1.0;
        }
        let (x, y) = (pos.m31, pos.m32);
        if self.started {
            let dy = (y - self.last_y).abs();
            if dy > em * 1.9 {
                self.out.push_str("\n\n");
            } else if dy > em * 1.5 || (dy > em * 0.5 && x < self.last_end) {
                self.out.push('\n');
            } else if x > self.last_end + em * 0.15 && !self.out.ends_with(char::is_whitespace) {
                self.out.push(' ');
            }
        }
        for c in text.chars() {
            match c {
                // Typographic ligatures back to letters, so words compare as typed.
                '\u{FB00}' => self.out.push_str("ff"),
                '\u{FB01}' => self.out.push_str("fi"),
                '\u{FB02}' => self.out.push_str("fl"),
                '\u{FB03}' => self.out.push_str("ffi"),
                '\u{FB04}' => self.out.push_str("ffl"),
                c if c.is_control() && c != '\n' => self.out.push(' '),
                c => self.out.push(c),
            }
        }
        self.started = true;
        self.last_y = y;
        self.last_end = x + width * em;
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }
}

/// Parses the PDF (decrypting it when it opens with the empty password) and collects its text.
fn extract_text(bytes: &[u8]) -> Result<(String, u32), pdf_extract::OutputError> {
    let mut doc = pdf_extract::Document::load_mem(bytes)?;
    if doc.is_encrypted() {
        doc.decrypt("")?;
    }
    let mut sink = TextSink::new();
    pdf_extract::output_doc(&doc, &mut sink)?;
    Ok((sink.out, sink.pages))
}

/// Re-joins words hyphenated at a line end (`infra-` / `structure`), as typesetters (LaTeX)
/// break them: the pieces become one hyphenated word again instead of two.
fn join_hyphenated_lines(page: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut joining = false;
    for line in page.lines() {
        let line = line.trim();
        match out.last_mut() {
            Some(prev) if joining && line.starts_with(|c: char| c.is_lowercase()) => {
                prev.push_str(line)
            }
            _ => out.push(line.to_string()),
        }
        let last = out.last().map(String::as_str).unwrap_or("");
        let mut tail = last.chars().rev();
        joining = tail.next() == Some('-') && tail.next().is_some_and(char::is_alphabetic);
    }
    out
}

/// Inflates every stream that inflates (Flate) with a running total, so a compression bomb
/// inside a PDF is refused before the parser inflates it without a limit.
fn check_stream_expansion(bytes: &[u8], max_total: u64) -> Result<(), String> {
    let mut total = 0u64;
    let mut pos = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(p) = find(&bytes[pos..], b"stream") {
        let keyword = pos + p;
        let mut start = keyword + b"stream".len();
        pos = start;
        if bytes[..keyword].ends_with(b"end") {
            continue;
        }
        if bytes.get(start) == Some(&b'\r') {
            start += 1;
        }
        if bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        let end = find(&bytes[start..], b"endstream").map_or(bytes.len(), |e| start + e);
        let mut inflater = flate2::read::ZlibDecoder::new(&bytes[start..end]);
        loop {
            match inflater.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n as u64;
                    if total > max_total {
                        return Err(format!(
                            "the PDF's compressed streams expand beyond {max_total} bytes (compression bomb?); not read"
                        ));
                    }
                }
            }
        }
        pos = end;
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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

fn extract_isolated(bytes: Vec<u8>, limits: &ExtractLimits) -> Result<(String, u32), String> {
    quiet_extraction_panics();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| extract_text(&bytes)));
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start PDF extraction: {e}"));
    }
    match rx.recv_timeout(limits.pdf_timeout) {
        Ok(Ok(Ok(text))) => Ok(text),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_hyphenated_at_line_ends_are_rejoined() {
        assert_eq!(
            join_hyphenated_lines(
                "we moved the infra-\nstructure to state-of-the-\nart tooling -\nNew line\n"
            ),
            vec![
                "we moved the infra-structure to state-of-the-art tooling -",
                "New line"
            ]
        );
        let n: usize = join_hyphenated_lines("infra-\nstructure and post-\n\nThen")
            .iter()
            .map(|l| crate::count_words(l))
            .sum();
        assert_eq!(n, 4);
    }
}
