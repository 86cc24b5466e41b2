"""Forecasting: the one autoregressive :func:`rollout` and the forecasting tasks built on it.

* :func:`rollout`: append each prediction to the input window and predict again (weather fields,
  fMRI frames and video frames all roll out through it).
* :class:`WeatherForecastingTask`: autoregressive field forecasting with WeatherBench 2 test metrics.
* :class:`FMRIForecastingTask`: next-frame fMRI forecasting with a causal model.
* :class:`~signalkit.tasks.video_forecasting.VideoForecastingTask` (its own module: OpenSTL metrics).

Weather batches (``datamodules/weather.py``): ``x (B, history, V, H, W)`` and ``y (B, K, V, H, W)``
normalised fields (masked points 0), ``time (B,)`` init time in hours since 1970, ``lat (H,)``,
``lon (W,)``, ``mask (H, W)`` (True = no data). One model step predicts
``next = last + diff_std * head(...)`` (residual in units of the one-step change); ``K`` steps are
rolled out autoregressively, feeding predictions back as inputs. The loss is the latitude-weighted
MSE over valid points of ``(next - target) / diff_std``, averaged over the rollout steps; the
number of rollout steps grows from 1 to ``rollout_steps`` at ``rollout_start_epoch`` (multi-step
fine-tuning). The test computes, per variable and lead time, RMSE / ACC / bias exactly as WB2
(:mod:`signalkit.metrics.weather`) for the model and for the persistence and climatology
baselines on the same init times, in physical units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Unpack

import numpy as np
import torch
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection

from signalkit.errors import ConfigError
from signalkit.metrics import weather as wm
from signalkit.tasks.base import BaseTask, BaseTaskOptions, task_model
from signalkit.tasks.skill import SkillTask
from signalkit.tasks.volumes import time_first, time_patch, valid_mask
from signalkit.tasks.registry import TASKS


def rollout(step: Callable[[Tensor, int], Tensor], window: Tensor, steps: int, keep: int | None = None) -> Tensor:
    """Autoregressive rollout along dimension 1 (time) -> ``(B, steps, ...)``.

    ``window (B, T, ...)`` is the input; ``step(window, i)`` (``i`` = 0, 1, ... the call number)
    returns the next ``s >= 1`` frames ``(B, s, ...)``, which are appended to the window before the
    next call. ``keep`` trims the window to its last ``keep`` frames after each append (``None``:
    it grows). Predictions beyond ``steps`` frames are dropped. Gradients flow unless the caller
    runs it under ``torch.no_grad()``.
    """
    out, n, i = [], 0, 0
    while n < steps:
        nxt = step(window, i)
        if nxt.dim() != window.dim() or nxt.shape[1] < 1:
            raise ValueError(f"rollout: step returned {tuple(nxt.shape)} for a window {tuple(window.shape)}")
        out.append(nxt)
        n, i = n + nxt.shape[1], i + 1
        window = torch.cat([window, nxt], 1)
        if keep is not None:
            window = window[:, -keep:]
    return torch.cat(out, 1)[:, :steps]


def gather_per_init(acc: dict[str, np.ndarray], keys: np.ndarray,
                    gather: Callable[[Tensor], Tensor]) -> dict[str, np.ndarray]:
    """Per-sample test values of every rank, each (recording, init time) once.

    ``acc`` maps a metric to its per-sample values ``(N, V)`` on this rank and ``keys (N, 2)`` int64
    holds each sample's (recording number, init time in ns): two recordings may share init times,
    and both count. ``gather`` is ``LightningModule.all_gather`` (``(N, ...)`` -> ``(world, N, ...)``;
    DDP's ``DistributedSampler`` gives every rank the same ``N`` by repeating samples, which appear
    here twice and are kept once). Returns ``(N_total, V)`` per metric, ordered by (recording, init).
    """
    keys = np.asarray(keys, np.int64).reshape(-1, 2)
    every = gather(torch.from_numpy(np.ascontiguousarray(keys))).reshape(-1, 2).cpu().numpy()
    _, first = np.unique(every, axis=0, return_index=True)
    out = {}
    for key, vals in acc.items():
        g = gather(torch.from_numpy(np.ascontiguousarray(vals))).cpu().numpy()
        out[key] = g.reshape(-1, *vals.shape[1:])[first]
    return out


@TASKS.register("weather_forecasting", aliases=("forecasting_weather",))
class WeatherForecastingTask(BaseTask):
    """Field forecasting (weather). Args besides :class:`BaseTask`'s:

    rollout_steps: autoregressive steps trained on (at most the data's ``rollout_steps``).
    rollout_start_epoch: epochs trained on one step before the multi-step rollout starts.
    init_local_from_linear: start the head's per-grid-point linear term (``model.head.local_linear``)
        at the data module's one-step linear anomaly regression (fitted on the training split), so
        training starts from that statistical forecast and the network learns its corrections.
    gate: at test, blend the network's forecast with the best statistical start per lead and
        variable, the blend weight chosen on the validation days (:meth:`fit_gate`), so that the
        reported model is never worse there than its best baseline.
    """

    def __init__(
        self,
        *,
        rollout_steps: int = 1,
        rollout_start_epoch: int = 0,
        init_local_from_linear: bool = False,
        gate: bool = True,
        **base: Unpack[BaseTaskOptions],
    ):
        contract = base["data_contract"] = dict(base.get("data_contract") or {})
        if "variables" not in contract:
            raise ConfigError("task: the weather forecasting task needs a weather data module (data=weather)")
        super().__init__(**base)
        norm = contract["normalization"]
        self.register_buffer("mean", torch.tensor(norm["mean"], dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(norm["std"], dtype=torch.float32), persistent=False)
        self.register_buffer("diff_std", torch.tensor(norm["diff_std"], dtype=torch.float32), persistent=False)
        self.variables = list(contract["variables"])
        self.step_hours = float(contract["step_hours"])
        self.lead_times = [float(h) for h in contract["lead_times"]]
        self.anomalies = bool(contract.get("anomalies", False))
        self.extra_test_metrics: dict[str, float] = {}
        self.gate: dict = {}  # {lead: (start names (V,), weights (V,))}, see fit_gate
        self._predict_baselines: dict = {}

    def setup(self, stage: str) -> None:
        """Before a fit (and before a checkpoint's weights are restored): the linear start."""
        if stage == "fit" and self.hparams.get("init_local_from_linear"):
            dm = getattr(self.trainer, "datamodule", None)
            self.init_local_linear(getattr(dm, "baselines", None) or {})

    @torch.no_grad()
    def init_local_linear(self, baselines: dict) -> bool:
        """Set the head's local term to the one-step linear regression ``a(t+s) = sum_j c_j a(t-js) + c``:
        ``delta = ((c_0 - 1) a(t) + sum_{j>0} c_j a(t-js) + c) / diff_std``. False when the head has
        no local term or the baselines have no one-step fit (``baselines["linear"]`` when one step is
        among its ``lead_steps``, else ``baselines["linear_one_step"]``)."""
        head = getattr(self.model, "head", None)
        lin, steps = baselines.get("linear"), list(baselines.get("lead_steps") or [])
        if 1 not in steps:  # lead times beyond one step: the data module's separate one-step fit
            lin, steps = baselines.get("linear_one_step"), [1]
        if getattr(head, "local_weight", None) is None or lin is None:
            return False
        if lin.coef is None:
            lin.finish()
        coef = torch.as_tensor(lin.coef[steps.index(1)], dtype=torch.float32)  # (lags + 1, V, H, W): a(t), a(t - s), ..., constant
        lags = coef.shape[0] - 1
        scale = self.diff_std.cpu()[:, None, None]
        weight = torch.zeros_like(head.local_weight)
        for j in range(lags):  # the head's inputs are oldest first
            weight[-1 - j] = (coef[j] - (1.0 if j == 0 else 0.0)) / scale
        head.local_weight.copy_(weight.to(head.local_weight.device))
        head.local_bias.copy_((coef[-1] / scale).to(head.local_bias.device))
        return True

    def complete_model_config(self, model: dict, data_contract: dict | None) -> None:
        tok = model.setdefault("tokenizer", {})
        tok["n_vars"] = len(data_contract["variables"])
        tok["history"] = int(data_contract["history"])
        tok["n_static"] = len(data_contract.get("static") or [])
        head = model.setdefault("head", {})
        if head.get("local_linear"):  # the per-grid-point linear term needs the grid size
            head["grid"] = [len(data_contract["lat"]), len(data_contract["lon"])]

    def configure_metrics(self) -> MetricCollection:
        """``loss``: the rollout loss, averaged over the epoch's samples."""
        return MetricCollection({"loss": MeanMetric()})

    def _log_loss(self, stage: str, loss: Tensor, n: int) -> None:
        metrics = self.metrics_for(stage)
        metrics["loss"].update(loss.detach(), n)
        self.log_dict(metrics, prog_bar=stage != "test", on_epoch=True, on_step=False, batch_size=n)

    # ------------------------------------------------------------ forecast
    def step_once(self, state: Tensor, batch: dict, hours: Tensor) -> Tensor:
        """One model step: ``state (B, history, V, H, W)`` -> next field ``(B, V, H, W)``."""
        sub = {**batch, "x": state, "time": hours}
        delta = self.model(sub)
        nxt = state[:, -1] + self.diff_std[:, None, None] * delta
        return nxt.masked_fill(batch["mask"].to(nxt.device), 0.0)

    def rollout(self, batch: dict, steps: int) -> Tensor:
        """Autoregressive forecast ``(B, steps, V, H, W)`` (normalised units) from ``batch["x"]``."""
        hours = [batch["time"]]  # init time of the current state, advanced one step per call

        def step(state: Tensor, i: int) -> Tensor:
            nxt = self.step_once(state, batch, hours[0])
            hours[0] = hours[0] + self.step_hours
            return nxt[:, None]

        return rollout(step, batch["x"], steps, keep=batch["x"].shape[1])

    def _weights(self, batch: dict) -> Tensor:
        lat = batch["lat"].detach().cpu().numpy()
        w = torch.tensor(wm.area_weights(lat, batch["mask"].shape[-1], batch["mask"].cpu().numpy()),
                         dtype=torch.float32, device=batch["x"].device)
        return w / w.sum()

    def loss_fn(self, pred: Tensor, target: Tensor, batch: dict) -> Tensor:
        """Latitude-weighted masked MSE of ``(pred - target) / diff_std`` over ``(B, K, V, H, W)``."""
        err = ((pred - target) / self.diff_std[:, None, None]) ** 2
        return (err * self._weights(batch)).sum(dim=(-2, -1)).mean()

    def _train_steps(self, available: int) -> int:
        if self.current_epoch < self.hparams.rollout_start_epoch:
            return 1
        return max(1, min(int(self.hparams.rollout_steps), available))

    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        k = self._train_steps(batch["y"].shape[1])
        loss = self.loss_fn(self.rollout(batch, k), batch["y"][:, :k], batch)
        if not self.check_loss(loss, batch):
            return None
        self._log_loss("train", loss, len(batch["x"]))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        k = batch["y"].shape[1]
        loss = self.loss_fn(self.rollout(batch, k), batch["y"], batch)
        self._log_loss("val", loss, len(batch["x"]))

    # ---------------------------------------------------------------- test
    def _physical(self, x: Tensor, clim: Tensor | None = None) -> np.ndarray:
        """Normalised ``x (B, V, H, W)`` -> physical units (float64): ``x * std + mean (+ clim)``."""
        phys = x.float() * self.std[:, None, None] + self.mean[:, None, None]
        if self.anomalies and clim is not None:
            phys = phys + clim.to(phys.device, phys.dtype)
        return phys.cpu().numpy().astype(np.float64)

    def _baselines(self) -> dict:
        loaders = self.trainer.test_dataloaders if self._trainer is not None else None
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        return getattr(getattr(loader, "dataset", None), "baselines", None) or {}

    def forecasts(self, batch: dict, base: dict | None = None) -> tuple[dict, np.ndarray, dict]:
        """The model's and the baselines' forecasts of a batch, physical units (float64).

        Returns ``({lead: {name: (B, V, H, W)}}, w (H, W), {lead: observed (B, V, H, W)})`` with
        ``name`` ``""`` (the network), ``_persistence`` ``x(t)``, and where the batch has the
        climatology ``_climatology`` ``c(t+L)``, ``_anomaly_persistence`` ``x(t) + c(t+L) - c(t)``,
        ``_linear`` and ``_damped_anomaly_persistence`` (:mod:`signalkit.baselines.weather`, fitted
        on the training split). Leads beyond the batch's targets are left out."""
        base = base or {}
        k = batch["y"].shape[1]
        pred = self.rollout(batch, k)
        mask = batch["mask"].cpu().numpy()
        w = wm.area_weights(batch["lat"].cpu().numpy(), mask.shape[-1], mask)
        has_clim = "clim_y" in batch
        last = self._physical(batch["x"][:, -1], batch.get("clim_x", batch["x"])[:, -1] if has_clim else None)
        fits = {}
        if has_clim:
            hist = batch["x"].double().cpu().numpy()
            if not self.anomalies:  # the regressions are on anomalies (normalised units)
                hist = hist - batch["clim_x"].double().cpu().numpy() / self.std.cpu().numpy()[:, None, None]
            for name, key in (("_linear", "linear"), ("_damped_anomaly_persistence", "damped")):
                if base.get(key) is not None:
                    fits[name] = base[key].predict(hist)  # (B, n_leads, V, H, W)
        std, mean = (a.cpu().numpy().astype(np.float64)[:, None, None] for a in (self.std, self.mean))
        out, obs = {}, {}
        for li, lead in enumerate(self.lead_times):
            j = int(round(lead / self.step_hours)) - 1
            if j >= k:
                continue
            cy = batch["clim_y"][:, j] if has_clim else None
            obs[lead] = self._physical(batch["y"][:, j], cy)
            fc = {"": self._physical(pred[:, j], cy), "_persistence": last}
            if has_clim:
                c, c0 = cy.double().cpu().numpy(), batch["clim_x"][:, -1].double().cpu().numpy()
                fc["_climatology"] = c
                fc["_anomaly_persistence"] = last + c - c0
                for name, anom in fits.items():
                    fc[name] = anom[:, li] * std + mean + c
            out[lead] = fc
        return out, w, obs

    # ------------------------------------------------------------ the gate
    def fit_gate(self, loader) -> dict:
        """Choose, per lead and variable on ``loader`` (the validation days), the forecast
        ``start + g (network - start)``: ``start`` any baseline of :meth:`forecasts`, ``g`` in [0, 1]
        the least-squares blend weight (closed form), the pair of lowest latitude-weighted MSE. On
        those days it is never worse than the best baseline (``g = 0``) nor than the network
        (``g = 1``). Sets and returns ``self.gate = {lead: (start names (V,), weights (V,))}``."""
        sums: dict = {}
        base = getattr(getattr(loader, "dataset", None), "baselines", None) or {}
        was_training = self.training
        self.eval()
        with torch.no_grad():
            for batch in loader:
                batch = {key: v.to(self.device) if isinstance(v, Tensor) else v for key, v in batch.items()}
                fcs, w, obs = self.forecasts(batch, base)
                for lead, fc in fcs.items():
                    o, f = obs[lead], fc[""]
                    for name, st in fc.items():
                        if name == "":
                            continue
                        e, d = st - o, f - st
                        abc = np.stack([(e * e * w).sum((-2, -1)), (e * d * w).sum((-2, -1)),
                                        (d * d * w).sum((-2, -1))]).sum(1)  # (3, V)
                        key = (lead, name)
                        sums[key] = sums.get(key, 0.0) + abc
        self.train(was_training)
        gate = {}
        for lead in sorted({lead for lead, _ in sums}):
            names = [n for (ld, n) in sums if ld == lead]
            best_sse, best_name, best_g = None, None, None
            for name in names:
                a, b, c = sums[(lead, name)]
                g = np.clip(np.where(c > 0, -b / np.where(c > 0, c, 1.0), 0.0), 0.0, 1.0)
                sse = a + 2 * g * b + g * g * c  # (V,)
                if best_sse is None:
                    best_sse, best_name, best_g = sse, np.array([name] * len(sse), object), g
                else:
                    better = sse < best_sse
                    best_sse = np.where(better, sse, best_sse)
                    best_name = np.where(better, name, best_name)
                    best_g = np.where(better, g, best_g)
            gate[lead] = (list(best_name), best_g.astype(np.float64))
        self.gate = gate
        return gate

    def _gate_loader(self):
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        make = getattr(dm, "scoring_dataloader", None)
        return make("val") if callable(make) else None

    def on_test_epoch_start(self) -> None:
        self._acc: dict[str, list] = defaultdict(list)
        self._keys: list[np.ndarray] = []
        self.gate = {}
        if self.hparams.get("gate", True):
            loader = self._gate_loader()
            if loader is not None:
                self.fit_gate(loader)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        """Model and baselines on the same init times, per variable and lead (physical units):
        persistence ``x(t)``, climatology ``c(t+L)``, anomaly persistence ``x(t) + c(t+L) - c(t)``,
        the linear anomaly regression and the damped anomaly persistence
        (:mod:`signalkit.baselines.weather`). With a gate (:meth:`fit_gate`, chosen on the
        validation days) the model's forecast ``rmse`` is the gated one and the network's own
        is ``rmse_network``."""
        k = batch["y"].shape[1]
        self._log_loss("test", self.loss_fn(self.rollout(batch, k), batch["y"], batch), len(batch["x"]))
        fcs, w, obs = self.forecasts(batch, self._baselines())
        has_clim = "clim_y" in batch
        init_ns = (batch["time"].double().cpu().numpy() * 3600e9).round().astype(np.int64)
        rec = batch["rec"].cpu().numpy() if "rec" in batch else np.zeros(len(init_ns), np.int64)
        self._keys.append(np.stack([rec.astype(np.int64), init_ns], 1))
        for lead, forecasts in fcs.items():
            o = obs[lead]
            if lead in (getattr(self, "gate", None) or {}):
                forecasts = {**forecasts, "": self.gated(forecasts, lead), "_network": forecasts[""]}
            for name, fc in forecasts.items():
                self._acc[f"mse{name}@{lead:g}"].append(wm.mse_per_time(fc, o, w))
                if has_clim and name != "_climatology":
                    self._acc[f"acc{name}@{lead:g}"].append(wm.acc_per_time(fc, o, forecasts["_climatology"], w))
            self._acc[f"bias@{lead:g}"].append(wm.spatial_mean(forecasts[""] - o, w))

    def on_test_epoch_end(self) -> None:
        out: dict[str, float] = {}
        per_init = {key: np.concatenate(parts) for key, parts in self._acc.items()}  # (N, V) each
        if self._trainer is not None and self.trainer.world_size > 1:  # every rank scores every init time
            per_init = gather_per_init(per_init, np.concatenate(self._keys), self.all_gather)
        for key, vals in per_init.items():
            name, lead = key.split("@")
            agg = np.sqrt(vals.mean(0)) if name.startswith("mse") else np.nanmean(vals, 0)
            metric = name.replace("mse", "rmse")
            for v, var in enumerate(self.variables):
                out[f"test/{var}/{metric}@{lead}h"] = float(agg[v])
        for lead, (names, g) in (getattr(self, "gate", None) or {}).items():
            for v, var in enumerate(self.variables):  # the gate chosen on the validation days
                out[f"test/{var}/gate_weight@{lead:g}h"] = float(g[v])
                out[f"test/{var}/gate_start_{names[v].lstrip('_')}@{lead:g}h"] = 1.0
        self.extra_test_metrics = out
        for key, value in out.items():  # also in trainer.test's results (signalkit evaluate)
            if np.isfinite(value):  # identical on every rank after the gather: no further reduction
                self.log(key, value, on_epoch=True, on_step=False)

    def gated(self, forecasts: dict, lead: float) -> np.ndarray:
        """The forecast at ``lead`` after the gate: ``start + g (network - start)`` per variable
        (:meth:`fit_gate`), the network's own where no gate was chosen; ``forecasts`` as one lead
        of :meth:`forecasts` -> ``(B, V, H, W)``."""
        net = forecasts[""]
        if lead not in (getattr(self, "gate", None) or {}):
            return net
        names, g = self.gate[lead]
        out = net.copy()
        for v, name in enumerate(names):
            st = forecasts[name][:, v]
            out[:, v] = st + g[v] * (net[:, v] - st)
        return out

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        """Forecasts in physical units ``(B, n_leads, V, H, W)`` at ``self.lead_times`` (gated as
        scored at test when a gate was fitted and the batch has targets to the longest lead)."""
        steps = [int(round(h / self.step_hours)) for h in self.lead_times]
        mask = batch["mask"].to(self.mean.device)
        if getattr(self, "gate", None) and batch["y"].shape[1] >= max(steps):
            fcs, _, _ = self.forecasts(batch, self._predict_baselines)
            phys = torch.as_tensor(np.stack([self.gated(fcs[lead], lead) for lead in self.lead_times], 1),
                                   dtype=torch.float32, device=mask.device)
            return {"forecast": phys.masked_fill(mask, float("nan")), "time": batch["time"]}
        pred = self.rollout(batch, max(steps))
        sel = pred[:, [s - 1 for s in steps]]
        phys = sel * self.std[:, None, None] + self.mean[:, None, None]
        if self.anomalies and "clim_y" in batch:
            phys = phys + batch["clim_y"][:, [s - 1 for s in steps]].to(phys.device, phys.dtype)
        return {"forecast": phys.masked_fill(batch["mask"].to(phys.device), float("nan")),
                "time": batch["time"]}


@TASKS.register("fmri_forecasting")
class FMRIForecastingTask(SkillTask):
    """Next-frame fMRI forecasting with a causal backbone (teacher forcing over the window).

    Batches: volumes ``x (B, T, X, Y, Z)`` or regions ``x (B, R, T)`` and ``y``, the ``horizon``
    frames after the window, in the same layout. Output position ``t`` predicts frame ``t + s``
    (``s`` = the tokenizer's time patch); the loss is the MSE over every position of the window
    (targets from the window and ``y``). Metrics on the true forecast (the ``s`` frames after the
    window): ``mse``, ``mse_persistence`` (repeat the last frame) and
    ``skill = 1 - mse / mse_persistence``.
    """

    METRICS = ("mse", "mse_persistence")
    BASELINE = "mse_persistence"

    def __init__(self, **base: Unpack[BaseTaskOptions]):
        if not task_model(base).get("causal", False):
            raise ConfigError("model.causal: forecasting needs a causal backbone (set model.causal=true)")
        super().__init__(**base)

    def _step(self, batch: dict, stage: str) -> Tensor | None:
        x, y = time_first(batch["x"]), time_first(batch["y"])
        s, t = time_patch(self.model.tokenizer), x.shape[1]
        if y.shape[1] < s or t % s:
            raise ConfigError(f"data.horizon: forecasting needs horizon >= {s} and a window that is a "
                              f"multiple of {s} frames (got horizon {y.shape[1]}, window {t})")
        pred = time_first(self.model(batch))
        target = torch.cat([x, y[:, :s]], dim=1)[:, s:]
        valid = valid_mask(batch, target)
        loss = torch.nn.functional.mse_loss(pred[valid].float(), target[valid].float())
        if stage == "train" and not self.check_loss(loss, batch):
            return None
        last = valid[:, t - s:]
        future = y[:, :s][last].float()
        metrics = self.metrics_for(stage)
        metrics["mse"].update(pred[:, t - s:][last].detach().float(), future)
        metrics["mse_persistence"].update(x[:, -1:].expand_as(y[:, :s])[last].float(), future)
        self._log(stage, loss, x.shape[0])
        return loss

    @torch.no_grad()
    def forecast(self, batch: dict, steps: int) -> Tensor:
        """Autoregressive rollout: ``steps`` frames after the window, time-first ``(B, steps, ...)``."""
        x = time_first(batch["x"])
        s, t = time_patch(self.model.tokenizer), x.shape[1]

        def step(window: Tensor, i: int) -> Tensor:  # the model's last s outputs: the next s frames
            return time_first(self.model({**batch, "x": time_first(window)}))[:, t - s:]

        return rollout(step, x, steps, keep=t)
