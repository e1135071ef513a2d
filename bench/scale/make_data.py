"""Synthetic precomputed embeddings for the scale benches.

Usage: make_data.py DIR N_ITEMS DIM [N_ENCODERS]

Writes DIR/embeddings.npy (and embeddings_1.npy … for more encoders: the
same classes, independent noise), ids.txt, a manifest whose rows all point
at one short silent WAV (a precomputed encoder never decodes audio; the
dataset still hashes each row's file), and y.npy / split.npy for the
scikit-learn side. Classes differ along a 32-d subspace buried in
isotropic noise: a probe needs many items and the right regularisation.
"""
import sys
import wave

import numpy as np

d, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
encoders = int(sys.argv[4]) if len(sys.argv) > 4 else 1
rng = np.random.default_rng(0)
classes = 10
basis = (rng.standard_normal((32, dim)) / np.sqrt(dim)).astype(np.float32)
means = rng.standard_normal((classes, 32)).astype(np.float32) * 0.5
y = rng.integers(0, classes, n)
for e in range(encoders):
    x = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 10000):
        b = min(n, a + 10000)
        x[a:b] = means[y[a:b]] @ basis + rng.standard_normal((b - a, dim), dtype=np.float32)
    np.save(f"{d}/embeddings{'' if e == 0 else f'_{e}'}.npy", x)
    del x
split = np.where(np.arange(n) % 20 < 14, "train", np.where(np.arange(n) % 20 < 17, "valid", "test"))
ids = [f"item{i:06d}" for i in range(n)]
with open(f"{d}/ids.txt", "w") as f:
    f.write("\n".join(ids) + "\n")
with wave.open(f"{d}/silence.wav", "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    w.writeframes(b"\x00\x00" * 1600)
with open(f"{d}/manifest.csv", "w") as f:
    f.write("id,path,split,label\n")
    for i in range(n):
        f.write(f"{ids[i]},silence.wav,{split[i]},c{y[i]}\n")
np.save(f"{d}/y.npy", y)
np.save(f"{d}/split.npy", (np.arange(n) % 20 >= 14).astype(np.int8) + (np.arange(n) % 20 >= 17).astype(np.int8))
