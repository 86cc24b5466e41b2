"""fMRI reconstruction baselines come from the data's run statistics, not from the batch."""

from __future__ import annotations

import types

import torch

from signalkit.models import model_config
from signalkit.tasks import FMRIReconstructionTask


class _Runs:
    """A stage dataset's ``run_baselines``: run r has voxel mean ``r + 1`` everywhere, run mean ``-r``."""

    def run_baselines(self, rec):
        n = len(rec)
        vmean = (rec.float() + 1)[:, None, None, None].expand(n, 4, 4, 2).contiguous()
        return vmean, -rec.float()


def test_baselines_are_looked_up_by_run_and_scored_on_hidden_voxels():
    torch.manual_seed(0)
    task = FMRIReconstructionTask(model=model_config("fmri_volume", dim=8, depth=1), data_contract={"n_frames": 2})
    task.eval()
    task._trainer = types.SimpleNamespace(test_dataloaders=types.SimpleNamespace(dataset=_Runs()))  # noqa: SLF001
    task.log = lambda *args, **kwargs: None  # no real trainer to log to
    try:
        batch = {"x": torch.randn(2, 2, 4, 4, 2), "rec": torch.tensor([0, 1]),
                 "voxel_mask": torch.ones(2, 4, 4, 2, dtype=torch.bool)}
        task.test_step(batch, 0)
    finally:
        task._trainer = None
    values = task.metrics_for("test").compute()
    gen = torch.Generator().manual_seed(int(batch["rec"].sum()) * 7919 + 2)  # the task's evaluation mask
    hidden = task.signal_mask(batch["x"], gen)
    x = batch["x"]
    vmean = torch.tensor([1.0, 2.0]).view(2, 1, 1, 1, 1).expand_as(x)
    gmean = torch.tensor([0.0, -1.0]).view(2, 1, 1, 1, 1).expand_as(x)
    torch.testing.assert_close(values["test/mse_voxel_mean"], ((vmean - x)[hidden] ** 2).mean())
    torch.testing.assert_close(values["test/mse_global_mean"], ((gmean - x)[hidden] ** 2).mean())
    assert "voxel_mean" not in batch and "global_mean" not in batch


def test_without_run_statistics_the_baselines_predict_zero():
    task = FMRIReconstructionTask(model=model_config("fmri_volume", dim=8, depth=1), data_contract={"n_frames": 2})
    task.eval()
    batch = {"x": torch.randn(2, 2, 4, 4, 2), "rec": torch.tensor([0, 1])}
    task.validation_step(batch, 0)
    values = task.metrics_for("val").compute()
    hidden = task.signal_mask(batch["x"], torch.Generator().manual_seed(1 * 7919 + 2))
    torch.testing.assert_close(values["val/mse_voxel_mean"], (batch["x"][hidden] ** 2).mean())
    torch.testing.assert_close(values["val/mse_global_mean"], values["val/mse_voxel_mean"])
