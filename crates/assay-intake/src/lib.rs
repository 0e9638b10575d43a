//! Intake: safe unpacking of a submission and discovery of its files.
