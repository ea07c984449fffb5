// Builds the small C helper for INCRBYFLOAT's long-double arithmetic
// (see csrc/longdouble.c for why it is in C).
fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new()
        .file("csrc/longdouble.c")
        .warnings(true)
        .compile("emberld");
}
