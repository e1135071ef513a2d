//! With the `torch` feature: lets binaries and tests find libtorch without
//! LD_LIBRARY_PATH (torch-sys links libtorch but sets no rpath), and keeps a
//! CUDA libtorch's `libtorch_cuda` linked — nothing references its symbols,
//! so `--as-needed` would drop it and CUDA would look absent. Shared by the
//! root package and `framework/` (its `build` key points here).
fn main() {
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-L{lib},-ltorch_cuda,--as-needed");
    }
}
