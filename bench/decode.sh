#!/usr/bin/env bash
# Decode + resample to 16 kHz, and the log-mel feature pipeline, repbench
# against librosa, on the same files
# in one run: 40 WAV files of 30 s, 44.1 kHz stereo (16-bit), the same 40 as
# FLAC, and 10 as 192 kbit/s MP3. repbench decodes items in parallel (rayon,
# one item per thread in memory); librosa.load(path, sr=16000) runs one file
# after another, as it is normally called. Wall time is the figure; CPU time
# (all threads) is printed too, because other work on a shared machine
# slows the parallel run more than the sequential one. Needs python3 with numpy,
# soundfile and librosa, and the `flac` and `lame` command-line tools
# (Debian: apt-get install flac lame).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import sys
import numpy as np
import soundfile as sf
d = sys.argv[1]
rng = np.random.default_rng(0)
sr, n = 44100, 44100 * 30
t = np.arange(n) / sr
for i in range(40):
    f = 110.0 * 2 ** (i / 12)
    left = 0.3 * np.sin(2 * np.pi * f * t) + 0.05 * rng.standard_normal(n)
    right = 0.3 * np.sin(2 * np.pi * 1.5 * f * t) + 0.05 * rng.standard_normal(n)
    sf.write(f"{d}/clip{i:02}.wav", np.stack([left, right], axis=1), sr, subtype="PCM_16")
PY
for f in "$dir"/clip*.wav; do flac --silent -o "${f%.wav}.flac" "$f"; done
for i in 00 01 02 03 04 05 06 07 08 09; do lame --silent -b 192 "$dir/clip$i.wav" "$dir/clip$i.mp3"; done
ours=$(REPBENCH_BENCH_DIR="$dir" cargo bench --quiet -p repbench-datasets --bench decode 2>/dev/null)
echo "$ours"
python3 - "$dir" "$ours" <<'PY'
import glob, re, sys, time
import librosa
d, ours = sys.argv[1], sys.argv[2]
# Warm-up (imports, resampler set-up) outside the timings.
librosa.load(sorted(glob.glob(f"{d}/*.wav"))[0], sr=16000)
for ext in ["flac", "mp3", "wav"]:
    paths = sorted(glob.glob(f"{d}/*.{ext}"))
    t0, c0 = time.perf_counter(), time.process_time()
    total = sum(len(librosa.load(p, sr=16000)[0]) for p in paths)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    m = re.search(rf"repbench {ext}: .*?, ([0-9.]+) s, .*cpu ([0-9.]+) s", ours)
    ratio = secs / float(m.group(1))
    per_core = cpu / float(m.group(2))
    print(f"librosa {ext}: {len(paths)} files, {total / 16000:.1f} s of audio, {secs:.3f} s, cpu {cpu:.2f} s, {total / 16000 / secs:.0f}x real time")
    print(f"{ext}: repbench is {ratio:.1f}x faster than librosa in wall time (target >= 3x); per CPU second {per_core:.2f}x")
# The feature pipeline on the WAV and MP3 files, as librosa is normally
# called: load, log-mel (the logmel_stats defaults), mean/std pooling, one
# file after another.
import numpy as np
def features(p):
    y, _ = librosa.load(p, sr=16000)
    s = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=160, n_mels=64), top_db=80.0)
    return np.concatenate([s.mean(axis=1), s.std(axis=1)])
# Warm-up (lazy imports, the mel filterbank's first build) outside the timings.
features(sorted(glob.glob(f"{d}/*.wav"))[0])
for ext, target in (("wav", 5), ("mp3", 3)):
    paths = sorted(glob.glob(f"{d}/*.{ext}"))
    t0, c0 = time.perf_counter(), time.process_time()
    for p in paths:
        pooled = features(p)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    m = re.search(rf"repbench {ext} features: .*?, ([0-9.]+) s, cpu ([0-9.]+) s", ours)
    print(f"librosa {ext} features: {len(paths)} files, {secs:.3f} s, cpu {cpu:.2f} s, {pooled.size} pooled values per file")
    print(f"{ext} features: repbench is {secs / float(m.group(1)):.1f}x faster than librosa in wall time (target >= {target}x); per CPU second {cpu / float(m.group(2)):.2f}x")
PY
