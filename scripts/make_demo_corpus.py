"""Write configs/examples/demo_corpus/: 60 half-second 16 kHz WAV clips with
three manifests, so the manifest example configs run (and validate) as
shipped. Replace the manifest paths in those configs with your own data.

Labels (all exact, from the generator):
  genre   -- "low" / "mid" / "high" register (multiclass)
  tags    -- ";"-joined subset of {tonal, noisy, bright} (multilabel)
  arousal -- the clip's loudness in dB, valence -- its f0 in octaves above
             110 Hz (regression)
  artist  -- one of ten "artists", for group-disjoint splits

Run from the repository root with numpy installed (CI does not run it):
    python3 scripts/make_demo_corpus.py
"""
import json
import wave
from pathlib import Path

import numpy as np

out = Path("configs/examples/demo_corpus")
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(2026)
sr, n = 16000, 8000
t = np.arange(n) / sr
registers = {"low": (110, 220), "mid": (220, 440), "high": (440, 880)}
rows = []
for i in range(60):
    genre = list(registers)[i % 3]
    f0 = float(rng.uniform(*registers[genre]))
    tonal, noisy, bright = bool(rng.random() < 0.7), bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    if not (tonal or noisy):
        tonal = True
    x = np.zeros(n)
    if tonal:
        for k in range(1, 12 if bright else 3):
            x += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
    if noisy:
        x += 0.5 * rng.standard_normal(n)
    level_db = float(rng.uniform(-30, -6))
    x *= 10 ** (level_db / 20) / np.max(np.abs(x))
    name = f"clip{i:02}.wav"
    with wave.open(str(out / name), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    tags = ";".join(tag for tag, on in [("tonal", tonal), ("noisy", noisy), ("bright", bright)] if on)
    rows.append({
        "id": f"c{i:02}", "path": name, "split": ["train", "train", "train", "valid", "test"][(i // 3) % 5],
        "genre": genre, "tags": tags, "artist": f"artist{i % 10}",
        "arousal": round(level_db, 3), "valence": round(float(np.log2(f0 / 110)), 4),
    })
with open(out / "manifest.csv", "w") as f:
    f.write("id,path,genre,artist\n")
    f.writelines(f"{r['id']},{r['path']},{r['genre']},{r['artist']}\n" for r in rows)
with open(out / "tags.jsonl", "w") as f:
    f.writelines(json.dumps({k: r[k] for k in ("id", "path", "tags", "artist")}) + "\n" for r in rows)
with open(out / "emotion.csv", "w") as f:
    f.write("id,path,split,arousal,valence\n")
    f.writelines(f"{r['id']},{r['path']},{r['split']},{r['arousal']},{r['valence']}\n" for r in rows)
print(f"wrote {len(rows)} clips to {out}")
