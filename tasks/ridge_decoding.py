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
from signalkit.heads.ridge import DEFAULT_ALPHAS, REFITS, RidgeFit, fit_ridge_classifier
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


READOUT_SAMPLES = ("block", "volume")


def readout_inputs(model: nn.Module, batches: Iterable[dict],
                   device: torch.device | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """What ``head.fc`` receives for every window of ``batches``, in eval mode (no dropout or
    augmentation): features ``(N, F)`` float32, class ids ``(N,)`` and groups ``(N,)`` (the
    batches' ``rec``, one id per recording; ``None`` when a batch has none)."""
    return readout_examples(model, batches, device, samples="block")[:3]


@torch.no_grad()
def readout_examples(model: nn.Module, batches: Iterable[dict], device: torch.device | None = None,
                     samples: str = "block") -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The ridge's training examples: what ``head.fc`` receives, in eval mode (no dropout or
    augmentation), as features ``(N, F)`` float32, class ids ``(N,)``, groups ``(N,)`` (the batches'
    ``rec``, one id per recording; ``None`` when a batch has none) and blocks ``(N,)`` (the window
    each row comes from, numbered in order).

    ``samples="block"``: one row per window (``N`` windows). ``samples="volume"``: one row per frame
    of each window ``x (B, T, X, Y, Z)``, the model fed ``x[:, t:t+1]`` (``N = `` windows x frames);
    the read-out input of a window must then be the mean of its frames' (true of the ``voxel_mean``
    tokenizer with the identity backbone), checked on the first batch, so that the fitted model's
    score of a window is the mean of its frames' scores (:class:`ConfigError` naming
    ``task.readout_samples`` otherwise)."""
    if samples not in READOUT_SAMPLES:
        raise ConfigError(f"task.readout_samples: expected one of {list(READOUT_SAMPLES)}, got {samples!r}")
    fc = readout_layer(model)
    seen: list[Tensor] = []
    hook = fc.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().float().cpu()))
    was_training = model.training

    def fc_input(batch: dict, n: int) -> Tensor:
        seen.clear()
        model(batch)
        if len(seen) != 1:
            raise ConfigError(f"model.head: head.fc was called {len(seen)} times per batch; the ridge "
                              "read-out needs exactly one call")
        return seen[0].reshape(n, -1)

    model.eval()
    feats, ys, groups, blocks = [], [], [], []
    n_windows, checked = 0, False
    try:
        for batch in batches:
            if device is not None:
                batch = move_data_to_device(batch, device)
            n = len(batch["y"])
            y = torch.as_tensor(batch["y"]).reshape(-1).cpu()
            rec = torch.as_tensor(batch["rec"]).reshape(-1).cpu() if "rec" in batch else None
            ids = torch.arange(n_windows, n_windows + n)
            n_windows += n
            if samples == "block":
                feats.append(fc_input(batch, n))
                ys.append(y)
                groups.append(rec)
                blocks.append(ids)
                continue
            x = batch["x"]
            if x.ndim != 5:
                raise ConfigError(f"task.readout_samples=volume: needs volume windows x (B, T, X, Y, Z), got "
                                  f"{tuple(x.shape)} (set task.readout_samples=block)")
            frames = [fc_input({**batch, "x": x[:, t:t + 1]}, n) for t in range(x.shape[1])]
            if not checked:
                whole, mean = fc_input(batch, n), torch.stack(frames).mean(0)
                if not torch.allclose(whole, mean, rtol=1e-4, atol=1e-5 * float(mean.abs().max()) + 1e-8):
                    raise ConfigError("task.readout_samples=volume: the read-out input of a window is not the "
                                      "mean of its frames' (needs a linear path to head.fc, e.g. "
                                      "model=fmri_ridge); set task.readout_samples=block")
                checked = True
            feats.extend(frames)
            ys.extend([y] * len(frames))
            groups.extend([rec] * len(frames))
            blocks.extend([ids] * len(frames))
    finally:
        hook.remove()
        model.train(was_training)
    if not feats:
        raise ConfigError("data.split: the training split has no windows to fit the ridge read-out on")
    g = None if any(x is None for x in groups) else torch.cat(groups).numpy()
    return (torch.cat(feats).numpy(), torch.cat(ys).numpy().astype(np.int64), g,
            torch.cat(blocks).numpy())


@TASKS.register("fmri_ridge_decoding")
class RidgeDecodingTask(FMRIDecodingTask):
    """:class:`FMRIDecodingTask` whose ``head.fc`` is the closed-form ridge read-out (module docstring).

    Args (besides :class:`FMRIDecodingTask`'s; ``lr``, ``weight_decay`` and ``warmup_epochs`` are
    kept for the config's shape and unused: nothing is optimised):
        alphas: relative penalties tried by the inner cross-validation (``alpha = rel *`` the mean
            squared norm of a centred training example); ``None``: 13 values from 1e-4 to 1e2.
        readout_samples: what one training example of the ridge is: ``"block"``, each window
            (block-averaged volumes), or ``"volume"``, each frame of each window (T times as many
            examples; the inner CV scores held-out blocks by their frames' mean score, which is how
            the fitted model scores a test window: a linear read-out of the block average).
        readout_refit: the read-out once the penalty is chosen: ``"all"``, refitted on every
            training example, or ``"fold_mean"``, the mean of the inner folds' models at that
            penalty (as nilearn's ``Decoder`` averages its fold models).
    """

    ENSEMBLES = False  # a closed-form fit: members would be identical

    def __init__(self, *, class_weights: list[float] | None = None, label_smoothing: float = 0.0,
                 fc_baseline: bool = False, linear_svm_baseline: bool = True,
                 alphas: list[float] | None = None, readout_samples: str = "block",
                 readout_refit: str = "all", **base: Unpack[BaseTaskOptions]):
        if class_weights is not None:
            raise ConfigError("task.class_weights: the ridge read-out weighs every window equally (set it to null)")
        if alphas is not None and (not len(alphas) or min(float(a) for a in alphas) <= 0):
            raise ConfigError(f"task.alphas: expected a non-empty list of positive penalties, got {alphas}")
        if readout_samples not in READOUT_SAMPLES:
            raise ConfigError(f"task.readout_samples: expected one of {list(READOUT_SAMPLES)}, "
                              f"got {readout_samples!r}")
        if readout_refit not in REFITS:
            raise ConfigError(f"task.readout_refit: expected one of {list(REFITS)}, got {readout_refit!r}")
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
        samples = self.hparams.readout_samples
        x, y, groups, blocks = readout_examples(self.model, batches, self.device, samples=samples)
        alphas = self.hparams.alphas if self.hparams.alphas is not None else DEFAULT_ALPHAS
        fit = fit_ridge_classifier(x, y, self.num_classes, groups=groups, alphas=alphas,
                                   blocks=blocks if samples == "volume" else None,
                                   refit=self.hparams.readout_refit)
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
                           "train/ridge_windows": float(len(np.unique(blocks))),
                           "train/ridge_examples": float(len(y))}
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
