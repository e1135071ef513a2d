//! Throughput of the `torchscript` encoder: frames per second through the
//! whole encode path (framing, input tensor, forward, copying outputs
//! back), to compare with Python's TorchScript forward on the same model
//! and batch (bench/torchscript.sh prints the ratio).
//!
//! `cargo bench -p repbench-framework --features torch --bench torchscript --
//!  --model PATH [--batch 256] [--frame-len 1024] [--threads 2] [--seconds 5]`
//! prints one JSON line like scripts/bench_torchscript.py.

use rand::{Rng, SeedableRng};
use repbench_framework::encoder::torchscript::{TorchScript, TorchScriptSpec};
use repbench_framework::encoder::Encoder;
use std::path::Path;
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse \"{v}\""))
        })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model: String = arg(&args, "--model", "models/crepe-tiny/crepe-tiny.pt".into());
    let batch: usize = arg(&args, "--batch", 256);
    let frame_len: usize = arg(&args, "--frame-len", 1024);
    let threads: usize = arg(&args, "--threads", 2);
    let seconds: f64 = arg(&args, "--seconds", 5.0);

    let spec: TorchScriptSpec = toml::from_str(&format!(
        "name = \"bench\"\npath = \"{model}\"\nsample_rate = 16000\ninput = \"framed\"\n\
         frame_len = {frame_len}\nbatch_size = {batch}\nthreads = {threads}\npooling = \"mean\""
    ))
    .expect("bench spec");
    // Paths are relative to where the bench runs (bench/torchscript.sh: the repo root).
    let root = std::env::var("REPBENCH_ROOT").unwrap_or_else(|_| "..".into());
    let encoder = TorchScript::open(spec, Path::new(&root)).expect("model opens");
    // One item of exactly `batch` frames: one forward per encode call.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let audio: Vec<f32> = (0..batch * frame_len)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();

    let deadline = Instant::now() + std::time::Duration::from_secs_f64(seconds);
    let warm_end = Instant::now() + std::time::Duration::from_secs_f64(0.2 * seconds);
    for _ in 0..3 {
        encoder.encode(&audio).expect("encode");
        if Instant::now() >= warm_end {
            break;
        }
    }
    let start = Instant::now();
    let mut batches = 0usize;
    loop {
        let out = encoder.encode(&audio).expect("encode");
        assert_eq!(out[0].nrows(), batch);
        batches += 1;
        if Instant::now() >= deadline {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{{\"frames_per_s\": {:.1}, \"batches\": {batches}, \"batch\": {batch}, \"threads\": {threads}, \"engine\": \"tch\"}}",
        (batches * batch) as f64 / elapsed
    );
}
