"""Scalp maps: a per-channel quantity on the sensor layout, and the class difference of band power.

Positions come from a Recording (``pos (channel, xyz)`` in metres, NaN where unknown) or from a
data contract (``channels``, ``positions``); MNE projects them onto the head circle
(``mne.viz.plot_topomap``). Channels without a position are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

DEFAULT_BANDS: dict[str, tuple[float, float]] = {"mu (8-12 Hz)": (8.0, 12.0), "beta (18-26 Hz)": (18.0, 26.0)}


def _names_positions(recording: Any = None, contract: Mapping | None = None,
                     names: Sequence[str] | None = None, pos: Any = None) -> tuple[list[str], np.ndarray]:
    """Channel names and ``(C, 3)`` positions (metres) from a Recording, a contract or given arrays."""
    if recording is not None:
        from signalkit.recording import str_values

        names = [str(n) for n in str_values(recording["channel"].values)]
        pos = np.asarray(recording["pos"].values, dtype=float)
    elif contract is not None:
        names = [str(n) for n in contract["channels"]]
        pos = np.array([[np.nan if v is None else float(v) for v in p] for p in contract["positions"]], dtype=float)
    if names is None or pos is None:
        raise ValueError("give a recording, a data contract, or names and pos (C, 3)")
    pos = np.asarray(pos, dtype=float)
    if pos.shape != (len(names), 3):
        raise ValueError(f"positions must be (C, 3) = ({len(names)}, 3), got {pos.shape}")
    return list(names), pos


def _info(names: Sequence[str], pos: np.ndarray):
    """``mne.Info`` of the channels with finite positions; returns (info, kept indices)."""
    import mne

    keep = [i for i in range(len(names)) if np.isfinite(pos[i]).all()]
    if len(keep) < 3:
        raise ValueError(f"a topomap needs >= 3 channels with positions, got {len(keep)}")
    kept = [names[i] for i in keep]
    info = mne.create_info(kept, 100.0, "eeg")
    montage = mne.channels.make_dig_montage(ch_pos={n: pos[i] for n, i in zip(kept, keep)}, coord_frame="head")
    info.set_montage(montage, on_missing="ignore", verbose="error")
    return info, np.array(keep)


def _draw(ax, values: np.ndarray, info, cmap: str, vlim: tuple[float, float] | None, names: bool):
    import mne

    if vlim is None:
        lim = float(np.nanmax(np.abs(values))) or 1.0
        vlim = (-lim, lim) if cmap == "RdBu_r" else (float(np.nanmin(values)), float(np.nanmax(values)))
    im, _ = mne.viz.plot_topomap(values, info, axes=ax, show=False, cmap=cmap, vlim=vlim,
                                 names=info.ch_names if names else None)
    return im


def plot_topomap(values: Sequence[float], recording: Any = None, contract: Mapping | None = None,
                 names: Sequence[str] | None = None, pos: Any = None, title: str = "", units: str = "",
                 cmap: str = "RdBu_r", vlim: tuple[float, float] | None = None, show_names: bool = False) -> Figure:
    """Topomap of one value per channel ``values (C,)`` on the recording's / contract's sensor layout."""
    ch, p = _names_positions(recording, contract, names, pos)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(ch),):
        raise ValueError(f"values must have one entry per channel ({len(ch)}), got shape {values.shape}")
    info, keep = _info(ch, p)
    fig = Figure(figsize=(4, 3.6))
    ax = fig.subplots()
    im = _draw(ax, values[keep], info, cmap, vlim, show_names)
    fig.colorbar(im, ax=ax, shrink=0.8, label=units)
    ax.set_title(title)
    return fig


def band_power(windows: np.ndarray, sfreq: float, band: tuple[float, float]) -> np.ndarray:
    """Log10 mean Welch power in ``band`` of ``windows (N, C, T)``; returns ``(N, C)``."""
    from scipy.signal import welch

    x = np.asarray(windows, dtype=np.float64)
    f, pxx = welch(x, fs=sfreq, nperseg=min(x.shape[-1], int(sfreq)), axis=-1)
    sel = (f >= band[0]) & (f <= band[1])
    if not sel.any():
        raise ValueError(f"band {band} Hz holds no frequency bin at sfreq={sfreq}")
    return np.log10(pxx[..., sel].mean(axis=-1) + 1e-30)


def band_power_difference(windows: np.ndarray, labels: Sequence[int], sfreq: float,
                          bands: Mapping[str, tuple[float, float]] = DEFAULT_BANDS,
                          classes: tuple[int, int] = (1, 0)) -> dict[str, np.ndarray]:
    """Per band, ``(C,)`` mean log power of class ``classes[0]`` minus class ``classes[1]`` in dB.

    Args:
        windows: ``(N, C, T)`` signal windows (any units; a common scale cancels in the difference).
        labels: ``(N,)`` class ids.
    """
    y = np.asarray(labels)
    a, b = (y == classes[0]), (y == classes[1])
    if not a.any() or not b.any():
        raise ValueError(f"both classes {classes} need windows, got counts {int(a.sum())}, {int(b.sum())}")
    out = {}
    for name, band in bands.items():
        p = band_power(windows, sfreq, band)
        out[name] = 10.0 * (p[a].mean(axis=0) - p[b].mean(axis=0))
    return out


def plot_class_difference_topomap(windows: np.ndarray, labels: Sequence[int], sfreq: float,
                                  recording: Any = None, contract: Mapping | None = None,
                                  names: Sequence[str] | None = None, pos: Any = None,
                                  bands: Mapping[str, tuple[float, float]] = DEFAULT_BANDS,
                                  class_names: Sequence[str] = ("class 0", "class 1"),
                                  classes: tuple[int, int] = (1, 0)) -> Figure:
    """One topomap per band of the class difference of log band power (dB), shared colour scale.

    For left- vs right-hand motor imagery the mu/beta desynchronisation shows as a lateralised
    pair of poles over C3 and C4.
    """
    ch, p = _names_positions(recording, contract, names, pos)
    diffs = band_power_difference(windows, labels, sfreq, bands, classes)
    info, keep = _info(ch, p)
    lim = max(float(np.nanmax(np.abs(d[keep]))) for d in diffs.values()) or 1.0
    fig = Figure(figsize=(3.6 * len(diffs), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(diffs)))
    for ax, (name, d) in zip(axes, diffs.items()):
        im = _draw(ax, d[keep], info, "RdBu_r", (-lim, lim), False)
        ax.set_title(name)
        fig.colorbar(im, ax=ax, shrink=0.7, label="dB")
    fig.suptitle(f"log power: {class_names[classes[0]]} - {class_names[classes[1]]}")
    return fig
