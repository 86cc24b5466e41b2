"""``RidgeDecodingTask``: decoding whose classifier ``head.fc`` is fitted in closed form (ridge).

For small labelled sets (Haxby: 8 categories x 8 runs, a few dozen blocks) a regularised
least-squares read-out of the block-averaged voxels is the standard strong decoder, and a
gradient-trained head depends on its learning rate, epochs and seed. This task fits
:func:`signalkit.heads.ridge.fit_ridge_classifier` once, when training starts, on what the model
feeds into ``head.fc`` (for ``fmri_ridge``: the ``voxel_mean`` tokenizer's block averages through
the identity backbone and a flatten-pool head, i.e. the masked voxels), and writes its weights
into ``head.fc``. The penalty is chosen by leave-one-run-out inner cross-validation over the
training runs (each window's recording), so no validation run is held out. The training epoch
then only scores the fitted model; nothing is optimised. The model stays an ordinary
:class:`~signalkit.models.SignalModel` (checkpoints, ``save_pretrained``, predict).

Every rank fits on the whole training split (the datamodule's training loader, not the
trainer's sharded one), so under DDP all ranks hold the same read-out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack

import numpy as np
import torch
from lightning.pytorch.utilities import move_data_to_device
from torch import Tensor, nn

from signalkit.errors import ConfigError
from signalkit.heads.ridge import DEFAULT_ALPHAS, RidgeFit, fit_ridge_classifier
from signalkit.tasks.base import BaseTaskOptions
from signalkit.tasks.decoding import FMRIDecodingTask
from signalkit.tasks.registry import TASKS


def readout_layer(model: nn.Module) -> nn.Linear:
    """The model's ``head.fc`` (an ``nn.Linear``); :class:`ConfigError` naming ``model.head`` otherwise."""
    fc = getattr(getattr(model, "head", None), "fc", None)
    if not isinstance(fc, nn.Linear):
        raise ConfigError("model.head: the ridge read-out needs a head with a linear classifier `fc` "
                          "(model.head.name=decoding)")
    return fc


@torch.no_grad()
def readout_inputs(model: nn.Module, batches: Iterable[dict],
                   device: torch.device | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """What ``head.fc`` receives for every window of ``batches``, in eval mode (no dropout or
    augmentation): features ``(N, F)`` float32, class ids ``(N,)`` and groups ``(N,)`` (the
    batches' ``rec``, one id per recording; ``None`` when a batch has none)."""
    fc = readout_layer(model)
    seen: list[Tensor] = []
    hook = fc.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().float().cpu()))
    was_training = model.training
    model.eval()
    feats, ys, groups = [], [], []
    try:
        for batch in batches:
            if device is not None:
                batch = move_data_to_device(batch, device)
            seen.clear()
            model(batch)
            if len(seen) != 1:
                raise ConfigError(f"model.head: head.fc was called {len(seen)} times per batch; the ridge "
                                  "read-out needs exactly one call")
            feats.append(seen[0].reshape(len(batch["y"]), -1))
            ys.append(torch.as_tensor(batch["y"]).reshape(-1).cpu())
            groups.append(torch.as_tensor(batch["rec"]).reshape(-1).cpu() if "rec" in batch else None)
    finally:
        hook.remove()
        model.train(was_training)
    if not feats:
        raise ConfigError("data.split: the training split has no windows to fit the ridge read-out on")
    g = None if any(x is None for x in groups) else torch.cat(groups).numpy()
    return torch.cat(feats).numpy(), torch.cat(ys).numpy().astype(np.int64), g


@TASKS.register("fmri_ridge_decoding")
class RidgeDecodingTask(FMRIDecodingTask):
    """:class:`FMRIDecodingTask` whose ``head.fc`` is the closed-form ridge read-out (module docstring).

    Args (besides :class:`FMRIDecodingTask`'s; ``lr``, ``weight_decay`` and ``warmup_epochs`` are
    kept for the config's shape and unused: nothing is optimised):
        alphas: relative penalties tried by the inner cross-validation (``alpha = rel *`` the mean
            squared norm of a centred training example); ``None``: 13 values from 1e-4 to 1e2.
    """

    def __init__(self, *, class_weights: list[float] | None = None, label_smoothing: float = 0.0,
                 fc_baseline: bool = False, linear_svm_baseline: bool = True,
                 alphas: list[float] | None = None, **base: Unpack[BaseTaskOptions]):
        if class_weights is not None:
            raise ConfigError("task.class_weights: the ridge read-out weighs every window equally (set it to null)")
        if alphas is not None and (not len(alphas) or min(float(a) for a in alphas) <= 0):
            raise ConfigError(f"task.alphas: expected a non-empty list of positive penalties, got {alphas}")
        base.setdefault("weight_decay", 0.0)  # nothing is optimised: no decay, no warmup by default
        base.setdefault("warmup_epochs", 0.0)
        super().__init__(class_weights=class_weights, label_smoothing=label_smoothing,
                         fc_baseline=fc_baseline, linear_svm_baseline=linear_svm_baseline, **base)
        readout_layer(self.model)
        self.ridge_info: dict[str, float] = {}

    # ---------------------------------------------------------------- the fit
    def fit_readout(self, batches: Iterable[dict]) -> RidgeFit:
        """Fit the ridge read-out on ``batches`` (dicts with ``x``, ``y`` and optionally ``rec``)
        and copy its ``weight (K, F)`` and ``bias (K,)`` into ``head.fc``."""
        x, y, groups = readout_inputs(self.model, batches, self.device)
        alphas = self.hparams.alphas if self.hparams.alphas is not None else DEFAULT_ALPHAS
        fit = fit_ridge_classifier(x, y, self.num_classes, groups=groups, alphas=alphas)
        fc = readout_layer(self.model)
        if tuple(fc.weight.shape) != fit.weight.shape:
            raise ConfigError(f"model.head: head.fc has shape {tuple(fc.weight.shape)}, the read-out "
                              f"{fit.weight.shape}")
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(fit.weight))
            fc.bias.copy_(torch.from_numpy(fit.bias))
        self.ridge_info = {"train/ridge_alpha": fit.alpha, "train/ridge_alpha_rel": fit.alpha_rel,
                           "train/ridge_inner_cv_balanced_accuracy": max(fit.cv_scores) if fit.cv_scores else
                           float("nan"), "train/ridge_inner_folds": float(fit.n_folds),
                           "train/ridge_windows": float(len(y))}
        return fit

    def on_train_start(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        loader = dm.train_dataloader() if dm is not None else self.trainer.train_dataloader
        self.fit_readout(loader)

    # ------------------------------------------------------------ the "epoch"
    def configure_optimizers(self):
        return None  # closed form: nothing to optimise

    def training_step(self, batch: dict, batch_idx: int) -> None:
        """Scores the fitted read-out on the training windows (eval mode, no gradient)."""
        self.model.eval()
        with torch.no_grad():
            self._step(batch, "train")

    def on_test_epoch_end(self) -> None:
        super().on_test_epoch_end()
        self.extra_test_metrics = {**self.ridge_info, **self.extra_test_metrics}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ridge_readout"] = dict(self.ridge_info)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.ridge_info = dict(checkpoint.get("ridge_readout") or {})
