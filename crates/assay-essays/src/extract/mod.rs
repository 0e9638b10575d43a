//! Text out of answer documents: one module per format, all producing [`Document`] blocks.
//!
//! Every extractor is bounded: input bytes, bytes decompressed (every PDF filter chain, every
//! .docx part), entries read, text produced, with panics caught. PDF and .docx, whose parsers
//! are deep and fed hostile bytes, are read through an [`Extractor`]: in a child process with
//! memory, CPU-time and wall-clock limits ([`process`]), so that no document takes the grader
//! down. A document that cannot be read becomes a located [`Diagnostic`], never a panic.

mod decode;
mod docx;
mod html;
mod markdown;
mod pdf;
mod pdf_filters;
pub mod process;
mod text;

use assay_core::{Diagnostic, Location, RootErrorKind, SubmissionRoot};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

pub(crate) use decode::decode_text;
pub use process::{child_main, ParserCommand};

/// One block of extracted text: a heading or a run of body text (a paragraph, list item,
/// table row or, for plain text and PDF, one line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// Whether an [`Extractor`] parses this format in its child process (PDF and .docx: deep
    /// parsers of binary input); the others are read in-process, linearly and capped.
    pub fn is_isolated(self) -> bool {
        matches!(self, Format::Docx | Format::Pdf)
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Most bytes a PDF's streams may decode to, every stage of every filter chain together
    /// (measured before the parser decodes them).
    pub max_pdf_inflated_bytes: u64,
    /// Address space of the parser child (PDF, .docx): its memory, mappings included.
    pub parser_memory_bytes: u64,
    /// CPU time of the parser child (whole seconds, at least one).
    pub parser_cpu: Duration,
    /// Wall-clock budget of one document in the parser child; it is killed then.
    pub parser_timeout: Duration,
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
            parser_memory_bytes: 512 * 1024 * 1024,
            parser_cpu: Duration::from_secs(20),
            parser_timeout: Duration::from_secs(20),
        }
    }
}

/// How answer documents are read: the caps, and the child process PDF and .docx are parsed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extractor {
    pub limits: ExtractLimits,
    pub parser: ParserCommand,
}

impl Extractor {
    /// Default limits, PDF and .docx parsed by `parser`.
    pub fn new(parser: ParserCommand) -> Self {
        Extractor {
            limits: ExtractLimits::default(),
            parser,
        }
    }
}

/// Why a document gave no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// The document cannot be read (missing, oversized, malformed, over a parser limit): a
    /// diagnostic located at the file. The candidate's.
    Document(Diagnostic),
    /// assay could not run its parser (the child would not start, or answered nonsense): not
    /// the candidate's doing, so not a reason to fail them.
    Fault(String),
}

/// Blocks as a parser produced them, cut to the text cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Parsed {
    blocks: Vec<Block>,
    /// Text was dropped at the cap.
    truncated: bool,
}

/// Reads and extracts one document; `rel` is relative to `root`, and read through it (capped,
/// never through a link). PDF and .docx are parsed in
/// the extractor's child process; an unreadable, oversized or malformed document is a
/// [`ExtractError::Document`] diagnostic located at the file.
pub fn extract_document(
    root: &SubmissionRoot,
    rel: &Path,
    extractor: &Extractor,
) -> Result<Document, ExtractError> {
    let limits = &extractor.limits;
    let file = display_path(rel);
    let here = || Location::file(file.clone());
    let unread = |d: Diagnostic| ExtractError::Document(d);
    let format = Format::from_path(rel).ok_or_else(|| {
        unread(
            Diagnostic::warning("not an answer format assay reads (.md, .txt, .html, .docx, .pdf)")
                .at(here()),
        )
    })?;
    let bytes = root
        .read(rel, limits.max_file_bytes)
        .map_err(|e| {
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
        })
        .map_err(unread)?;
    if !format.is_isolated() {
        return extract_bytes(&file, format, &bytes, limits).map_err(unread);
    }
    match process::parse_in_child(&extractor.parser, format, &bytes, limits) {
        Ok(parsed) => Ok(document(&file, format, parsed, Vec::new(), limits)),
        Err(process::ChildError::Document(m)) => Err(unread(Diagnostic::error(m).at(here()))),
        Err(process::ChildError::Fault(m)) => Err(ExtractError::Fault(format!("{file}: {m}"))),
    }
}

/// Extracts a document held in memory, in this process; `file` names it in diagnostics.
///
/// Every format's caps apply, but PDF and .docx parsing is not bounded in time or in the
/// parser's own memory here: graders read documents through [`extract_document`], which runs
/// those in the [`Extractor`]'s child. This is what that child runs.
pub fn extract_bytes(
    file: &str,
    format: Format,
    bytes: &[u8],
    limits: &ExtractLimits,
) -> Result<Document, Diagnostic> {
    let mut notes = Vec::new();
    let parsed = match format {
        Format::Markdown | Format::Text | Format::Html => {
            let (text, note) = decode_text(bytes);
            notes.extend(note);
            let blocks = match format {
                Format::Markdown => markdown::blocks(&text),
                Format::Html => html::blocks(&text),
                _ => text::blocks(&text),
            };
            cap_blocks(blocks, limits.max_text_bytes)
        }
        Format::Docx | Format::Pdf => parse_isolated_format(format, bytes, limits)
            .map_err(|m| Diagnostic::error(m).at(Location::file(file)))?,
    };
    Ok(document(file, format, parsed, notes, limits))
}

/// A parser's error that means it ran out of memory (the child's limit), not that the document
/// is malformed; the child replaces it with the limit it hit.
pub(crate) const MEMORY_EXHAUSTED: &str = "memory exhausted";

/// PDF and .docx: what the parser child runs.
pub(crate) fn parse_isolated_format(
    format: Format,
    bytes: &[u8],
    limits: &ExtractLimits,
) -> Result<Parsed, String> {
    let (blocks, stopped) = match format {
        Format::Docx => (docx::blocks(bytes, limits)?, false),
        Format::Pdf => pdf::blocks(bytes, limits)?,
        other => return Err(format!("{other:?} is not parsed in the parser child")),
    };
    let mut parsed = cap_blocks(blocks, limits.max_text_bytes);
    parsed.truncated |= stopped;
    Ok(parsed)
}

/// The document: notes located at the file, and a warning when text was cut at the cap.
fn document(
    file: &str,
    format: Format,
    parsed: Parsed,
    notes: Vec<Diagnostic>,
    limits: &ExtractLimits,
) -> Document {
    let mut diagnostics: Vec<Diagnostic> = notes
        .into_iter()
        .map(|n| n.at(Location::file(file)))
        .collect();
    if parsed.truncated {
        diagnostics.push(
            Diagnostic::warning(format!(
                "document text is longer than {} bytes; the rest is not read",
                limits.max_text_bytes
            ))
            .at(Location::file(file)),
        );
    }
    Document {
        file: file.to_string(),
        format,
        blocks: parsed.blocks,
        diagnostics,
    }
}

fn too_big(file: &str, len: u64, cap: u64) -> Diagnostic {
    Diagnostic::error(format!(
        "answer document is {len} bytes, over the {cap}-byte limit; not read"
    ))
    .at(Location::file(file))
}

/// Blocks up to `max` bytes of text (a newline counted per block).
fn cap_blocks(blocks: Vec<Block>, max: usize) -> Parsed {
    let mut total = 0usize;
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        total += b.text.len() + 1;
        if total > max {
            return Parsed {
                blocks: out,
                truncated: true,
            };
        }
        out.push(b);
    }
    Parsed {
        blocks: out,
        truncated: false,
    }
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
