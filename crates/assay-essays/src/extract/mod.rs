//! Text out of answer documents: one module per format, all producing [`Document`] blocks.
//!
//! Every extractor is bounded: input bytes, bytes decompressed, entries read, text produced and
//! (for PDF, whose parsers panic on malformed input) time, with panics caught. A document that
//! cannot be read becomes a located [`Diagnostic`], never a panic.

mod decode;
mod docx;
mod html;
mod markdown;
mod pdf;
mod text;

use assay_core::{Diagnostic, Location, RootErrorKind, SubmissionRoot};
use std::path::Path;
use std::time::Duration;

pub(crate) use decode::decode_text;

/// One block of extracted text: a heading or a run of body text (a paragraph, list item,
/// table row or, for plain text and PDF, one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// `Some(level)` for a structural heading (Markdown `#`, HTML `<h2>`, a Word heading style).
    pub heading: Option<u8>,
    pub text: String,
    /// 1-based source line where the format has lines (Markdown, HTML, plain text).
    pub line: Option<u32>,
    /// The block stands alone: blank lines around it (plain text, PDF) or its own paragraph.
    pub standalone: bool,
}

/// The format an answer document is read as, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Text,
    Html,
    Docx,
    Pdf,
}

impl Format {
    /// The format for a file name, by extension (case-insensitive); `None` for anything else.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
            "txt" | "text" => Format::Text,
            "html" | "htm" | "xhtml" => Format::Html,
            "docx" => Format::Docx,
            "pdf" => Format::Pdf,
            _ => return None,
        })
    }
}

/// The text of one document, as blocks in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Path relative to the submission root, `/`-separated.
    pub file: String,
    pub format: Format,
    pub blocks: Vec<Block>,
    /// Remarks made while reading (encoding fallback, truncation).
    pub diagnostics: Vec<Diagnostic>,
}

impl Document {
    /// All the document's text, one block per line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for b in &self.blocks {
            s.push_str(&b.text);
            s.push('\n');
        }
        s
    }

    /// Where a block is, for findings: file and line where the format has lines.
    pub fn location_of(&self, block: &Block) -> Location {
        match block.line {
            Some(line) => Location::at(self.file.clone(), line, 1),
            None => Location::file(self.file.clone()),
        }
    }
}

/// Caps on what reading one document may cost, whatever the document declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Largest document read at all (bytes on disk).
    pub max_file_bytes: u64,
    /// Largest text kept from one document (bytes of UTF-8); the rest is dropped with a warning.
    pub max_text_bytes: usize,
    /// Most entries a .docx (zip) may hold.
    pub max_zip_entries: usize,
    /// Most bytes decompressed from one .docx part, and from all parts together.
    pub max_part_bytes: u64,
    pub max_unzipped_bytes: u64,
    /// Most bytes a PDF's Flate streams may inflate to, together (checked before parsing).
    pub max_pdf_inflated_bytes: u64,
    /// Wall-clock budget of one PDF's text extraction.
    pub pdf_timeout: Duration,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            max_file_bytes: 32 * 1024 * 1024,
            max_text_bytes: 8 * 1024 * 1024,
            max_zip_entries: 2_000,
            max_part_bytes: 16 * 1024 * 1024,
            max_unzipped_bytes: 48 * 1024 * 1024,
            max_pdf_inflated_bytes: 256 * 1024 * 1024,
            pdf_timeout: Duration::from_secs(20),
        }
    }
}

/// Reads and extracts one document; `rel` is relative to `root`, and read through it (capped,
/// never through a link). An unreadable, oversized or malformed document is an `Err`
/// diagnostic located at the file.
pub fn extract_document(
    root: &SubmissionRoot,
    rel: &Path,
    limits: &ExtractLimits,
) -> Result<Document, Diagnostic> {
    let file = display_path(rel);
    let here = || Location::file(file.clone());
    let format = Format::from_path(rel).ok_or_else(|| {
        Diagnostic::warning("not an answer format assay reads (.md, .txt, .html, .docx, .pdf)")
            .at(here())
    })?;
    let bytes = root.read(rel, limits.max_file_bytes).map_err(|e| {
        match &e.kind {
            RootErrorKind::TooLarge { size, cap } => return too_big(&file, *size, *cap),
            RootErrorKind::Link { at } if *at == e.path => {
                Diagnostic::error(format!("answer document is not a regular file: {e}"))
            }
            RootErrorKind::NotAFile => Diagnostic::error(
                "answer document is not a regular file (a directory or a special file)",
            ),
            _ => Diagnostic::error(format!("cannot read answer document: {e}")),
        }
        .at(here())
    })?;
    extract_bytes(&file, format, &bytes, limits)
}

/// Extracts a document held in memory; `file` names it in diagnostics.
pub fn extract_bytes(
    file: &str,
    format: Format,
    bytes: &[u8],
    limits: &ExtractLimits,
) -> Result<Document, Diagnostic> {
    let mut diagnostics = Vec::new();
    let blocks = match format {
        Format::Markdown | Format::Text | Format::Html => {
            let (text, note) = decode_text(bytes);
            if let Some(note) = note {
                diagnostics.push(note.at(Location::file(file)));
            }
            match format {
                Format::Markdown => markdown::blocks(&text),
                Format::Html => html::blocks(&text),
                _ => text::blocks(&text),
            }
        }
        Format::Docx => docx::blocks(bytes, limits)
            .map_err(|m| Diagnostic::error(m).at(Location::file(file)))?,
        Format::Pdf => {
            pdf::blocks(bytes, limits).map_err(|m| Diagnostic::error(m).at(Location::file(file)))?
        }
    };
    let blocks = cap_text(blocks, limits.max_text_bytes, file, &mut diagnostics);
    Ok(Document {
        file: file.to_string(),
        format,
        blocks,
        diagnostics,
    })
}

fn too_big(file: &str, len: u64, cap: u64) -> Diagnostic {
    Diagnostic::error(format!(
        "answer document is {len} bytes, over the {cap}-byte limit; not read"
    ))
    .at(Location::file(file))
}

fn cap_text(
    blocks: Vec<Block>,
    max: usize,
    file: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Block> {
    let mut total = 0usize;
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        total += b.text.len() + 1;
        if total > max {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "document text is longer than {max} bytes; the rest is not read"
                ))
                .at(Location::file(file)),
            );
            break;
        }
        out.push(b);
    }
    out
}

/// A relative path as reports show it: `/`-separated.
pub(crate) fn display_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Collapses runs of white space into one space and trims; keeps the text on one line.
pub(crate) fn squash_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Offsets → 1-based line numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> u32 {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        u32::try_from(idx + 1).unwrap_or(u32::MAX)
    }
}
