"""What travels between the layers: the batch keys and the data contract of each modality.

* :class:`Batch`: every key a data module puts in a batch (a plain ``dict`` at run time; the
  ``TypedDict`` documents and type-checks it). Shapes per modality: eeg/meg/ieeg ``x (B, C, T)``,
  fMRI ``x (B, T, X, Y, Z)`` (volume) or ``(B, R, T)`` (regions), weather ``x (B, T, V, H, W)``,
  video ``x (B, T, C, H, W)``.
* :class:`DataContract` and one subclass per modality: what a data module's ``data_contract()``
  promises, what a pretrained folder's ``config.json`` carries under ``data_contract`` and what a
  model expects. ``to_dict`` / ``from_dict`` keep the on-disk format a plain dict with the same keys
  as before (old pretrained folders load; keys a newer writer added are kept in ``extra``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypedDict

from torch import Tensor

from signalkit.errors import ConfigError


class Batch(TypedDict, total=False):
    """The keys of a batch (all optional but ``x``; which appear depends on the modality).

    Keys:
        x: the signal. eeg/meg/ieeg ``(B, C, T)`` float32 (normalised); fMRI volume
            ``(B, T, X, Y, Z)``, fMRI regions ``(B, R, T)``; weather ``(B, history, V, H, W)``
            (normalised); video ``(B, T_in, C, H, W)`` in [0, 1].
        y: the target. Decoding: class ids ``(B,)`` int64; forecasting: the following frames or
            fields (fMRI ``(B, horizon, X, Y, Z)``, weather ``(B, K, V, H, W)``, video
            ``(B, T_out, C, H, W)``). Absent for unlabelled windows.
        pos: sensor (or region centroid) positions ``(B, C, 3)`` in metres, NaN -> 0.
        ch_type: channel type ids ``(B, C)`` int64 (index into ``signalkit.recording.CH_TYPES``).
        ch_mask: ``(B, C)`` bool, True for real channels of batches that mix montages (padding False).
        rec: recording number of every window ``(B,)`` int64 (for messages and per-recording statistics).
        time: weather init time of every sample ``(B,)`` float64, hours since 1970.
        init: weather init index within its recording ``(B,)`` int64.
        lat: ``(H,)`` latitudes in degrees (area weighting); lon: ``(W,)`` longitudes in degrees.
        mask: weather ``(H, W)`` bool, True where the product has no data.
        voxel_mask: fMRI ``(B, X, Y, Z)`` bool brain mask.
        voxel_mean: fMRI ``(B, X, Y, Z)`` each voxel's temporal mean (reconstruction baseline; leaves
            the batch with layout-b's task rework).
        global_mean: fMRI ``(B,)`` the run's mean over brain voxels (baseline, as ``voxel_mean``).
    """

    x: Tensor
    y: Tensor
    pos: Tensor
    ch_type: Tensor
    ch_mask: Tensor
    rec: Tensor
    time: Tensor
    init: Tensor
    lat: Tensor
    lon: Tensor
    mask: Tensor
    voxel_mask: Tensor
    voxel_mean: Tensor
    global_mean: Tensor


BATCH_KEYS: tuple[str, ...] = tuple(Batch.__annotations__)


@dataclass
class DataContract:
    """The input contract shared by a data module, a pretrained folder and a model.

    Subclasses add the fields of one modality; :meth:`from_dict` picks the subclass from
    ``modality``. Keys the class does not know are kept in ``extra`` and written back by
    :meth:`to_dict`, so a contract round-trips unchanged.
    """

    modality: str | None = None
    normalization: Any = None
    target_names: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    MODALITIES: ClassVar[tuple[str, ...]] = ()
    _BY_MODALITY: ClassVar[dict[str, type[DataContract]]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for m in cls.MODALITIES:
            DataContract._BY_MODALITY[m] = cls

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DataContract:
        """The contract of a plain dict (``config.json``'s ``data_contract``, a checkpoint's)."""
        data = dict(data or {})
        if not isinstance(data.get("modality", ""), (str, type(None))):
            raise ConfigError(f"data_contract.modality: expected a string, got {data['modality']!r}")
        target = cls if cls is not DataContract else DataContract._BY_MODALITY.get(str(data.get("modality")), cls)
        names = {f.name for f in dataclasses.fields(target)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        contract = target(**known, extra=extra)
        contract._present = set(known)
        return contract

    @classmethod
    def of(cls, **fields: Any) -> DataContract:
        """A contract of the given fields; every one given (``None`` included) is written by :meth:`to_dict`."""
        return cls.from_dict(fields)

    def to_dict(self) -> dict[str, Any]:
        """The plain dict written to ``config.json``: fields that are ``None`` and were never given
        are left out, unknown keys (``extra``) are kept."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in self._present or value is not None:
                out[f.name] = value
        out.update(self.extra)
        return out

    def __post_init__(self) -> None:
        self._present: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style access for code written against the plain-dict contract."""
        if key != "extra" and key in {f.name for f in dataclasses.fields(self)}:
            return getattr(self, key)
        return self.extra.get(key, default)


@dataclass
class SensorContract(DataContract):
    """EEG / MEG / iEEG: what :class:`signalkit.datamodules.SignalDataModule` promises."""

    MODALITIES: ClassVar[tuple[str, ...]] = ("eeg", "meg", "ieeg")
    sfreq: float | None = None
    window_s: float | None = None
    n_times: int | None = None
    channels: list[str] | None = None
    ch_types: list[str] | None = None
    positions: list[list[float | None]] | None = None


@dataclass
class FMRIContract(DataContract):
    """fMRI volumes or atlas regions (``mode``)."""

    MODALITIES: ClassVar[tuple[str, ...]] = ("fmri",)
    mode: str | None = None
    tr: float | None = None
    window_s: float | None = None
    n_frames: int | None = None
    horizon: int | None = None
    grid: list[int] | None = None
    affine: Any = None
    channels: list[str] | None = None
    positions: list[list[float]] | None = None


@dataclass
class WeatherContract(DataContract):
    """Gridded weather fields."""

    MODALITIES: ClassVar[tuple[str, ...]] = ("weather",)
    variables: list[str] | None = None
    lat: list[float] | None = None
    lon: list[float] | None = None
    mask: list[list[int]] | None = None
    dt_hours: float | None = None
    step_hours: float | None = None
    history: int | None = None
    lead_times: list[int] | None = None
    units: list[str] | None = None
    anomalies: bool | None = None  # inputs and targets are anomalies against the climatology
    climatology: str | None = None  # its kind (signalkit.baselines.weather)
    static: list[str] | None = None  # time-invariant input fields (land-sea mask, orography, ...)


@dataclass
class VideoContract(DataContract):
    """Video frames (values in ``value_range``)."""

    MODALITIES: ClassVar[tuple[str, ...]] = ("video",)
    t_in: int | None = None
    t_out: int | None = None
    channels: int | None = None
    height: int | None = None
    width: int | None = None
    value_range: list[float] | None = None
    fps: float | None = None


def contract_dict(contract: DataContract | Mapping[str, Any] | None) -> dict[str, Any]:
    """A contract as the plain dict the pretrained format stores (dicts pass through, copied)."""
    if isinstance(contract, DataContract):
        return contract.to_dict()
    return dict(contract or {})


__all__ = ["BATCH_KEYS", "Batch", "DataContract", "FMRIContract", "SensorContract", "VideoContract",
           "WeatherContract", "contract_dict"]
