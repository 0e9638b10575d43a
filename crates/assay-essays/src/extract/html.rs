//! HTML → text: a small, linear tokenizer. Tags are dropped; `script`, `style`, `template`,
//! `noscript`, `head`/`title` and `pre` (code) content is left out; block elements separate
//! blocks; `<h1>`–`<h6>` are headings; character references are decoded.

use super::{Block, LineIndex};

/// Elements whose whole content is not prose.
const SKIPPED: &[&str] = &[
    "script", "style", "template", "noscript", "head", "title", "pre", "svg", "math", "textarea",
];
/// Elements that end one block and begin another.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "tr",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "blockquote",
    "hr",
    "figure",
    "figcaption",
    "form",
    "fieldset",
    "details",
    "summary",
    "address",
    "body",
    "html",
    "caption",
];

pub(crate) fn blocks(src: &str) -> Vec<Block> {
    let lines = LineIndex::new(src);
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_line: Option<u32> = None;
    let mut heading: Option<u8> = None;
    let mut i = 0usize;
    let mut text_start = 0usize;
    let flush =
        |out: &mut Vec<Block>, cur: &mut String, line: &mut Option<u32>, heading: Option<u8>| {
            let text = super::squash_ws(cur);
            if !text.is_empty() {
                out.push(Block {
                    heading,
                    text,
                    line: *line,
                    standalone: true,
                });
            }
            cur.clear();
            *line = None;
        };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        // Text before this '<'.
        push_text(
            &src[text_start..i],
            text_start,
            &lines,
            &mut cur,
            &mut cur_line,
        );
        let Some(tag) = parse_tag(src, i) else {
            // A lone '<' is text.
            push_text("<", i, &lines, &mut cur, &mut cur_line);
            i += 1;
            text_start = i;
            continue;
        };
        i = tag.end;
        text_start = i;
        let name = tag.name.as_str();
        if !tag.closing && SKIPPED.contains(&name) {
            flush(&mut out, &mut cur, &mut cur_line, heading);
            i = skip_until_close(src, i, name);
            text_start = i;
            continue;
        }
        if let Some(level) = heading_level(name) {
            flush(&mut out, &mut cur, &mut cur_line, heading);
            heading = if tag.closing { None } else { Some(level) };
        } else if BLOCKS.contains(&name) {
            flush(&mut out, &mut cur, &mut cur_line, heading);
        } else if matches!(name, "td" | "th" | "img" | "input" | "option") {
            cur.push(' ');
        }
    }
    push_text(
        &src[text_start..],
        text_start,
        &lines,
        &mut cur,
        &mut cur_line,
    );
    flush(&mut out, &mut cur, &mut cur_line, heading);
    out
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

fn push_text(
    raw: &str,
    offset: usize,
    lines: &LineIndex,
    cur: &mut String,
    line: &mut Option<u32>,
) {
    if raw.is_empty() {
        return;
    }
    if line.is_none() {
        if let Some(p) = raw.find(|c: char| !c.is_whitespace()) {
            *line = Some(lines.line(offset + p));
        }
    }
    decode_entities(raw, cur);
}

struct Tag {
    name: String,
    closing: bool,
    end: usize,
}

/// Parses the tag (or comment / doctype / processing instruction) starting at `at` (a '<').
/// Comments and declarations come back with an empty name. `None`: not a tag, '<' is text.
fn parse_tag(src: &str, at: usize) -> Option<Tag> {
    let rest = &src[at..];
    if let Some(r) = rest.strip_prefix("<!--") {
        let end = r.find("-->").map_or(src.len(), |p| at + 4 + p + 3);
        return Some(Tag {
            name: String::new(),
            closing: false,
            end,
        });
    }
    if rest.starts_with("<!") || rest.starts_with("<?") {
        let end = rest.find('>').map_or(src.len(), |p| at + p + 1);
        return Some(Tag {
            name: String::new(),
            closing: false,
            end,
        });
    }
    let b = rest.as_bytes();
    let mut j = 1;
    let closing = b.get(1) == Some(&b'/');
    if closing {
        j += 1;
    }
    let name_start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
        j += 1;
    }
    if j == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = rest[name_start..j].to_ascii_lowercase();
    // Find the closing '>' outside quoted attribute values.
    let mut quote: Option<u8> = None;
    while j < b.len() {
        match (quote, b[j]) {
            (None, b'>') => {
                return Some(Tag {
                    name,
                    closing,
                    end: at + j + 1,
                })
            }
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        j += 1;
    }
    Some(Tag {
        name,
        closing,
        end: src.len(),
    })
}

/// Index just past `</name ...>` (case-insensitive), or the end of the input.
fn skip_until_close(src: &str, from: usize, name: &str) -> usize {
    let hay = src.as_bytes();
    let needle_len = name.len() + 2;
    let mut k = from;
    while k + needle_len <= hay.len() {
        if hay[k] == b'<'
            && hay[k + 1] == b'/'
            && hay[k + 2..k + needle_len].eq_ignore_ascii_case(name.as_bytes())
            && hay
                .get(k + needle_len)
                .is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            return src[k..].find('>').map_or(src.len(), |p| k + p + 1);
        }
        k += 1;
    }
    src.len()
}

/// Appends `raw` to `out` with character references decoded (numeric, and the named ones prose
/// uses; an unknown name is kept as written).
pub(crate) fn decode_entities(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .map(|e| e + 1);
        let (name, consumed) = match end {
            Some(e) if rest.as_bytes().get(e) == Some(&b';') => (&rest[1..e], e + 1),
            _ => ("", 0),
        };
        match (consumed > 0).then(|| entity(name)).flatten() {
            Some(c) => {
                out.push(c);
                rest = &rest[consumed..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return Some(
            char::from_u32(code)
                .filter(|c| *c != '\0')
                .unwrap_or('\u{FFFD}'),
        );
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "shy" | "zwj" | "zwnj" => '\u{200B}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "times" => '×',
        "rarr" => '→',
        "larr" => '←',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        "euro" => '€',
        "pound" => '£',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_only_no_script_style_or_code() {
        let src = "<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head>\n<body>\n<h2 id=\"q\">Question&nbsp;3</h2>\n<p>I <b>improved</b> a <a href=\"https://x.io/long/url\">system</a> &amp; learned.</p><script>if (a<b) {}</script>\n<pre>code words</pre><ul><li>one</li><li>two</li></ul><!-- hidden words --></body></html>";
        let b = blocks(src);
        let t: Vec<(Option<u8>, &str, Option<u32>)> = b
            .iter()
            .map(|b| (b.heading, b.text.as_str(), b.line))
            .collect();
        assert_eq!(
            t,
            vec![
                (Some(2), "Question 3", Some(3)),
                (None, "I improved a system & learned.", Some(4)),
                (None, "one", Some(5)),
                (None, "two", Some(5)),
            ]
        );
    }

    #[test]
    fn hostile_markup_terminates() {
        for src in [
            "<",
            "<<<<",
            "<a href='",
            "<script>",
            "<!--",
            "&#xFFFFFFFF; &#0; &bogus; &",
            "</>",
        ] {
            let _ = blocks(src);
        }
        let mut s = String::new();
        decode_entities("&#x41;&#66;&unknown;&amp", &mut s);
        assert_eq!(s, "AB&unknown;&amp");
    }
}
