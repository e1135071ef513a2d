//! Fuzzing the decoders and the resampler with mutated WAV, FLAC and MP3
//! files: no input may panic or allocate without bound, and whatever
//! decodes must be finite audio at a rate in the accepted range.
//! `REPBENCH_FUZZ_SECONDS` sets the time (`scripts/fuzz.sh`); inputs that
//! once failed live in `framework/tests/fuzz_regressions/audio/`.

use super::decode::decode_with_library;
use super::{
    check_decodable, decode_file, resample, wav_f32, wav_pcm16, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
};
use crate::fuzz::{Campaign, PeakAlloc};
use std::path::Path;

/// Longest resampled output the target makes (samples at 16 kHz): seeds
/// are small, so a mutated header cannot legitimately need more.
const MAX_RESAMPLED: usize = 16_000 * 60;

fn seeds() -> Vec<Vec<u8>> {
    let tone: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.07).sin() * 0.5).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_seeds");
    let mut seeds = vec![
        wav_pcm16(std::slice::from_ref(&tone), 16_000),
        wav_pcm16(&[tone.clone(), tone.iter().map(|v| -v).collect()], 8_000),
        wav_f32(&tone, 22_050),
    ];
    for name in ["sine.flac", "sine.mp3"] {
        seeds.push(
            std::fs::read(dir.join(name)).expect("scripts/make_fuzz_seeds.sh wrote the seeds"),
        );
    }
    seeds
}

/// The file extension a player would give these bytes.
fn extension(bytes: &[u8]) -> &'static str {
    match bytes {
        [b'f', b'L', b'a', b'C', ..] => "flac",
        [b'I', b'D', b'3', ..] | [0xff, ..] => "mp3",
        _ => "wav",
    }
}

#[test]
fn mutated_audio_files_never_panic_or_allocate_without_bound() {
    static ALLOC: PeakAlloc = PeakAlloc;
    let dir = tempfile::tempdir().unwrap();
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/audio");
    let campaign = Campaign {
        name: "audio",
        seeds: seeds(),
        regressions: Campaign::regressions(&regressions),
        max_allocation: 256 << 20,
    };
    let failures = campaign.run(&ALLOC, |bytes| {
        let path = dir.path().join(format!("input.{}", extension(bytes)));
        std::fs::write(&path, bytes).unwrap();
        let checked = check_decodable(&path);
        let Ok(audio) = decode_file(&path) else {
            return;
        };
        assert!(checked.is_ok(), "decodes whole but fails the cheap check");
        // The direct PCM path accepts exactly what the library accepts, and
        // reads the same samples.
        let library = decode_with_library(&path).expect("the library refuses a file read directly");
        let same_bits = |a: &[f32], b: &[f32]| {
            a.iter()
                .map(|v| v.to_bits())
                .eq(b.iter().map(|v| v.to_bits()))
        };
        assert!(
            library.sample_rate == audio.sample_rate && same_bits(&library.samples, &audio.samples),
            "the direct read differs from the library's"
        );
        assert!((MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&audio.sample_rate));
        assert!(
            audio.samples.iter().all(|v| v.is_finite()),
            "non-finite samples"
        );
        let seconds = audio.samples.len() as f64 / f64::from(audio.sample_rate);
        if seconds * 16_000.0 <= MAX_RESAMPLED as f64 {
            let out = resample(&audio.samples, audio.sample_rate, 16_000).unwrap();
            assert!(
                out.iter().all(|v| v.is_finite()),
                "resampling made non-finite samples"
            );
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
