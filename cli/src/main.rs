//! The `cee` command-line tool.

fn main() {
    eprintln!("cee: commands arrive with the façade (see README)");
    std::process::exit(2);
}
