"""Stop training after a budget of CPU time, so that budgets mean the same on a loaded machine."""

from __future__ import annotations

import time

import lightning as L


class CPUTimeBudget(L.Callback):
    """Stop ``fit`` once this process has used ``seconds`` of CPU time since the fit started.

    Lightning's ``trainer.max_time`` counts wall-clock time, which buys much less compute when the
    machine is shared; CPU time (``time.process_time``: every thread of this process, not its
    DataLoader workers) gives two models compared "for the same time" the same compute. The check
    runs after every training batch; the stop takes effect at the end of that batch (validation of
    the epoch in progress is skipped, as with ``max_time``).
    """

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"CPU time budget must be positive, got {seconds}")
        self.seconds = float(seconds)
        self._start: float | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.process_time()

    def used(self) -> float:
        """CPU seconds used since the fit started (0 before)."""
        return 0.0 if self._start is None else time.process_time() - self._start

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        if self.used() >= self.seconds:
            trainer.should_stop = True
