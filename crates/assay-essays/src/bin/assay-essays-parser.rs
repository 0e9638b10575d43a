//! The PDF/.docx parser child on its own: a request and a document on stdin, the reply on stdout
//! (see `assay_essays::extract::process`). The assay binary re-runs itself for this instead;
//! this binary lets the crate's own tests and examples start the real child.

fn main() {
    std::process::exit(assay_essays::child_main());
}
