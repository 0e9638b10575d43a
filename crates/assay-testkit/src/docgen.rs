//! Generators for binary fixtures: a WordprocessingML .docx (zip) and a PDF with a text layer.

use std::io::Write;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// One paragraph of a generated .docx.
pub enum Para<'a> {
    Heading(u8, &'a str),
    Text(&'a str),
    /// A paragraph with a footnote reference after its text.
    WithFootnote(&'a str, &'a str),
    /// A table: rows of cells.
    Table(Vec<Vec<&'a str>>),
}

/// Writes `count` copies of `byte` to `w`, a MiB at a time (a bomb's payload without holding
/// it in memory).
fn write_run(w: &mut impl Write, byte: u8, count: usize) {
    let chunk = vec![byte; 1 << 20];
    let mut left = count;
    while left > 0 {
        let n = left.min(chunk.len());
        w.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn run(text: &str) -> String {
    format!("<w:r><w:t xml:space=\"preserve\">{}</w:t></w:r>", esc(text))
}

/// A minimal valid .docx holding `paras`.
pub fn docx(paras: &[Para]) -> Vec<u8> {
    let mut body = String::new();
    let mut notes = String::from(
        "<w:footnote w:type=\"separator\" w:id=\"-1\"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>",
    );
    let mut next_note = 1;
    for p in paras {
        match p {
            Para::Heading(level, text) => body.push_str(&format!(
                "<w:p><w:pPr><w:pStyle w:val=\"Heading{level}\"/></w:pPr>{}</w:p>",
                run(text)
            )),
            Para::Text(text) => {
                // Split into two runs mid-paragraph, as Word does, to exercise run joining.
                let cut = text
                    .char_indices()
                    .nth(text.chars().count() / 2)
                    .map_or(text.len(), |(i, _)| i);
                body.push_str(&format!(
                    "<w:p>{}{}</w:p>",
                    run(&text[..cut]),
                    run(&text[cut..])
                ));
            }
            Para::WithFootnote(text, note) => {
                body.push_str(&format!(
                    "<w:p>{}<w:r><w:rPr><w:rStyle w:val=\"FootnoteReference\"/></w:rPr><w:footnoteReference w:id=\"{next_note}\"/></w:r></w:p>",
                    run(text)
                ));
                notes.push_str(&format!(
                    "<w:footnote w:id=\"{next_note}\"><w:p>{}</w:p></w:footnote>",
                    run(note)
                ));
                next_note += 1;
            }
            Para::Table(rows) => {
                body.push_str("<w:tbl>");
                for row in rows {
                    body.push_str("<w:tr>");
                    for cell in row {
                        body.push_str(&format!("<w:tc><w:p>{}</w:p></w:tc>", run(cell)));
                    }
                    body.push_str("</w:tr>");
                }
                body.push_str("</w:tbl>");
            }
        }
    }
    let ns = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
    let document = format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document {ns}><w:body>{body}<w:sectPr/></w:body></w:document>");
    let footnotes = format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:footnotes {ns}>{notes}</w:footnotes>");
    zip_parts(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("word/_rels/document.xml.rels", DOC_RELS.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("word/footnotes.xml", footnotes.as_bytes()),
    ])
}

/// A .docx whose `word/document.xml` inflates to `bytes` bytes (a zip bomb inside a document).
pub fn docx_bomb(bytes: usize) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1));
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(CONTENT_TYPES.as_bytes()).unwrap();
        z.start_file(
            "word/document.xml",
            opts.large_file(bytes > u32::MAX as usize),
        )
        .unwrap();
        z.write_all(b"<w:document xmlns:w=\"x\"><w:body><w:p><w:r><w:t>")
            .unwrap();
        write_run(&mut z, b'a', bytes);
        z.write_all(b"</w:t></w:r></w:p></w:body></w:document>")
            .unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// Rewrites every declared uncompressed size in a zip to `declared` (a lying archive).
pub fn lie_about_sizes(mut zip: Vec<u8>, declared: u32) -> Vec<u8> {
    let mut i = 0;
    while i + 30 <= zip.len() {
        let sig = &zip[i..i + 4];
        if sig == [0x50, 0x4b, 0x03, 0x04] {
            zip[i + 22..i + 26].copy_from_slice(&declared.to_le_bytes());
        } else if sig == [0x50, 0x4b, 0x01, 0x02] && i + 46 <= zip.len() {
            zip[i + 24..i + 28].copy_from_slice(&declared.to_le_bytes());
        }
        i += 1;
    }
    zip
}

pub fn zip_parts(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in parts {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
const DOC_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>"#;

/// A PDF (Helvetica, WinAnsi) with one page per entry of `pages`; each page is a list of lines,
/// an empty line leaving a gap. Lines must be ASCII.
pub fn pdf(pages: &[Vec<String>]) -> Vec<u8> {
    let contents: Vec<String> = pages
        .iter()
        .map(|lines| {
            let mut content = String::new();
            let mut y = 760;
            for line in lines {
                if !line.is_empty() {
                    let escaped = line
                        .replace('\\', "\\\\")
                        .replace('(', "\\(")
                        .replace(')', "\\)");
                    content.push_str(&format!("BT /F1 10 Tf 56 {y} Td ({escaped}) Tj ET\n"));
                }
                y -= if line.is_empty() { 10 } else { 13 };
            }
            content
        })
        .collect();
    pdf_with_contents(&contents)
}

/// A PDF (Helvetica `/F1`, WinAnsi) with one page per raw content stream.
pub fn pdf_with_contents(contents: &[String]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new(); // object i+1
    let n = contents.len();
    // 1 catalog, 2 pages, 3 font, then per page: page object, content object.
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {n} >>",
        kids.join(" ")
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    );
    for (i, content) in contents.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    pdf_file(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        objects.into_iter().map(String::into_bytes).collect(),
    )
}

/// A one-page PDF whose content stream is Flate-compressed and inflates to `inflated` bytes
/// (spaces after a short text), i.e. a compression bomb when `inflated` is large.
pub fn pdf_flate_bomb(inflated: usize) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(HELLO).unwrap();
    write_run(&mut enc, b' ', inflated);
    pdf_one_stream("/FlateDecode", &enc.finish().unwrap())
}

/// The bomb of issue 10: a one-page PDF whose content stream is filtered
/// `[/ASCII85Decode /FlateDecode]` and decodes to `inflated` bytes (a short text, then spaces).
/// About 1.3 MB on disk per GiB inflated, built in milliseconds ([`zlib_run`]).
pub fn pdf_chain_bomb(inflated: usize) -> Vec<u8> {
    let data = ascii85(&zlib_run(HELLO, b' ', inflated, b""));
    pdf_one_stream("[/ASCII85Decode /FlateDecode]", &data)
}

/// A page's text: `hello` in Helvetica.
const HELLO: &[u8] = b"BT /F1 10 Tf 56 700 Td (hello) Tj ET\n";

/// A one-page PDF (Helvetica `/F1`) whose content stream is `data`, filtered by `filter`.
fn pdf_one_stream(filter: &str, data: &[u8]) -> Vec<u8> {
    let contents = [
        format!("<< /Length {} /Filter {filter} >>\nstream\n", data.len()).into_bytes(),
        data.to_vec(),
        b"\nendstream".to_vec(),
    ]
    .concat();
    pdf_objects(vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>".to_vec(),
        contents,
    ])
}

/// A one-page PDF whose page runs `page` and may call the form XObjects `/X0`, `/X1`, … whose
/// content streams are `forms` (all in the page's resources, with Helvetica `/F1`).
pub fn pdf_with_forms(page: &str, forms: &[String]) -> Vec<u8> {
    let n = forms.len();
    // 1 catalog, 2 pages, 3 font, 4 page, 5 page content, 6.. forms.
    let xobjects: Vec<String> = (0..n).map(|i| format!("/X{i} {} 0 R", 6 + i)).collect();
    let stream = |dict: &str, content: &str| {
        format!(
            "<< {dict} /Length {} >>\nstream\n{content}\nendstream",
            content.len() + 1
        )
        .into_bytes()
    };
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> /XObject << {} >> >> /Contents 5 0 R >>",
            xobjects.join(" ")
        )
        .into_bytes(),
        stream("", page),
    ];
    for form in forms {
        objects.push(stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 612 792]",
            form,
        ));
    }
    pdf_objects(objects)
}

/// Numbers `objects` from 1, writes them with a cross-reference table; object 1 is the root.
fn pdf_objects(objects: Vec<Vec<u8>>) -> Vec<u8> {
    pdf_file(b"%PDF-1.4\n", objects)
}

/// `header`, then `objects` numbered from 1 with a cross-reference table; object 1 is the root.
fn pdf_file(header: &[u8], objects: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = header.to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A zlib stream of `prefix`, then `n` copies of `byte`, then `suffix`, built in milliseconds
/// whatever `n`: the deflate blocks of one mebibyte of `byte`, sync-flushed, look back only at
/// copies of `byte`, so they are repeated as they are. The Adler-32 trailer covers only what was
/// really compressed: readers of these bombs are refused or out of memory before they check it.
pub fn zlib_run(prefix: &[u8], byte: u8, n: usize, suffix: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const MIB: usize = 1 << 20;
    fn feed(c: &mut Compress, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        let start = c.total_in();
        loop {
            let done = (c.total_in() - start) as usize;
            out.reserve(64 * 1024);
            let status = c.compress_vec(&input[done..], out, flush).unwrap();
            let all_in = (c.total_in() - start) as usize == input.len();
            let room_left = out.len() < out.capacity();
            if (all_in && room_left) || status == flate2::Status::StreamEnd {
                break;
            }
        }
    }
    let mut c = Compress::new(Compression::best(), true);
    let mut out = Vec::new();
    feed(&mut c, prefix, &mut out, FlushCompress::Sync);
    let run = vec![byte; MIB];
    let whole = n / MIB;
    if whole >= 2 {
        feed(&mut c, &run, &mut out, FlushCompress::Sync);
        let from = out.len();
        feed(&mut c, &run, &mut out, FlushCompress::Sync);
        let unit = out[from..].to_vec();
        for _ in 2..whole {
            out.extend_from_slice(&unit);
        }
    } else {
        for _ in 0..whole {
            feed(&mut c, &run, &mut out, FlushCompress::Sync);
        }
    }
    feed(&mut c, &run[..n % MIB], &mut out, FlushCompress::Sync);
    feed(&mut c, suffix, &mut out, FlushCompress::Finish);
    out
}

/// ASCII85 (the PDF filter's encoding) of `data`, with the `~>` end marker.
pub fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 5 / 4 + 8);
    for chunk in data.chunks(4) {
        let mut group = [0u8; 4];
        group[..chunk.len()].copy_from_slice(chunk);
        let mut v = u32::from_be_bytes(group);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = b'!' + (v % 85) as u8;
            v /= 85;
        }
        out.extend_from_slice(&digits[..chunk.len() + 1]);
    }
    out.extend_from_slice(b"~>");
    out
}

/// Wraps paragraphs into ~90-character lines and lays them out `lines_per_page` to a page,
/// a blank line between paragraphs.
pub fn pdf_from_paragraphs(paragraphs: &[String], lines_per_page: usize) -> Vec<u8> {
    let mut lines = Vec::new();
    for p in paragraphs {
        let mut line = String::new();
        for w in p.split_whitespace() {
            if !line.is_empty() && line.len() + w.len() + 1 > 90 {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines.push(String::new());
    }
    let pages: Vec<Vec<String>> = lines
        .chunks(lines_per_page.max(1))
        .map(|c| c.to_vec())
        .collect();
    pdf(&pages)
}
