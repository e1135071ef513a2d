"""Write framework/tests/fixtures/librosa_dsp.json: librosa reference values
for repbench's mel filterbank, mel spectrogram, dB conversion and MFCC.

Run from the repository root with librosa installed (not needed by CI):
    python3 scripts/make_dsp_fixtures.py
"""
import json

import librosa
import numpy as np

SR = 16000
rng = np.random.default_rng(1234)
t = np.arange(4000) / SR
signal = (
    0.5 * np.sin(2 * np.pi * 440.0 * t)
    + 0.25 * np.sin(2 * np.pi * 1870.0 * t + 0.3)
    + 0.05 * rng.standard_normal(t.size)
).astype(np.float32)

fb = librosa.filters.mel(sr=SR, n_fft=512, n_mels=40, fmin=30.0, fmax=7600.0)
mel = librosa.feature.melspectrogram(
    y=signal, sr=SR, n_fft=512, hop_length=160, n_mels=40, center=True, pad_mode="constant"
)
mel_db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=13, dct_type=2, norm="ortho")

out = {
    "librosa_version": librosa.__version__,
    "sample_rate": SR,
    "signal": signal.tolist(),
    "filterbank": {"n_fft": 512, "n_mels": 40, "fmin": 30.0, "fmax": 7600.0, "weights": fb.tolist()},
    "melspec": {"n_fft": 512, "hop_length": 160, "n_mels": 40, "fmin": 0.0, "fmax": 8000.0,
                "power": mel.T.tolist(), "db": mel_db.T.tolist()},
    "mfcc": {"n_mfcc": 13, "values": mfcc.T.tolist()},
}
with open("framework/tests/fixtures/librosa_dsp.json", "w") as f:
    json.dump(out, f)
print("frames", mel.shape[1])
