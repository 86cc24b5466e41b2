"""``SkillTask``: signal-space MSE tasks scored against a baseline (fMRI reconstruction, forecasting).

Subclasses name their MSE metrics (``METRICS``, the model's ``mse`` first) and the baseline the
skill is relative to (``BASELINE``); each stage's collection is computed at the epoch's end and
logged with ``<stage>/skill = 1 - mse / baseline``.
"""

from __future__ import annotations

from torch import Tensor
from torchmetrics import MeanSquaredError, MetricCollection

from signalkit.tasks.base import BaseTask


class SkillTask(BaseTask):
    """Shared per-stage metric handling (one collection cloned per stage, logged at epoch end)."""

    METRICS: tuple[str, ...] = ()
    BASELINE = ""

    def configure_metrics(self) -> MetricCollection:
        # separate updates per metric: no compute groups (they would share states)
        return MetricCollection({n: MeanSquaredError() for n in self.METRICS}, compute_groups=False)

    def _log(self, stage: str, loss: Tensor, n: int) -> None:
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", on_epoch=True, on_step=False, batch_size=n)

    def _epoch_end(self, stage: str) -> None:
        metrics = self.metrics_for(stage)
        values = metrics.compute()
        mse, base = values[f"{stage}/mse"], values[f"{stage}/{self.BASELINE}"]
        self.log(f"{stage}/skill", 1.0 - mse / base.clamp(min=1e-12))
        self.log_dict(values)
        metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._epoch_end("train")

    def on_validation_epoch_end(self) -> None:
        self._epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test")

    def training_step(self, batch: dict, batch_idx: int) -> Tensor | None:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")
