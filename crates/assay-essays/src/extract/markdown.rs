//! Markdown → text as a reader sees it rendered: no syntax, link text kept and URLs dropped,
//! image alt text, code blocks, raw HTML tags and YAML/TOML front matter left out.

use super::{html, Block, LineIndex};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

pub(crate) fn blocks(src: &str) -> Vec<Block> {
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let lines = LineIndex::new(src);
    let mut b = Builder::default();
    let mut skip = 0usize; // inside code block, metadata, image
    let mut html_buf: Option<(String, usize)> = None;
    for (event, range) in Parser::new_ext(src, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::MetadataBlock(_) | Tag::Image { .. }) => {
                skip += 1
            }
            Event::End(TagEnd::CodeBlock | TagEnd::MetadataBlock(_) | TagEnd::Image) => {
                skip = skip.saturating_sub(1)
            }
            _ if skip > 0 => {}
            Event::Start(Tag::Heading { level, .. }) => {
                b.flush();
                b.heading = Some(level as u8);
                b.line = Some(lines.line(range.start));
            }
            Event::End(TagEnd::Heading(_)) => b.flush(),
            Event::Start(Tag::HtmlBlock) => html_buf = Some((String::new(), range.start)),
            Event::End(TagEnd::HtmlBlock) => {
                if let Some((raw, start)) = html_buf.take() {
                    b.flush();
                    let first = lines.line(start);
                    for hb in html::blocks(&raw) {
                        b.out.push(Block {
                            line: hb.line.map(|l| l + first - 1),
                            ..hb
                        });
                    }
                }
            }
            Event::Html(raw) => match &mut html_buf {
                Some((buf, _)) => buf.push_str(&raw),
                None => b.push(" ", &lines, range.start),
            },
            Event::InlineHtml(_) => b.push(" ", &lines, range.start),
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) => {
                b.push(&t, &lines, range.start)
            }
            Event::DisplayMath(_) => {}
            Event::SoftBreak | Event::HardBreak => b.push(" ", &lines, range.start),
            Event::Start(Tag::TableCell) => b.push(" ", &lines, range.start),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_)
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            ) => b.flush(),
            Event::Start(Tag::Item) => b.flush(),
            Event::Rule => b.flush(),
            _ => {}
        }
    }
    b.flush();
    b.out
}

#[derive(Default)]
struct Builder {
    out: Vec<Block>,
    cur: String,
    heading: Option<u8>,
    line: Option<u32>,
}

impl Builder {
    fn push(&mut self, s: &str, lines: &LineIndex, offset: usize) {
        if self.line.is_none() && !s.trim().is_empty() {
            self.line = Some(lines.line(offset));
        }
        self.cur.push_str(s);
    }

    fn flush(&mut self) {
        let text = super::squash_ws(&self.cur);
        if !text.is_empty() {
            self.out.push(Block {
                heading: self.heading,
                text,
                line: self.line,
                standalone: true,
            });
        }
        self.cur.clear();
        self.heading = None;
        self.line = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(Option<u8>, String, Option<u32>)> {
        blocks(src)
            .into_iter()
            .map(|b| (b.heading, b.text, b.line))
            .collect()
    }

    #[test]
    fn syntax_links_code_and_front_matter_are_removed() {
        let src = "---\ntitle: x y z\n---\n# Question 2\n\nSee [the **docs**](https://example.com/very/long) and ![alt words](i.png).\n\n```yaml\nservices: {}\n```\n\n- one `inline` item\n- two\n\n> quoted text\n";
        assert_eq!(
            texts(src),
            vec![
                (Some(1), "Question 2".to_string(), Some(4)),
                (None, "See the docs and .".to_string(), Some(6)),
                (None, "one inline item".to_string(), Some(12)),
                (None, "two".to_string(), Some(13)),
                (None, "quoted text".to_string(), Some(15)),
            ]
        );
    }

    #[test]
    fn toml_front_matter_tables_and_html_blocks() {
        let src = "+++\na = 1\n+++\n\n| h1 | h2 |\n|---|---|\n| a b | c |\n\n<div>\n<p>kept words</p>\n<script>var dropped = 1;</script>\n</div>\n";
        let t = texts(src);
        assert_eq!(t[0].1, "h1 h2");
        assert_eq!(t[1].1, "a b c");
        assert!(t.iter().any(|x| x.1 == "kept words"), "{t:?}");
        assert!(!t.iter().any(|x| x.1.contains("dropped")), "{t:?}");
    }
}
