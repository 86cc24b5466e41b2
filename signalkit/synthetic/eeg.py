"""Seeded synthetic motor-imagery EEG written as real EDF files with annotations.

Each subject imagines left- or right-hand movement in 4 s trials. The background is 1/f
noise with realistic amplitude (~10 uV); mu (8-12 Hz) and beta (18-24 Hz) rhythms come from
two sources under C3 and C4 whose activity spreads over the scalp with distance. Imagery of
one hand desynchronises (ERD) the contralateral source, the lateralised signature that CSP and
deep decoders pick up in real data. ``python -m signalkit.synthetic.eeg <folder>`` writes the files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mne
import numpy as np

from signalkit.io.montage import montage_positions

MONTAGE_19 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
              "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]
MONTAGE_64 = ["FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "C5", "C3", "C1", "Cz", "C2",
              "C4", "C6", "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "Fp1", "Fpz", "Fp2",
              "AF7", "AF3", "AFz", "AF4", "AF8", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6",
              "F8", "FT7", "FT8", "T7", "T8", "T9", "T10", "TP7", "TP8", "P7", "P5", "P3", "P1",
              "Pz", "P2", "P4", "P6", "P8", "PO7", "PO3", "POz", "PO4", "PO8", "O1", "Oz", "O2", "Iz"]
MONTAGES = {"19": MONTAGE_19, "64": MONTAGE_64}
CLASSES = ("left_hand", "right_hand")


def _pink_noise(rng: np.random.Generator, n_ch: int, n_times: int, sfreq: float) -> np.ndarray:
    """``(n_ch, n_times)`` 1/f noise with unit standard deviation per channel."""
    spec = rng.standard_normal((n_ch, n_times // 2 + 1)) + 1j * rng.standard_normal((n_ch, n_times // 2 + 1))
    f = np.fft.rfftfreq(n_times, 1 / sfreq)
    spec *= 1.0 / np.sqrt(np.maximum(f, 0.5))
    x = np.fft.irfft(spec, n=n_times, axis=-1)
    return x / x.std(axis=-1, keepdims=True)


def _rhythm(rng: np.random.Generator, n_times: int, sfreq: float, freq: float) -> np.ndarray:
    """A narrow-band oscillation with slowly varying amplitude (unit RMS)."""
    t = np.arange(n_times) / sfreq
    drift = np.cumsum(rng.standard_normal(n_times)) / np.sqrt(sfreq) * 0.5
    env = 1.0 + 0.3 * np.sin(2 * np.pi * 0.13 * t + rng.uniform(0, 2 * np.pi))
    x = env * np.sin(2 * np.pi * freq * t + drift)
    return x / x.std()


def simulate_subject(
    subject: int,
    n_trials: int = 30,
    sfreq: float = 160.0,
    montage: str = "19",
    seed: int = 0,
    trial_s: float = 4.0,
) -> mne.io.RawArray:
    """One subject's recording: ``n_trials`` per class, shuffled, with rest between trials."""
    names = MONTAGES[montage]
    rng = np.random.default_rng([seed, subject])
    pos = montage_positions(names, "standard_1005")
    src = montage_positions(["C3", "C4"], "standard_1005")
    labels = rng.permutation(np.repeat(np.arange(len(CLASSES)), n_trials))
    rests = rng.uniform(2.0, 3.0, size=len(labels))
    n_times = int((trial_s * len(labels) + rests.sum() + 2.0) * sfreq)
    onsets = 1.0 + np.concatenate([[0], np.cumsum(trial_s + rests)[:-1]])
    # ERD gain per source over time: 1 at rest, 0.25 on the side contralateral to the hand
    gain = np.ones((2, n_times))
    ramp = int(0.3 * sfreq)
    for onset, label in zip(onsets, labels):
        a, b = int(onset * sfreq), int((onset + trial_s) * sfreq)
        side = 1 if CLASSES[label] == "left_hand" else 0  # left hand -> right hemisphere (C4)
        window = np.full(b - a, 0.25)
        window[:ramp] = np.linspace(1.0, 0.25, ramp)
        gain[side, a:b] = window
    mu = rng.uniform(9.0, 12.0)
    beta = rng.uniform(18.0, 24.0)
    sources = np.stack([
        gain[i] * (_rhythm(rng, n_times, sfreq, mu) + 0.5 * _rhythm(rng, n_times, sfreq, beta))
        for i in range(2)
    ])
    dist = np.linalg.norm(pos[:, None, :] - src[None, :, :], axis=-1)  # (C, 2)
    mixing = np.exp(-(dist**2) / (2 * 0.03**2))
    background = _pink_noise(rng, len(names), n_times, sfreq)
    shared = _pink_noise(rng, 1, n_times, sfreq)
    data = 8e-6 * mixing @ sources + 10e-6 * (0.8 * background + 0.6 * shared)
    info = mne.create_info(names, sfreq, ch_types="eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_montage(mne.channels.make_standard_montage(_montage_name()), verbose="error")
    raw.set_annotations(mne.Annotations(onsets, [trial_s] * len(labels), [CLASSES[k] for k in labels]))
    return raw


def _montage_name() -> str:
    from signalkit.io.montage import resolve_montage

    return resolve_montage("standard_1005")


def make_motor_imagery(
    out_dir: str | Path,
    n_subjects: int = 8,
    n_trials: int = 30,
    sfreq: float = 160.0,
    montage: str = "19",
    seed: int = 0,
    first_subject: int = 1,
) -> list[Path]:
    """Write ``sub-XX/sub-XX_task-mi_run-1_eeg.edf`` for each subject; return the paths."""
    out = Path(out_dir)
    paths = []
    for s in range(first_subject, first_subject + n_subjects):
        raw = simulate_subject(s, n_trials=n_trials, sfreq=sfreq, montage=montage, seed=seed)
        path = out / f"sub-{s:02d}" / f"sub-{s:02d}_task-mi_run-1_eeg.edf"
        path.parent.mkdir(parents=True, exist_ok=True)
        mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--trials", type=int, default=30, help="trials per class and subject")
    parser.add_argument("--montage", choices=sorted(MONTAGES), default="19")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = make_motor_imagery(args.out_dir, args.subjects, args.trials, montage=args.montage, seed=args.seed)
    print(f"wrote {len(paths)} EDF files to {args.out_dir}")


if __name__ == "__main__":
    main()
