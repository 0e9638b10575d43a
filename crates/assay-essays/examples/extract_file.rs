//! Prints what assay reads from answer documents and how it counts them.
//!
//! Run: `cargo run -p assay-essays --example extract_file -- FILE...`
//! PDF and .docx are read as the grader reads them: in the parser child (this example re-run).

use assay_essays::{
    count_words, extract_document, wc_words, ExtractError, Extractor, ParserCommand,
};
use std::path::Path;

/// The argument that makes this example the parser child.
const PARSER_ARG: &str = "--parse-document";

fn main() {
    if std::env::args().nth(1).as_deref() == Some(PARSER_ARG) {
        std::process::exit(assay_essays::child_main());
    }
    let extractor =
        Extractor::new(ParserCommand::current_exe([PARSER_ARG]).expect("this example's path"));
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let root = match assay_core::SubmissionRoot::open(dir) {
            Ok(r) => r,
            Err(e) => {
                println!("{arg}: {e}");
                continue;
            }
        };
        let root = &root;
        let name = Path::new(path.file_name().unwrap_or_default());
        match extract_document(root, name, &extractor) {
            Ok(doc) => {
                let text = doc.text();
                println!(
                    "{arg}: {} words (wc -w {}), {} blocks",
                    count_words(&text),
                    wc_words(&text),
                    doc.blocks.len()
                );
                for d in &doc.diagnostics {
                    println!("  {d}");
                }
                for b in &doc.blocks {
                    let h = b.heading.map_or(String::new(), |l| format!("h{l} "));
                    println!("  {h}{}", b.text);
                }
            }
            Err(ExtractError::Document(d)) => println!("{d}"),
            Err(ExtractError::Fault(why)) => println!("cannot read: {why}"),
        }
    }
}
