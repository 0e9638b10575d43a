//! .docx → text: a zip of XML parts. Reads `word/document.xml` (paragraphs, tables) and the
//! footnotes/endnotes it references; nothing is executed. Bounded: entries in the archive,
//! bytes decompressed per part and in total (counted while reading, whatever the archive
//! declares), so a zip bomb is an error, not an exhaustion; and the text produced (a note
//! referenced again and again is copied each time), so a reference bomb is cut at the text cap.

use super::{Block, ExtractLimits};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::HashMap;
use std::io::{Cursor, Read};

pub(crate) fn blocks(bytes: &[u8], limits: &ExtractLimits) -> Result<Vec<Block>, String> {
    let entries =
        declared_entries(bytes).ok_or("not a .docx: no zip end-of-central-directory record")?;
    if entries > limits.max_zip_entries {
        return Err(format!(
            "not a plausible .docx: {entries} zip entries (limit {})",
            limits.max_zip_entries
        ));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable .docx (zip): {e}"))?;
    if zip.len() > limits.max_zip_entries {
        return Err(format!(
            "not a plausible .docx: {} zip entries (limit {})",
            zip.len(),
            limits.max_zip_entries
        ));
    }
    let mut budget = limits.max_unzipped_bytes;
    let document = read_part(
        &mut zip,
        "word/document.xml",
        limits.max_part_bytes,
        &mut budget,
    )?
    .ok_or("not a .docx: word/document.xml is missing")?;
    let mut notes = HashMap::new();
    for (part, kind) in [
        ("word/footnotes.xml", NoteKind::Foot),
        ("word/endnotes.xml", NoteKind::End),
    ] {
        if let Some(xml) = read_part(&mut zip, part, limits.max_part_bytes, &mut budget)? {
            for (id, text) in parse_notes(&xml, kind).map_err(|e| format!("{part}: {e}"))? {
                notes.insert((kind, id), text);
            }
        }
    }
    parse_body(&document, &notes, limits.max_text_bytes)
        .map_err(|e| format!("word/document.xml: {e}"))
}

/// The entry count the end-of-central-directory record declares (zip64 → `usize::MAX`).
fn declared_entries(bytes: &[u8]) -> Option<usize> {
    const SIG: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    if bytes.len() < 22 {
        return None;
    }
    let lowest = bytes.len().saturating_sub(22 + 65_535);
    let mut i = bytes.len() - 22;
    loop {
        if bytes[i..i + 4] == SIG {
            let n = u16::from_le_bytes([bytes[i + 10], bytes[i + 11]]);
            return Some(if n == u16::MAX {
                usize::MAX
            } else {
                usize::from(n)
            });
        }
        if i == lowest {
            return None;
        }
        i -= 1;
    }
}

/// Reads one part, counting decompressed bytes as they come. `Ok(None)`: no such part.
fn read_part(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    max_part: u64,
    budget: &mut u64,
) -> Result<Option<String>, String> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("{name}: cannot read: {e}")),
    };
    let cap = max_part.min(*budget);
    let mut buf = Vec::new();
    let n = file
        .take(cap.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| {
            // The inflater reports a failed allocation as an error rather than aborting.
            if e.kind() == std::io::ErrorKind::OutOfMemory
                || e.to_string().contains("out of memory")
            {
                super::MEMORY_EXHAUSTED.to_string()
            } else {
                format!("{name}: cannot decompress: {e}")
            }
        })? as u64;
    if n > cap {
        return Err(format!(
            "{name} expands beyond {cap} bytes (zip bomb?); the document is not read"
        ));
    }
    *budget -= n;
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| format!("{name} is not UTF-8 XML"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum NoteKind {
    Foot,
    End,
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&c| c == b':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

fn attr(e: &BytesStart, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| local(a.key.as_ref()) == key)
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// A finished paragraph: text, heading level, footnote/endnote references.
type Paragraph = (String, Option<u8>, Vec<(NoteKind, String)>);

/// Walks WordprocessingML paragraphs, calling back per finished paragraph.
struct Walker {
    cur: String,
    heading: Option<u8>,
    in_text: bool,
    skip_depth: usize,
    refs: Vec<(NoteKind, String)>,
}

impl Walker {
    fn new() -> Self {
        Walker {
            cur: String::new(),
            heading: None,
            in_text: false,
            skip_depth: 0,
            refs: Vec::new(),
        }
    }

    /// Feeds one event; returns a finished paragraph (text, heading level, note references).
    fn feed(&mut self, ev: &Event) -> Result<Option<Paragraph>, String> {
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.name();
                let l = local(name.as_ref());
                match l {
                    // Deleted text, field instructions, and the legacy copy of a text box
                    // (`mc:Fallback` repeats what `mc:Choice` holds): not read twice or at all.
                    b"delText" | b"instrText" | b"Fallback" if !empty => self.skip_depth += 1,
                    b"t" if !empty => self.in_text = true,
                    // A paragraph nested in this one (a text box): keep the words apart.
                    b"p" if !empty && !self.cur.is_empty() => self.cur.push(' '),
                    b"tab" => self.cur.push(' '),
                    b"br" | b"cr" => self.cur.push(' '),
                    b"tc" if !empty => self.cur.push(' '),
                    b"pStyle" => {
                        self.heading = self
                            .heading
                            .or_else(|| attr(e, b"val").and_then(|v| heading_style(&v)))
                    }
                    b"outlineLvl" => {
                        if let Some(v) = attr(e, b"val").and_then(|v| v.parse::<u8>().ok()) {
                            self.heading = Some(v.saturating_add(1).min(9));
                        }
                    }
                    b"footnoteReference" => self
                        .refs
                        .extend(attr(e, b"id").map(|id| (NoteKind::Foot, id))),
                    b"endnoteReference" => self
                        .refs
                        .extend(attr(e, b"id").map(|id| (NoteKind::End, id))),
                    _ => {}
                }
            }
            Event::End(e) => {
                let name = e.name();
                match local(name.as_ref()) {
                    b"delText" | b"instrText" | b"Fallback" => {
                        self.skip_depth = self.skip_depth.saturating_sub(1)
                    }
                    b"t" => self.in_text = false,
                    b"p" => {
                        let text = super::squash_ws(&self.cur);
                        self.cur.clear();
                        let heading = self.heading.take();
                        let refs = std::mem::take(&mut self.refs);
                        return Ok(Some((text, heading, refs)));
                    }
                    _ => {}
                }
            }
            Event::Text(t) if self.in_text && self.skip_depth == 0 => {
                self.cur.push_str(&t.decode().map_err(|e| e.to_string())?);
            }
            Event::CData(t) if self.in_text && self.skip_depth == 0 => {
                self.cur.push_str(&String::from_utf8_lossy(t));
            }
            Event::GeneralRef(r) if self.in_text && self.skip_depth == 0 => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    self.cur.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let s = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    self.cur.push_str(s);
                }
            }
            _ => {}
        }
        Ok(None)
    }
}

/// Style ids Word uses for headings: `Heading1`…`Heading9`, `heading 2`, `Title`.
fn heading_style(id: &str) -> Option<u8> {
    let lower = id.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    let rest = lower.strip_prefix("heading")?.trim();
    rest.parse::<u8>().ok().filter(|n| (1..=9).contains(n))
}

fn parse_notes(xml: &str, kind: NoteKind) -> Result<Vec<(String, String)>, String> {
    let _ = kind;
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let mut walker = Walker::new();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match &ev {
            Event::Eof => break,
            Event::Start(e) if matches!(local(e.name().as_ref()), b"footnote" | b"endnote") => {
                let id = attr(e, b"id").unwrap_or_default();
                current = Some((id, Vec::new()));
            }
            Event::End(e) if matches!(local(e.name().as_ref()), b"footnote" | b"endnote") => {
                if let Some((id, paras)) = current.take() {
                    let text = paras.join(" ");
                    if !text.is_empty() {
                        out.push((id, text));
                    }
                }
            }
            _ => {
                if let Some((text, _, _)) = walker.feed(&ev)? {
                    if let Some((_, paras)) = &mut current {
                        if !text.is_empty() {
                            paras.push(text);
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The body's paragraphs (and the notes they reference), until just over `max_text` bytes of
/// text: the caller cuts there and says so.
fn parse_body(
    xml: &str,
    notes: &HashMap<(NoteKind, String), String>,
    max_text: usize,
) -> Result<Vec<Block>, String> {
    let mut reader = Reader::from_str(xml);
    let mut walker = Walker::new();
    let mut out = Vec::new();
    let mut total = 0usize;
    while total <= max_text {
        let ev = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        if matches!(ev, Event::Eof) {
            break;
        }
        if let Some((text, heading, refs)) = walker.feed(&ev)? {
            if !text.is_empty() {
                total += text.len() + 1;
                out.push(Block {
                    heading,
                    text,
                    line: None,
                    standalone: true,
                });
            }
            for r in refs {
                if total > max_text {
                    break;
                }
                if let Some(note) = notes.get(&r) {
                    total += note.len() + 1;
                    out.push(Block {
                        heading: None,
                        text: note.clone(),
                        line: None,
                        standalone: true,
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_styles() {
        assert_eq!(heading_style("Heading2"), Some(2));
        assert_eq!(heading_style("heading 1"), Some(1));
        assert_eq!(heading_style("Title"), Some(1));
        assert_eq!(heading_style("Normal"), None);
        assert_eq!(heading_style("Heading"), None);
    }

    #[test]
    fn body_paragraphs_tables_and_notes() {
        let xml = r#"<w:document xmlns:w="x"><w:body>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Question 3</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Tom &amp; Jerry </w:t></w:r><w:r><w:t>ran</w:t><w:footnoteReference w:id="2"/></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del><w:r><mc:AlternateContent><mc:Choice><w:txbxContent><w:p><w:r><w:t>boxed</w:t></w:r></w:p></w:txbxContent></mc:Choice><mc:Fallback><w:txbxContent><w:p><w:r><w:t>boxed twice</w:t></w:r></w:p></w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell one</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>cell two</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
</w:body></w:document>"#;
        let notes: HashMap<_, _> = [((NoteKind::Foot, "2".to_string()), "a note".to_string())]
            .into_iter()
            .collect();
        let b = parse_body(xml, &notes, usize::MAX).unwrap();
        let t: Vec<(Option<u8>, &str)> = b.iter().map(|b| (b.heading, b.text.as_str())).collect();
        assert_eq!(
            t,
            vec![
                (Some(1), "Question 3"),
                (None, "Tom & Jerry ran boxed"),
                (None, "a note"),
                (None, "cell one"),
                (None, "cell two")
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let limits = ExtractLimits::default();
        assert!(blocks(b"", &limits).is_err());
        assert!(blocks(b"PK\x05\x06garbage-garbage-garbage", &limits).is_err());
        assert!(blocks(&[0u8; 100], &limits).is_err());
    }
}
