fn main() {
    std::process::exit(assay::cmd::main());
}
