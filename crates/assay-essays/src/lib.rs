//! Essays: text out of answer documents, fair word counts, answers matched to questions.
