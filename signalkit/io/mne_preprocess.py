"""Preprocessing at ingest for sensor recordings, declared in config and run by MNE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import mne

from signalkit.errors import ConfigError


@dataclass
class SensorPreprocess:
    """Ingest-time preprocessing of a sensor recording (all steps optional).

    Attributes:
        l_freq, h_freq: band-pass edges in Hz (``None`` leaves that side open), MNE FIR filter.
        notch: line-noise frequencies in Hz (e.g. ``[50]`` or ``[60, 120]``).
        resample: new sampling rate in Hz.
        reference: ``"average"``, a list of channel names, or ``None`` to keep the recorded one.
    """

    l_freq: float | None = None
    h_freq: float | None = None
    notch: Sequence[float] | None = None
    resample: float | None = None
    reference: str | Sequence[str] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_identity(self) -> bool:
        return not any([self.l_freq, self.h_freq, self.notch, self.resample, self.reference])

    def apply(self, raw: mne.io.BaseRaw) -> mne.io.BaseRaw:
        """Run the declared steps on ``raw`` (loaded into memory) and return it."""
        if self.is_identity:
            return raw
        if self.notch and not hasattr(raw, "notch_filter"):
            raise ConfigError("preprocess.notch: not available for epoched files (MNE Epochs have no notch "
                              "filter); band-pass, resample and reference are")
        raw.load_data(verbose="error")
        if self.reference is not None:
            ref = self.reference if isinstance(self.reference, str) else list(self.reference)
            try:
                raw.set_eeg_reference(ref, projection=False, verbose="error")
            except ValueError as err:
                raise ConfigError(f"preprocess.reference: {err}") from None
        nyq = raw.info["sfreq"] / 2.0
        if self.notch:
            freqs = [f for f in self.notch if f < nyq]
            if freqs:
                raw.notch_filter(freqs, picks="data", verbose="error")
        if self.l_freq is not None or self.h_freq is not None:
            if self.h_freq is not None and self.h_freq >= nyq:
                raise ConfigError(
                    f"preprocess.h_freq: {self.h_freq} Hz is not below Nyquist ({nyq} Hz)"
                )
            raw.filter(self.l_freq, self.h_freq, picks="data", verbose="error")
        if self.resample is not None:
            if self.resample <= 0:
                raise ConfigError(f"preprocess.resample: must be positive, got {self.resample}")
            raw.resample(self.resample, verbose="error")
        return raw
