//! What a PDF's streams decode to, measured under a budget before the parser decodes them.
//!
//! The parser (lopdf, under pdf-extract) decodes a stream's whole filter chain into memory with no
//! limit: `[/ASCII85Decode /FlateDecode]` turns 5 MB into gigabytes as easily as plain Flate does.
//! Here every stage of every chain runs streaming into a counter (constant memory), and the bytes
//! each stage produces are added to one budget per document; a document over budget is refused
//! before it is parsed. Two passes use it: [`check_raw`] over the file's bytes before parsing (it
//! covers object and cross-reference streams, which the parser inflates while loading) and
//! `pdf.rs` over the parsed stream objects (exact filters and extents, and decrypted content).
//!
//! Filters measured: FlateDecode (zlib, or raw deflate when the zlib header is bad, as the parser
//! falls back to), LZWDecode, ASCII85Decode, ASCIIHexDecode, RunLengthDecode, and their
//! abbreviations. A chain is measured up to its first other filter (image codecs, Crypt), where
//! the parser stops decoding too. Predictors never enlarge data and are not applied.

use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;

/// Decoded bytes a document may still produce; shared by every stage of every chain.
pub(crate) struct Budget {
    left: Cell<u64>,
    exceeded: Cell<bool>,
}

impl Budget {
    pub(crate) fn new(max: u64) -> Rc<Budget> {
        Rc::new(Budget {
            left: Cell::new(max),
            exceeded: Cell::new(false),
        })
    }

    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    fn take(&self, n: usize) -> bool {
        let n = n as u64;
        if n > self.left.get() {
            self.left.set(0);
            self.exceeded.set(true);
            false
        } else {
            self.left.set(self.left.get() - n);
            true
        }
    }
}

/// A filter the parser decodes, by its full or abbreviated name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Flate,
    Lzw,
    Ascii85,
    AsciiHex,
    RunLength,
}

impl Filter {
    fn from_name(name: &[u8]) -> Option<Filter> {
        Some(match name {
            b"FlateDecode" | b"Fl" => Filter::Flate,
            b"LZWDecode" | b"LZW" => Filter::Lzw,
            b"ASCII85Decode" | b"A85" => Filter::Ascii85,
            b"ASCIIHexDecode" | b"AHx" => Filter::AsciiHex,
            b"RunLengthDecode" | b"RL" => Filter::RunLength,
            _ => return None,
        })
    }
}

/// Decodes `data` through the chain `filters` (names in decoding order) into nothing, charging
/// every stage's output to `budget`. Stops quietly at corrupt data (the parser keeps what it
/// decoded, and so is it counted); the caller asks the budget whether it was exceeded.
pub(crate) fn measure(filters: &[&[u8]], lzw_early_change: bool, data: &[u8], budget: &Rc<Budget>) {
    let chain: Vec<Filter> = filters
        .iter()
        .map_while(|name| Filter::from_name(name))
        .collect();
    if chain.is_empty() {
        return;
    }
    let mut sink: Box<dyn Write> = Box::new(io::sink());
    for filter in chain.iter().rev() {
        let counted = Counted {
            inner: sink,
            budget: budget.clone(),
        };
        sink = match filter {
            Filter::Flate => Box::new(Flate::Head(Vec::new(), Some(counted))),
            Filter::Lzw => Box::new(Lzw::new(counted, lzw_early_change)),
            Filter::Ascii85 => Box::new(Ascii85::new(counted)),
            Filter::AsciiHex => Box::new(AsciiHex::new(counted)),
            Filter::RunLength => Box::new(RunLength::new(counted)),
        };
    }
    for chunk in data.chunks(64 * 1024) {
        if sink.write_all(chunk).is_err() {
            return;
        }
    }
    let _ = sink.flush();
}

/// Measures every `stream … endstream` of a PDF file's bytes as its dictionary declares it,
/// before the parser sees the file; `Err` when their decoded bytes together exceed `max_total`.
pub(crate) fn check_raw(bytes: &[u8], max_total: u64) -> Result<(), String> {
    let budget = Budget::new(max_total);
    let mut pos = 0usize;
    while let Some(p) = memchr::memmem::find(&bytes[pos..], b"stream") {
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
        let dict = StreamDict::parse(dictionary_before(bytes, keyword));
        let found_end =
            memchr::memmem::find(&bytes[start..], b"endstream").map_or(bytes.len(), |e| start + e);
        // The parser takes a direct /Length at its word; data that hides an `endstream` inside
        // the declared extent is measured to the declared end.
        let declared_end = dict
            .length
            .and_then(|l| start.checked_add(l))
            .map_or(found_end, |e| e.min(bytes.len()));
        let end = found_end.max(declared_end);
        let names: Vec<&[u8]> = dict.filters.iter().map(Vec::as_slice).collect();
        measure(&names, dict.early_change, &bytes[start..end], &budget);
        if budget.exceeded() {
            return Err(too_much(max_total));
        }
        pos = found_end;
    }
    Ok(())
}

/// The refusal message, shared by both passes.
pub(crate) fn too_much(max_total: u64) -> String {
    format!(
        "the PDF's compressed streams expand beyond {max_total} bytes (compression bomb?); not read"
    )
}

/// The bytes between the `obj` keyword that opens a stream's object and its `stream` keyword
/// (at most 64 KiB back): the stream's dictionary.
fn dictionary_before(bytes: &[u8], keyword: usize) -> &[u8] {
    let from = keyword.saturating_sub(64 * 1024);
    let window = &bytes[from..keyword];
    match memchr::memmem::rfind(window, b"obj") {
        Some(p) => &window[p + 3..],
        None => window,
    }
}

/// What the pre-parse pass needs from a stream dictionary.
#[derive(Debug, Default, PartialEq)]
struct StreamDict {
    /// Filter names, `#xx` escapes decoded, in decoding order.
    filters: Vec<Vec<u8>>,
    /// A direct `/Length n` (an indirect one is `None`).
    length: Option<usize>,
    /// `/EarlyChange 0` turns the LZW code-size switch off.
    early_change: bool,
}

#[derive(Debug, PartialEq)]
enum Token {
    Name(Vec<u8>),
    Int(i64),
    ArrayOpen,
    ArrayClose,
    Other,
}

impl StreamDict {
    fn parse(text: &[u8]) -> StreamDict {
        let tokens = tokenize(text);
        let mut dict = StreamDict {
            early_change: true,
            ..StreamDict::default()
        };
        for (i, token) in tokens.iter().enumerate() {
            let Token::Name(key) = token else { continue };
            match key.as_slice() {
                b"Filter" if dict.filters.is_empty() => match tokens.get(i + 1) {
                    Some(Token::Name(f)) => dict.filters.push(f.clone()),
                    Some(Token::ArrayOpen) => {
                        for t in &tokens[i + 2..] {
                            match t {
                                Token::Name(f) => dict.filters.push(f.clone()),
                                Token::ArrayClose => break,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                },
                b"Length" if dict.length.is_none() => {
                    if let Some(Token::Int(len)) = tokens.get(i + 1) {
                        // `n g R` is a reference, not a length.
                        let reference = matches!(tokens.get(i + 2), Some(Token::Int(_)))
                            && matches!(tokens.get(i + 3), Some(Token::Other));
                        if !reference {
                            dict.length = usize::try_from(*len).ok();
                        }
                    }
                }
                b"EarlyChange" => {
                    if let Some(Token::Int(0)) = tokens.get(i + 1) {
                        dict.early_change = false;
                    }
                }
                _ => {}
            }
        }
        dict
    }
}

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// PDF tokens, as far as a stream dictionary needs them: names (escapes decoded), integers,
/// array brackets; strings and comments skipped.
fn tokenize(text: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'%' => {
                while i < text.len() && text[i] != b'\n' && text[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                let mut depth = 0usize;
                while i < text.len() {
                    match text[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                out.push(Token::Other);
            }
            b'/' => {
                i += 1;
                let mut name = Vec::new();
                while i < text.len() && !text[i].is_ascii_whitespace() && !is_delimiter(text[i]) {
                    let hex = |k: usize| text.get(k).and_then(|&b| (b as char).to_digit(16));
                    match (text[i], hex(i + 1), hex(i + 2)) {
                        (b'#', Some(h), Some(l)) => {
                            name.push((h * 16 + l) as u8);
                            i += 3;
                        }
                        (b, _, _) => {
                            name.push(b);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Name(name));
            }
            b'[' => {
                out.push(Token::ArrayOpen);
                i += 1;
            }
            b']' => {
                out.push(Token::ArrayClose);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c if is_delimiter(c) => {
                i += 1;
                out.push(Token::Other);
            }
            _ => {
                let start = i;
                while i < text.len() && !text[i].is_ascii_whitespace() && !is_delimiter(text[i]) {
                    i += 1;
                }
                out.push(
                    std::str::from_utf8(&text[start..i])
                        .ok()
                        .and_then(|w| w.parse().ok())
                        .map_or(Token::Other, Token::Int),
                );
            }
        }
    }
    out
}

/// A stage's output: charged to the budget, then passed on.
struct Counted {
    inner: Box<dyn Write>,
    budget: Rc<Budget>,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.budget.take(buf.len()) {
            return Err(io::Error::other("decoded-size budget exceeded"));
        }
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Flate: zlib when the two header bytes say so, else raw deflate after them (the parser's
/// fallback for a damaged header).
enum Flate {
    Head(Vec<u8>, Option<Counted>),
    Zlib(flate2::write::ZlibDecoder<Counted>),
    Raw(flate2::write::DeflateDecoder<Counted>),
}

impl Write for Flate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Flate::Head(head, out) => {
                let take = (2 - head.len()).min(buf.len());
                head.extend_from_slice(&buf[..take]);
                if head.len() == 2 {
                    let (cmf, flg) = (head[0], head[1]);
                    let zlib = cmf & 0x0f == 8 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0;
                    let Some(out) = out.take() else {
                        return Err(io::Error::other("flate stage without output"));
                    };
                    *self = if zlib {
                        let mut d = flate2::write::ZlibDecoder::new(out);
                        d.write_all(&[cmf, flg])?;
                        Flate::Zlib(d)
                    } else {
                        Flate::Raw(flate2::write::DeflateDecoder::new(out))
                    };
                    self.write_all(&buf[take..])?;
                }
                Ok(buf.len())
            }
            Flate::Zlib(d) => d.write(buf),
            Flate::Raw(d) => d.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Flate::Head(..) => Ok(()),
            Flate::Zlib(d) => d.try_finish(),
            Flate::Raw(d) => d.try_finish(),
        }
    }
}

/// LZW, MSB first, 8-bit literals; `EarlyChange` as the parser reads it.
struct Lzw {
    decoder: weezl::decode::Decoder,
    out: Counted,
    buf: Vec<u8>,
    done: bool,
}

impl Lzw {
    fn new(out: Counted, early_change: bool) -> Lzw {
        use weezl::{decode::Decoder, BitOrder};
        let decoder = if early_change {
            Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
        } else {
            Decoder::new(BitOrder::Msb, 8)
        };
        Lzw {
            decoder,
            out,
            buf: vec![0; 32 * 1024],
            done: false,
        }
    }
}

impl Write for Lzw {
    fn write(&mut self, mut input: &[u8]) -> io::Result<usize> {
        let len = input.len();
        while !self.done {
            let r = self.decoder.decode_bytes(input, &mut self.buf);
            self.out.write_all(&self.buf[..r.consumed_out])?;
            input = &input[r.consumed_in..];
            match r.status {
                Ok(weezl::LzwStatus::Done) => self.done = true,
                Ok(weezl::LzwStatus::NoProgress) => break,
                Ok(weezl::LzwStatus::Ok) if input.is_empty() && r.consumed_out == 0 => break,
                Ok(weezl::LzwStatus::Ok) => {}
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// ASCII85: groups of five characters to four bytes, `z` for four zeros, `~` (or any character
/// outside the alphabet) ends the data.
struct Ascii85 {
    out: Counted,
    group: u32,
    count: usize,
    done: bool,
}

impl Ascii85 {
    fn new(out: Counted) -> Ascii85 {
        Ascii85 {
            out,
            group: 0,
            count: 0,
            done: false,
        }
    }
}

impl Write for Ascii85 {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut decoded = Vec::with_capacity(buf.len());
        for &c in buf {
            if self.done {
                break;
            }
            match c {
                b'z' if self.count == 0 => decoded.extend_from_slice(&[0; 4]),
                c if c.is_ascii_whitespace() => {}
                b'!'..=b'u' => {
                    self.group = self
                        .group
                        .wrapping_mul(85)
                        .wrapping_add(u32::from(c - b'!'));
                    self.count += 1;
                    if self.count == 5 {
                        decoded.extend_from_slice(&self.group.to_be_bytes());
                        self.group = 0;
                        self.count = 0;
                    }
                }
                _ => self.done = true,
            }
        }
        self.out.write_all(&decoded)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.count > 1 {
            // A partial group of n characters is n - 1 bytes.
            let n = self.count - 1;
            self.count = 0;
            self.out.write_all(&[0; 4][..n])?;
        }
        self.out.flush()
    }
}

/// ASCIIHex: pairs of hex digits, white space ignored, `>` ends the data.
struct AsciiHex {
    out: Counted,
    high: Option<u8>,
    done: bool,
}

impl AsciiHex {
    fn new(out: Counted) -> AsciiHex {
        AsciiHex {
            out,
            high: None,
            done: false,
        }
    }
}

impl Write for AsciiHex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut decoded = Vec::with_capacity(buf.len() / 2 + 1);
        for &c in buf {
            if self.done {
                break;
            }
            match (c as char).to_digit(16) {
                Some(d) => match self.high.take() {
                    Some(h) => decoded.push(h * 16 + d as u8),
                    None => self.high = Some(d as u8),
                },
                None if c.is_ascii_whitespace() => {}
                None => self.done = true,
            }
        }
        self.out.write_all(&decoded)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.high.take().is_some() {
            self.out.write_all(&[0])?;
        }
        self.out.flush()
    }
}

/// RunLength: a length byte n, then n + 1 literal bytes (n < 128) or one byte repeated
/// 257 - n times (n > 128); 128 ends the data.
struct RunLength {
    out: Counted,
    state: RunState,
}

enum RunState {
    Length,
    Literal(usize),
    Repeat(usize),
    Done,
}

impl RunLength {
    fn new(out: Counted) -> RunLength {
        RunLength {
            out,
            state: RunState::Length,
        }
    }
}

impl Write for RunLength {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut i = 0;
        while i < buf.len() {
            match self.state {
                RunState::Done => break,
                RunState::Length => {
                    self.state = match buf[i] {
                        n @ 0..=127 => RunState::Literal(usize::from(n) + 1),
                        128 => RunState::Done,
                        n => RunState::Repeat(257 - usize::from(n)),
                    };
                    i += 1;
                }
                RunState::Literal(left) => {
                    let n = left.min(buf.len() - i);
                    self.out.write_all(&buf[i..i + n])?;
                    i += n;
                    self.state = if n == left {
                        RunState::Length
                    } else {
                        RunState::Literal(left - n)
                    };
                }
                RunState::Repeat(times) => {
                    self.out.write_all(&[buf[i]; 128][..times])?;
                    i += 1;
                    self.state = RunState::Length;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_testkit::docgen::ascii85;

    fn decoded_len(filters: &[&[u8]], data: &[u8]) -> u64 {
        let max = 1 << 40;
        let budget = Budget::new(max);
        measure(filters, true, data, &budget);
        max - budget.left.get()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn every_stage_of_a_chain_is_charged() {
        let plain = vec![b' '; 100_000];
        let z = zlib(&plain);
        // Flate alone: the inflated bytes.
        assert_eq!(decoded_len(&[b"FlateDecode"], &z), 100_000);
        // ASCII85 then Flate: the ASCII85 output (the zlib data) plus the inflated bytes.
        let a = ascii85(&z);
        assert_eq!(
            decoded_len(&[b"ASCII85Decode", b"FlateDecode"], &a),
            z.len() as u64 + 100_000
        );
        // Abbreviations count the same; an image codec ends the chain.
        assert_eq!(
            decoded_len(&[b"A85", b"Fl", b"DCTDecode"], &a),
            z.len() as u64 + 100_000
        );
        assert_eq!(decoded_len(&[b"DCTDecode", b"FlateDecode"], &z), 0);
    }

    #[test]
    fn raw_deflate_behind_a_bad_header_is_measured() {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&[b'x'; 50_000]).unwrap();
        let raw = e.finish().unwrap();
        let data = [b"\0\0".as_slice(), &raw].concat();
        assert_eq!(decoded_len(&[b"FlateDecode"], &data), 50_000);
    }

    #[test]
    fn lzw_hex_and_run_length_decode_to_their_sizes() {
        let mut lzw = Vec::new();
        weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .into_stream(&mut lzw)
            .encode_all(&[b'a'; 70_000][..])
            .status
            .unwrap();
        assert_eq!(decoded_len(&[b"LZWDecode"], &lzw), 70_000);
        assert_eq!(decoded_len(&[b"ASCIIHexDecode"], b"48 65 6c6C 6f>zz"), 5);
        assert_eq!(decoded_len(&[b"AHx"], b"486"), 2);
        // 3 literals, then one byte 128 times, then end of data.
        assert_eq!(
            decoded_len(
                &[b"RunLengthDecode"],
                &[2, b'a', b'b', b'c', 129, b'x', 128, 5]
            ),
            3 + 128
        );
    }

    #[test]
    fn a_budget_stops_the_decoding() {
        let z = zlib(&vec![0u8; 10 << 20]);
        let budget = Budget::new(1 << 20);
        measure(&[b"FlateDecode"], true, &z, &budget);
        assert!(budget.exceeded());
    }

    #[test]
    fn stream_dictionaries_are_read_with_escapes_and_references() {
        let d = StreamDict::parse(
            b" << /Length 42 /F#69lter [ /A#385Decode /FlateDecode ] /DecodeParms << /EarlyChange 0 >> >>\n",
        );
        assert_eq!(
            d,
            StreamDict {
                filters: vec![b"A85Decode".to_vec(), b"FlateDecode".to_vec()],
                length: Some(42),
                early_change: false
            }
        );
        let d = StreamDict::parse(b"<< /Length 7 0 R /Filter /Fl (a /Filter string) >>");
        assert_eq!(d.length, None);
        assert_eq!(d.filters, vec![b"Fl".to_vec()]);
    }

    #[test]
    fn raw_pass_measures_a_chain_and_reads_past_a_planted_endstream() {
        let z = zlib(&vec![b' '; 3 << 20]);
        let a = ascii85(&z);
        let pdf = |dict: &str, data: &[u8]| {
            [
                format!(
                    "%PDF-1.4\n5 0 obj\n<< /Length {} {dict} >>\nstream\n",
                    data.len()
                )
                .as_bytes(),
                data,
                b"\nendstream\nendobj\n",
            ]
            .concat()
        };
        let chain = "/Filter [/ASCII85Decode /FlateDecode]";
        assert!(check_raw(&pdf(chain, &a), 1 << 20)
            .unwrap_err()
            .contains("compression bomb"));
        assert!(check_raw(&pdf(chain, &a), 8 << 20).is_ok());
        // `endstream` planted early in the data (ASCII85 has no integrity check, so the data
        // stays decodable): the declared length still rules.
        let planted = [
            "z".repeat(100).as_bytes(),
            b"endstreame",
            "z".repeat(1 << 20).as_bytes(),
        ]
        .concat();
        let doc = pdf("/Filter /ASCII85Decode", &planted);
        assert!(check_raw(&doc, 1 << 20).is_err());
        // With an indirect length this pass stops at the planted keyword: the pass over the
        // parsed objects (exact extents) and the parser child's limits cover that case.
        let doc = String::from_utf8(doc).unwrap().replacen(
            &format!("/Length {}", planted.len()),
            "/Length 9 0 R",
            1,
        );
        assert!(check_raw(doc.as_bytes(), 1 << 20).is_ok());
    }
}
