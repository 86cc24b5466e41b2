"""Statistical weather baselines: a smoothed climatology and the forecasts built on it.

Every forecast model is compared with what a practitioner computes first (WeatherBench 2, Rasp et
al. 2024, section 5; Jolliffe & Stephenson, *Forecast Verification*):

* **persistence** ``f(t + L) = x(t)``;
* **climatology** ``f(t + L) = c(t + L)``;
* **anomaly persistence** ``f(t + L) = x(t) + c(t + L) - c(t)`` (today's anomaly persists);
* **linear** ``f(t + L) = c(t + L) + b0 + sum_j b_j a(t - j s)``: a least-squares regression per grid
  point, variable and lead time on the last ``p`` anomalies ``a = x - c`` (spaced ``s`` apart),
  fitted on the training split (a damped anomaly persistence with lags);
* **damped anomaly persistence** ``f(t + L) = c(t + L) + alpha_L a(t)``: today's anomaly decays by
  the factor ``alpha_L = sum a(t) a(t + L) / sum a(t)^2`` per grid point, variable and lead, fitted
  on the training split (least squares through the origin, :func:`damped_anomaly`).

The climatology ``c`` is the training-period mean per grid point and time of day, smoothed over the
year: ``kind="hour"`` is the mean per hour of day (what a month of data supports);
``kind="harmonic"`` fits, per hour of day and grid point, a mean plus ``harmonics`` annual
harmonics (``cos/sin(2 pi k y)``, ``y`` the fraction of the (365.2425-day) year) by least squares:
a raw day-of-year x hour mean of one year is mostly weather noise. ``kind="dayofyear_hour"`` (the
raw mean per day of year and hour, as WB2's 30-year ERA5 climatology) is kept for long records;
``kind="auto"`` is ``harmonic`` when the training period spans a year or more, else ``hour``.

Shapes: fields ``(T, V, H, W)`` (or any ``(T, ...)``), ``times (T,)`` datetime64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signalkit.errors import ConfigError
from signalkit.metrics.weather import day_of_year, hour_of_day  # noqa: F401  (re-exported)

KINDS = ("auto", "hour", "harmonic", "dayofyear_hour")
HOURS_PER_YEAR = 24 * 365.2425
_NS_PER_HOUR = 3_600_000_000_000


def _hours(times: np.ndarray) -> np.ndarray:
    """Hours since 1970 (float64) of datetime64 values."""
    return np.asarray(times).astype("datetime64[ns]").astype(np.int64) / _NS_PER_HOUR


def harmonic_basis(times: np.ndarray, harmonics: int) -> np.ndarray:
    """``(T, 1 + 2 * harmonics)``: ``1, cos(2 pi k y), sin(2 pi k y)`` for ``k = 1..harmonics``."""
    y = np.remainder(_hours(times) / HOURS_PER_YEAR, 1.0) * 2 * np.pi
    cols = [np.ones_like(y)]
    for k in range(1, harmonics + 1):
        cols += [np.cos(k * y), np.sin(k * y)]
    return np.stack(cols, 1)


def resolve_kind(kind: str, train_span_days: float) -> str:
    """``auto`` -> ``harmonic`` for a training period of a year or more, else ``hour``."""
    if kind not in KINDS:
        raise ConfigError(f"data.climatology: expected one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "auto":
        return "harmonic" if train_span_days >= 365 else "hour"
    return kind


class Climatology:
    """Smoothed climatology per grid point, accumulated block by block (larger than memory).

    ``add(fields, times)`` streams the training fields (NaN at masked points count as 0),
    ``at(times)`` evaluates ``c`` at any times ``-> (T, ...)`` float64. Per key (hour of day, or
    (day of year, hour) for ``dayofyear_hour``) it solves the normal equations of the basis
    (``[1]``, or the annual harmonics for ``harmonic``).
    """

    def __init__(self, kind: str = "hour", harmonics: int = 3):
        if kind not in KINDS or kind == "auto":
            raise ConfigError(f"data.climatology: expected hour, harmonic or dayofyear_hour, got {kind!r}")
        self.kind, self.harmonics = kind, int(harmonics) if kind == "harmonic" else 0
        self._gram: dict[tuple[int, int], np.ndarray] = {}
        self._rhs: dict[tuple[int, int], np.ndarray] = {}
        self.coef: dict[tuple[int, int], np.ndarray] = {}

    def _keys(self, times: np.ndarray) -> list[tuple[int, int]]:
        hours = hour_of_day(times)
        days = day_of_year(times) if self.kind == "dayofyear_hour" else np.zeros_like(hours)
        return list(zip(days.tolist(), hours.tolist()))

    def _basis(self, times: np.ndarray) -> np.ndarray:
        return harmonic_basis(times, self.harmonics)

    def add(self, fields: np.ndarray, times: np.ndarray) -> None:
        """Accumulate ``fields (T, ...)`` at ``times (T,)``."""
        x = np.nan_to_num(np.asarray(fields, np.float64))
        keys, basis = self._keys(times), self._basis(times)
        for key in set(keys):
            sel = np.array([k == key for k in keys])
            b = basis[sel]  # (n, P)
            self._gram[key] = self._gram.get(key, 0.0) + b.T @ b
            self._rhs[key] = self._rhs.get(key, 0.0) + np.tensordot(b.T, x[sel], axes=1)  # (P, ...)
        self.coef = {}

    def finish(self) -> Climatology:
        """Solve the normal equations (a tiny ridge keeps sparse keys well posed)."""
        if not self._gram:
            raise ConfigError("data.split.train: no training fields to compute the climatology from")
        for key, g in self._gram.items():
            n = g[0, 0]
            ridge = np.eye(len(g)) * 1e-6 * n
            ridge[0, 0] = 0.0
            rhs = self._rhs[key]
            sol = np.linalg.solve(g + ridge, rhs.reshape(len(g), -1))
            self.coef[key] = sol.reshape(rhs.shape)
        return self

    @property
    def keys(self) -> list[tuple[int, int]]:
        return sorted(self.coef or self._gram)

    def at(self, times: np.ndarray) -> np.ndarray:
        """Climatology at ``times (T,)`` -> ``(T, ...)`` float64."""
        if not self.coef:
            self.finish()
        keys, basis = self._keys(times), self._basis(times)
        missing = sorted({k for k in keys if k not in self.coef})
        if missing:
            what = "hour of day" if self.kind != "dayofyear_hour" else "(day of year, hour)"
            raise ConfigError(f"data.climatology: no training data at {what} {missing[0][1] if self.kind != 'dayofyear_hour' else missing[0]} "
                              f"(the training split has {len(self.coef)} keys); use a climatology the "
                              "training period covers")
        return np.stack([np.tensordot(basis[i], self.coef[k], axes=1) for i, k in enumerate(keys)])


# ------------------------------------------------------------------ forecasts
def persistence(x0: np.ndarray) -> np.ndarray:
    """``f = x(t)``; ``x0 (N, ...)``."""
    return np.asarray(x0, np.float64)


def anomaly_persistence(x0: np.ndarray, clim0: np.ndarray, clim_valid: np.ndarray) -> np.ndarray:
    """``f = x(t) + c(t + L) - c(t)``; all ``(N, ...)``."""
    return np.asarray(x0, np.float64) + clim_valid - clim0


class LinearAnomaly:
    """Per grid point (and variable) least-squares regression of ``a(t + L)`` on the last ``lags``
    anomalies ``a(t), a(t - s), ...`` and a constant, one fit per lead.

    ``add(history, targets)`` accumulates the normal equations from anomalies ``history
    (N, lags, ...)`` (oldest first, as the model's inputs) and ``targets (N, n_leads, ...)``;
    ``predict(history)`` -> ``(N, n_leads, ...)``. ``ridge`` is relative to the mean diagonal.
    """

    def __init__(self, lags: int, n_leads: int, ridge: float = 1e-3, constant: bool = True):
        self.lags, self.n_leads, self.ridge, self.constant = int(lags), int(n_leads), float(ridge), bool(constant)
        self._gram: np.ndarray | None = None  # (F, F, ...)
        self._rhs: np.ndarray | None = None  # (n_leads, F, ...)
        self.coef: np.ndarray | None = None  # (n_leads, F, ...)

    def _design(self, history: np.ndarray) -> np.ndarray:
        h = np.asarray(history, np.float64)
        if h.shape[1] < self.lags:
            raise ValueError(f"linear baseline: needs {self.lags} input steps, got {h.shape[1]}")
        feats = h[:, ::-1][:, : self.lags]  # a(t), a(t - s), ...
        if not self.constant:
            return feats
        return np.concatenate([feats, np.ones_like(feats[:, :1])], 1)  # (N, F, ...)

    def add(self, history: np.ndarray, targets: np.ndarray) -> None:
        d = self._design(history)
        t = np.asarray(targets, np.float64)
        gram = np.einsum("nf...,ng...->fg...", d, d)
        rhs = np.einsum("nf...,nl...->lf...", d, t)
        self._gram = gram if self._gram is None else self._gram + gram
        self._rhs = rhs if self._rhs is None else self._rhs + rhs
        self.coef = None

    def finish(self) -> LinearAnomaly:
        if self._gram is None:
            raise ConfigError("data.split.train: no training samples to fit the linear baseline on")
        g = np.moveaxis(self._gram, (0, 1), (-2, -1))  # (..., F, F)
        f = g.shape[-1]
        scale = np.trace(g, axis1=-2, axis2=-1)[..., None, None] / f
        reg = np.eye(f) * self.ridge
        if self.constant:
            reg[-1, -1] = 0.0  # the constant is not shrunk
        g = g + scale * reg + np.eye(f) * 1e-12
        rhs = np.moveaxis(self._rhs, (0, 1), (-1, -2))  # (..., F, L)
        sol = np.linalg.solve(g, rhs)  # (..., F, L)
        self.coef = np.moveaxis(sol, (-1, -2), (0, 1))  # (L, F, ...)
        return self

    def predict(self, history: np.ndarray) -> np.ndarray:
        """Anomaly forecasts ``(N, n_leads, ...)`` from ``history (N, lags, ...)``."""
        if self.coef is None:
            self.finish()
        return np.einsum("nf...,lf...->nl...", self._design(history), self.coef)


def damped_anomaly(n_leads: int) -> LinearAnomaly:
    """Damped anomaly persistence ``a(t + L) = alpha_L a(t)``: a :class:`LinearAnomaly` on the last
    anomaly only, without constant or shrinkage (``alpha_L = sum a(t) a(t+L) / sum a(t)^2`` per
    grid point, variable and lead). Feed it the same ``history (N, lags, ...)`` (it uses the last)."""
    return LinearAnomaly(lags=1, n_leads=n_leads, ridge=0.0, constant=False)


def lead_steps(lead_hours: Sequence[float], step_hours: float) -> list[int]:
    """Lead times in hours -> model steps (each must be a whole number of steps)."""
    return [int(round(float(h) / step_hours)) for h in lead_hours]
