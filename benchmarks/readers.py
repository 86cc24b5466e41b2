"""Reader speed: signalkit's read of a file (a whole Recording: signal, aux, events, positions,
sha256) against MNE's own read of the same file (``mne.io.read_raw(preload=True)``, or
``mne.read_epochs``/``read_epochs_eeglab`` for epochs), side by side in one process.

    python -m benchmarks.readers [--data ../shared/data] [--repeats 5]

Small generated files in every writable format (EDF, BDF, FIF, BrainVision, EEGLAB, -epo.fif;
32 channels at 256 Hz for 120 s) and the real files of the sample folder when present. Each
file is read ``--repeats`` times by both, alternating; the row is the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path


def _mne_read(path: Path):
    import mne

    name = path.name.lower()
    if name.endswith("-epo.fif"):
        return mne.read_epochs(path, preload=True, verbose="error").get_data()
    try:
        return mne.io.read_raw(path, preload=True, verbose="error").get_data()
    except (ValueError, TypeError) as err:
        if "read_epochs_eeglab" not in str(err):
            raise
        return mne.io.read_epochs_eeglab(path, verbose="error").get_data()


def _sk_read(path: Path, modality: str):
    from signalkit.io import read_recording

    return read_recording(path, modality)["signal"].values


def generated_files(out: Path, seconds: float = 120.0) -> dict[str, Path]:
    """One file per writable format: 30 EEG + 1 EOG + 1 stim channel, 256 Hz."""
    import mne
    import numpy as np

    rng = np.random.default_rng(0)
    sfreq, n = 256.0, int(seconds * 256)
    names = [f"{c}" for c in ("Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 CP5 CP1 CP2 CP6 "
                               "P7 P3 Pz P4 P8 PO3 PO4 O1 Oz O2").split()] + ["EOG1"]
    info = mne.create_info(names, sfreq, ["eeg"] * 30 + ["eog"])
    raw = mne.io.RawArray(rng.standard_normal((31, n)) * 1e-5, info, verbose="error")
    onsets = np.arange(2.0, seconds - 2, 4.0)
    raw.set_annotations(mne.Annotations(onsets, np.full(len(onsets), 1.0), ["a", "b"] * (len(onsets) // 2)
                                        + ["a"] * (len(onsets) % 2)))
    files = {}
    for fmt, name in (("edf", "g.edf"), ("bdf", "g.bdf"), ("brainvision", "g.vhdr"), ("eeglab", "g.set")):
        mne.export.export_raw(out / name, raw, fmt=fmt, overwrite=True, verbose="error")
        files[f"generated {fmt}"] = out / name
    raw.save(out / "g_raw.fif", verbose="error")
    files["generated fif"] = out / "g_raw.fif"
    events = mne.make_fixed_length_events(raw, duration=1.0)
    mne.Epochs(raw, events, tmin=0, tmax=1 - 1 / sfreq, baseline=None, preload=True,
               verbose="error").save(out / "g-epo.fif", verbose="error")
    files["generated -epo.fif"] = out / "g-epo.fif"
    return files


def real_files(data: Path | None) -> dict[str, tuple[Path, str]]:
    if data is None or not data.is_dir():
        return {}
    cands = {
        "EEGMMIDB edf": (data / "eeg" / "eegmmidb" / "S001R03.edf", "eeg"),
        "EEGLAB sample .set": (data / "eeg" / "test_raw.set", "eeg"),
        "Elekta MEG fif": (data / "meg" / "test_elekta_3ch_raw.fif", "meg"),
        "sEEG edf + electrodes.tsv": (data / "ieeg" / "sub-pat01_ses-test_acq-seeg_ieeg.edf", "ieeg"),
    }
    smni = sorted((data / "eeg" / "smni").glob("*-epo.fif"))
    if smni:
        cands["SMNI -epo.fif"] = (smni[0], "eeg")
    return {k: v for k, v in cands.items() if v[0].exists()}


def measure(path: Path, modality: str, repeats: int) -> tuple[float, float]:
    """Median seconds of (signalkit, MNE) over ``repeats`` alternating reads (one warm-up each)."""
    _sk_read(path, modality), _mne_read(path)
    sk, ref = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _mne_read(path)
        t1 = time.perf_counter()
        _sk_read(path, modality)
        t2 = time.perf_counter()
        ref.append(t1 - t0)
        sk.append(t2 - t1)
    return statistics.median(sk), statistics.median(ref)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        todo = {k: (v, "eeg") for k, v in generated_files(Path(tmp)).items()}
        todo.update(real_files(args.data))
        print("| file | signalkit s | MNE s | ratio |\n|---|---|---|---|")
        for label, (path, modality) in todo.items():
            sk, ref = measure(path, modality, args.repeats)
            rows.append({"file": label, "signalkit_s": sk, "mne_s": ref, "ratio": sk / ref})
            print(f"| {label} | {sk:.4f} | {ref:.4f} | {sk / ref:.2f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
