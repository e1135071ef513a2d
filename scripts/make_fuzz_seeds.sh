#!/usr/bin/env bash
# Regenerates the compressed-audio seeds of the decoder fuzz test
# (framework/tests/fuzz_seeds/): a 0.25 s, 16 kHz mono sine as FLAC and
# MP3. Needs `flac` and `lame` (Debian: apt-get install flac lame). The WAV
# seeds are built by the test itself.
set -euo pipefail
cd "$(dirname "$0")/.."
out=framework/tests/fuzz_seeds
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/sine.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    w.writeframes(b"".join(
        struct.pack("<h", round(0.4 * 32767 * math.sin(2 * math.pi * 440 * i / 16000)))
        for i in range(4000)))
PY
flac --silent --force --best --no-padding -o "$out/sine.flac" "$tmp/sine.wav"
lame --quiet -b 32 "$tmp/sine.wav" "$out/sine.mp3"
ls -l "$out"
