"""Write the binary files of the bad-input corpus in tests/bad_inputs/.

Every case directory there holds a config.toml, an expect.toml and, where
the case needs them, a manifest and audio files. The text files are edited
by hand; this script writes everything else: the small valid WAV clips the
manifest cases list beside their one bad file, the bad files themselves
(damaged headers, a truncated header, text named .wav, a header without a
data chunk, a WAV of zero samples, a zero-byte file, float samples that are
NaN, impossible sample rates) and a config that is not valid UTF-8.

Output is deterministic (no timestamps, no randomness) and uses only the
standard library, so re-running it leaves `git status` clean. Run from the
repository root:

    python3 scripts/make_bad_inputs.py
"""
import io
import math
import shutil
import struct
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tests" / "bad_inputs"

# The valid clips: 0.1 s of a sine at 8 kHz, low (about 220 Hz) or high
# (about 880 Hz), matching the `register` column of the manifests.
RATE = 8000
N = 800
GOOD = {
    "tr_low.wav": 220.0,
    "tr_high.wav": 880.0,
    "va_low.wav": 233.0,
    "va_high.wav": 932.0,
    "te_low.wav": 247.0,
    "te_high.wav": 988.0,
}


def sine(freq, n=N, rate=RATE, amp=0.3):
    """`n` samples of a sine of `freq` Hz at `rate` Hz."""
    return [amp * math.sin(2.0 * math.pi * freq * i / rate) for i in range(n)]


def pcm16_data(samples):
    """Mono samples in [-1, 1] as little-endian 16-bit integers."""
    return b"".join(struct.pack("<h", round(max(-1.0, min(1.0, s)) * 32767)) for s in samples)


def pcm16(samples, rate=RATE):
    """A canonical mono 16-bit PCM WAV, written by the `wave` module."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16_data(samples))
    return buf.getvalue()


def riff(fmt_fields, data, data_len=None, with_data=True):
    """A RIFF/WAVE file from raw `fmt ` fields (format tag, channels, rate,
    byte rate, block align, bits) and data bytes; `data_len` overrides the
    length the data chunk header claims."""
    fmt = struct.pack("<HHIIHH", *fmt_fields)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if with_data:
        claimed = len(data) if data_len is None else data_len
        body += b"data" + struct.pack("<I", claimed) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pcm16_fields(rate):
    """`fmt ` fields of mono 16-bit PCM at `rate` Hz."""
    return (1, 1, rate, rate * 2, 2, 16)


def good_clips():
    """The six valid clips every manifest case lists."""
    return {name: pcm16(sine(f)) for name, f in GOOD.items()}


def float32_nan():
    """32-bit IEEE float WAV (format tag 3): a sine whose every fourth
    sample, starting with the first, is NaN."""
    samples = sine(440.0)
    data = b"".join(
        struct.pack("<f", math.nan if i % 4 == 0 else s) for i, s in enumerate(samples)
    )
    return riff((3, 1, RATE, RATE * 4, 4, 32), data)


# Cases whose manifest lists only the valid clips (the problem is in the
# manifest or the config, not in an audio file).
CLEAN_MANIFEST_CASES = [
    "23_on_error_unknown_value",
    "26_manifest_wrong_extension",
    "27_manifest_missing_column",
    "28_manifest_bad_split_value",
    "29_manifest_duplicate_ids",
    "30_manifest_empty_split",
    "31_manifest_no_rows",
    "32_manifest_ragged_row",
    "33_jsonl_not_object",
    "34_unknown_label_in_task",
    "35_regression_on_text_label",
    "67_multilabel_all_empty",
]

# case directory -> {file name: bytes}; a value of None makes a directory.
CASES = {
    **{case: good_clips() for case in CLEAN_MANIFEST_CASES},
    "36_missing_audio_file": good_clips(),
    "37_text_named_wav": {
        **good_clips(),
        "notes.wav": b"These are my notes about the session, not audio.\n",
    },
    "38_header_only_wav": {
        **good_clips(),
        # RIFF, WAVE and a complete fmt chunk; no data chunk at all.
        "header.wav": riff(pcm16_fields(RATE), b"", with_data=False),
    },
    "39_zero_sample_wav": {
        **good_clips(),
        # A complete header whose data chunk holds 0 bytes.
        "silent.wav": pcm16([]),
    },
    "40_zero_byte_wav": {**good_clips(), "empty.wav": b""},
    "41_directory_as_wav": {
        **good_clips(),
        "clip.wav": None,
        "clip.wav/README.txt": b"A directory named like an audio file.\n",
    },
    "42_truncated_wav_header": {
        **good_clips(),
        # A valid clip cut after 30 bytes, inside its fmt chunk.
        "cut.wav": pcm16(sine(440.0))[:30],
    },
    "43_bad_riff_magic": {
        **good_clips(),
        # "RIFX" (big-endian RIFF, not WAV as written) instead of "RIFF".
        "magic.wav": b"RIFX" + pcm16(sine(440.0))[4:],
    },
    "44_unknown_wav_codec": {
        **good_clips(),
        # Format tag 0x1234: no such codec.
        "codec.wav": riff((0x1234, 1, RATE, RATE * 2, 2, 16), pcm16_data(sine(440.0))),
    },
    "45_all_files_bad_skip": {
        "a.wav": b"",
        "b.wav": b"not audio\n",
        "c.wav": riff(pcm16_fields(RATE), b"", with_data=False),
    },
    "60_wav_rate_1hz": {
        **good_clips(),
        # 8000 16-bit samples (16 000 bytes of data) that claim 1 Hz.
        "slow.wav": riff(pcm16_fields(1), pcm16_data(sine(440.0, n=8000))),
    },
    "61_wav_rate_4ghz": {
        **good_clips(),
        # 4 000 000 000 Hz; the byte rate (8e9) does not fit its 32-bit
        # field, so it holds the largest value that does.
        "fast.wav": riff(
            (1, 1, 4_000_000_000, 0xFFFFFFFF, 2, 16), pcm16_data(sine(440.0))
        ),
    },
    "64_nan_samples": {**good_clips(), "nan.wav": float32_nan()},
    "65_invalid_utf8_config": {
        # A config saved as Latin-1: "é" is the single byte 0xE9.
        "config.toml": (
            b"# A config saved in Latin-1, not UTF-8.\n"
            b"[run]\n"
            b'name = "caf\xe9"\n'
            b'out_dir = "out"\n'
            b"\n"
            b"[[datasets]]\n"
            b'name = "tones"\n'
            b'kind = "synthetic_tones"\n'
            b"n_items = 12\n"
            b"duration_s = 0.1\n"
            b"\n"
            b"[[encoders]]\n"
            b'name = "logmel"\n'
            b'kind = "logmel_stats"\n'
            b"\n"
            b"[[tasks]]\n"
            b'name = "timbre"\n'
            b'dataset = "tones"\n'
            b'target = "timbre"\n'
        ),
    },
    "71_truncated_wav_warns": {
        **good_clips(),
        # The header promises 8000 samples; the file was cut after 3000.
        "cut.wav": pcm16(sine(440.0, n=8000))[: 44 + 6000],
    },
    "72_silent_wav_warns": {**good_clips(), "quiet.wav": pcm16([0.0] * 4000)},
    "68_wav_rate_0hz": {
        **good_clips(),
        # A sample rate of 0 Hz (and so a byte rate of 0).
        "zero.wav": riff((1, 1, 0, 0, 2, 16), pcm16_data(sine(440.0))),
    },
}


def main():
    if not ROOT.is_dir():
        sys.exit(f"{ROOT}: not found; run from a repbench checkout")
    written = 0
    for case, files in CASES.items():
        case_dir = ROOT / case
        if not (case_dir / "expect.toml").is_file():
            sys.exit(f"{case_dir}: no expect.toml; write the case's text files first")
        for name, data in files.items():
            path = case_dir / name
            if data is None:
                if path.is_file():
                    path.unlink()
                path.mkdir(parents=True, exist_ok=True)
                continue
            if path.is_dir():
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if len(data) > 20_000:
                sys.exit(f"{path}: {len(data)} bytes; keep corpus files under 20 KB")
            path.write_bytes(data)
            written += 1
    print(f"wrote {written} files under {ROOT}")


if __name__ == "__main__":
    main()
