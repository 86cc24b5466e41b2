"""Epoched NumPy arrays ``X (n, C, T)`` + labels -> Recording (as braindecode's
``create_from_X_y``): the epochs laid end to end, one event per epoch with its label, attr
``epoch_samples`` so that windows never straddle two epochs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import xarray as xr

from signalkit.errors import InputError
from signalkit.io.montage import canonical_names, montage_positions, naming_system
from signalkit.recording import event_variables, sensor_recording, validate_recording


def from_arrays(
    X: np.ndarray,
    y: Sequence,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    ch_types: Sequence[str] | str = "eeg",
    montage: str | None = "auto",
    subject: str = "",
    session: str = "",
    run: str = "",
    name: str = "arrays",
    modality: str = "eeg",
) -> xr.Dataset:
    """A Recording of ``n`` epochs ``X (n, C, T)`` (SI units) with labels ``y (n,)``.

    Event ``k`` starts at ``k * T / sfreq`` and lasts ``T / sfreq`` (its epoch, exactly);
    labels are kept as strings (``0 -> "0"``). EEG positions come from the template of the
    channel names' naming system (``montage="auto"``, head frame) or none (``None``).
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise InputError(f"{name}: X must be (n_epochs, n_channels, n_times), got shape {X.shape}")
    labels = [str(v) for v in np.asarray(y).reshape(-1).tolist()]
    n, c, t = X.shape
    if len(labels) != n:
        raise InputError(f"{name}: {n} epochs but {len(labels)} labels")
    if len(ch_names) != c:
        raise InputError(f"{name}: {c} channels but {len(ch_names)} channel names")
    types = [ch_types] * c if isinstance(ch_types, str) else list(ch_types)
    names = list(ch_names)
    pos = np.full((c, 3), np.nan)
    eeg = [nm for nm, tp in zip(names, types) if tp == "eeg"]
    system = naming_system(eeg) if montage == "auto" else montage
    if system is not None and eeg:
        mapping = canonical_names(eeg, system)
        names = [mapping.get(nm, nm) for nm in names]
        std = montage_positions(names, system)
        is_eeg = np.array([tp == "eeg" for tp in types])
        pos[is_eeg] = std[is_eeg]
    data = np.ascontiguousarray(np.transpose(X, (1, 0, 2)).reshape(c, n * t), dtype=np.float32)
    digest = hashlib.sha256(data.tobytes())
    digest.update("\0".join(labels).encode())
    rec = sensor_recording(
        data, sfreq=sfreq, ch_names=names, ch_types=types, pos=pos,
        events=event_variables(np.arange(n) * t / sfreq, np.full(n, t / sfreq), labels),
        subject=subject, session=session, run=run, source=name, sha256=digest.hexdigest(),
        attrs={"modality": modality, "epoch_samples": int(t), "epoch_tmin_s": 0.0, "pos_frame": "head"},
    )
    validate_recording(rec, modality, name=name)
    return rec
