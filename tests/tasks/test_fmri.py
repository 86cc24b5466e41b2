"""fMRI forecasting task: the rollout starts with the model's last position."""

from __future__ import annotations

import torch


def test_forecast_rollout_starts_with_the_last_position():
    from signalkit.models import model_config
    from signalkit.tasks.fmri import FMRIForecastingTask

    cfg = model_config("fmri_forecaster", dim=16, depth=1)
    task = FMRIForecastingTask(model=cfg).eval()
    batch = {"x": torch.randn(2, 4, 6, 5, 4)}
    steps = task.forecast(batch, 3)
    assert steps.shape == (2, 3, 6, 5, 4)
    with torch.no_grad():
        torch.testing.assert_close(steps[:, 0], task.model(batch)[:, -1])
