//! .pdf → text layer (`pdf-extract` parses; [`TextSink`] decides spaces and lines).
//!
//! PDF parsers panic, loop, recurse and allocate without limit on hostile input. This module is
//! bounded where it can be: the input size is capped before parsing, every stream's filter chain
//! is measured under a budget before the parser decodes it (`pdf_filters`: once over the raw
//! bytes, once over the parsed objects), the text kept is capped, and panics are caught (on a
//! thread with a large stack, joined). What it cannot bound (time, the parser's own memory,
//! recursion) is bounded by the process it runs in: the grader runs it in a child process with
//! memory and CPU limits and a wall-clock deadline (`process.rs`).

use super::pdf_filters::{self, Budget};
use super::{text::lines_to_blocks, Block, ExtractLimits};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// The text layer as blocks, and whether it was cut at the text cap.
pub(crate) fn blocks(bytes: &[u8], limits: &ExtractLimits) -> Result<(Vec<Block>, bool), String> {
    if !bytes.starts_with(b"%PDF-")
        && !bytes[..bytes.len().min(1024)]
            .windows(5)
            .any(|w| w == b"%PDF-")
    {
        return Err("not a PDF: no %PDF- header".to_string());
    }
    pdf_filters::check_raw(bytes, limits.max_pdf_inflated_bytes)?;
    let layer = extract_caught(bytes, limits)?;
    let lines = join_hyphenated_lines(&layer.text);
    let out = lines_to_blocks(lines.iter().map(|l| (None, l.as_str())));
    if out.is_empty() && layer.pages > 0 {
        return Err(format!(
            "the PDF's {} page(s) have no text layer (scanned images?); assay does not OCR",
            layer.pages
        ));
    }
    Ok((out, layer.truncated))
}

/// What the parser wrote: the text, the pages it saw, whether the text cap stopped it.
struct Layer {
    text: String,
    pages: u32,
    truncated: bool,
}

/// Collects the text layer with spacing decided per character: a gap wider than 0.15 em
/// between two glyphs is a space, whether the PDF wrote a space character or positioned the
/// next word (character spacing, `TJ` offsets, as ps2pdf and justified layouts do); a jump of
/// more than half a line down (and back left) is a new line, of about two lines a blank one.
struct TextSink {
    out: String,
    /// Text beyond this many bytes stops the parser (the rest is not read).
    max_bytes: usize,
    truncated: bool,
    pages: u32,
    flip: pdf_extract::Transform,
    last_end: f64,
    last_y: f64,
    started: bool,
}

impl TextSink {
    fn new(max_bytes: usize) -> Self {
        TextSink {
            out: String::new(),
            max_bytes,
            truncated: false,
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
        if self.out.len() > self.max_bytes {
            // Repeated form XObjects can write without end; stop the parser here.
            self.truncated = true;
            return Err(pdf_extract::OutputError::FormatError(std::fmt::Error));
        }
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

/// Why the text could not be had: the parser's error, or a stream over the decoding budget.
enum Failure {
    Parser(pdf_extract::OutputError),
    Bomb(String),
}

impl From<pdf_extract::OutputError> for Failure {
    fn from(e: pdf_extract::OutputError) -> Self {
        Failure::Parser(e)
    }
}

impl From<pdf_extract::Error> for Failure {
    fn from(e: pdf_extract::Error) -> Self {
        Failure::Parser(e.into())
    }
}

/// Parses the PDF (decrypting it when it opens with the empty password), measures every stream
/// object as the parser will decode it, and collects the text.
fn extract_text(bytes: &[u8], limits: &ExtractLimits) -> Result<Layer, Failure> {
    let mut doc = pdf_extract::Document::load_mem(bytes)?;
    if doc.is_encrypted() {
        doc.decrypt("")?;
    }
    check_loaded_streams(&doc, limits.max_pdf_inflated_bytes).map_err(Failure::Bomb)?;
    let mut sink = TextSink::new(limits.max_text_bytes);
    match pdf_extract::output_doc(&doc, &mut sink) {
        Err(_) if sink.truncated => {}
        r => r?,
    }
    Ok(Layer {
        text: sink.out,
        pages: sink.pages,
        truncated: sink.truncated,
    })
}

/// The exact pass: each stream object's own filters and content (decrypted), as the parser
/// reads them, under one budget.
fn check_loaded_streams(doc: &pdf_extract::Document, max_total: u64) -> Result<(), String> {
    use pdf_extract::Object;
    let budget = Budget::new(max_total);
    for object in doc.objects.values() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let Ok(filters) = stream.filters() else {
            continue;
        };
        let early_change = stream
            .dict
            .get(b"DecodeParms")
            .and_then(Object::as_dict)
            .and_then(|p| p.get(b"EarlyChange"))
            .and_then(Object::as_i64)
            .map_or(true, |v| v != 0);
        pdf_filters::measure(&filters, early_change, &stream.content, &budget);
        if budget.exceeded() {
            return Err(pdf_filters::too_much(max_total));
        }
    }
    Ok(())
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

/// Runs the parser on a thread of its own with a large stack (the parser recurses), catching
/// its panics, and waits for it: nothing is left running. Time is bounded by the process this
/// runs in (the grader's parser child), not here.
fn extract_caught(bytes: &[u8], limits: &ExtractLimits) -> Result<Layer, String> {
    quiet_extraction_panics();
    let outcome = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .stack_size(64 * 1024 * 1024)
            .spawn_scoped(scope, || {
                catch_unwind(AssertUnwindSafe(|| extract_text(bytes, limits)))
            })
            .map(|handle| handle.join())
    });
    match outcome {
        Err(e) => Err(format!("cannot start PDF extraction: {e}")),
        Ok(Ok(Ok(Ok(layer)))) => Ok(layer),
        Ok(Ok(Ok(Err(Failure::Bomb(msg))))) => Err(msg),
        Ok(Ok(Ok(Err(Failure::Parser(e))))) => Err(format!("malformed PDF: {e}")),
        Ok(Ok(Err(panic))) | Ok(Err(panic)) => {
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
