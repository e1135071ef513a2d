//! Empty: its presence makes cargo resolve this crate's build-dependencies,
//! which unify the features of host crates (see Cargo.toml).
fn main() {}
