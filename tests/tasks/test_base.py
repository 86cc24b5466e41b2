"""BaseTask: keyword-only arguments, hooks, one MetricCollection cloned per stage, hparams names."""

from __future__ import annotations

import inspect
import typing

import pytest
import torch
from torchmetrics import MeanMetric, MetricCollection

from signalkit.errors import ConfigError
from signalkit.models import model_config
from signalkit.registry import accepted_kwargs
from signalkit.targets import build_target
from signalkit.tasks import (
    TASKS,
    BaseTask,
    DecodingTask,
    FMRIDecodingTask,
    FMRIForecastingTask,
    FMRIReconstructionTask,
    ReconstructionTask,
    VideoForecastingTask,
    create_task,
)
from signalkit.tasks.base import BaseTaskOptions

BASE_NAMES = {"model", "data_contract", "lr", "weight_decay", "warmup_epochs", "freeze_backbone",
              "unfreeze_at_epoch", "layer_decay", "nan_policy"}


def _decoder(k: int = 3) -> dict:
    return model_config("eeg_decoder", num_classes=k)


class Reordered(BaseTask):
    """A subclass whose signature puts BaseTask's arguments in another order, plus its own."""

    def __init__(self, nan_policy: str, lr: float, model: dict, scale: float = 2.0, weight_decay: float = 0.3,
                 layer_decay: float = 0.7):
        super().__init__(model=model, lr=lr, nan_policy=nan_policy, weight_decay=weight_decay,
                         layer_decay=layer_decay)

    def configure_metrics(self) -> MetricCollection:
        return MetricCollection({"total": MeanMetric()})


def test_subclass_with_reordered_arguments_receives_the_right_values():
    task = Reordered("skip", 0.123, _decoder(), 5.0)
    hp = task.hparams
    assert (hp.nan_policy, hp.lr, hp.scale, hp.weight_decay, hp.layer_decay) == ("skip", 0.123, 5.0, 0.3, 0.7)
    assert hp.warmup_epochs == 1.0 and hp.freeze_backbone is False  # BaseTask's defaults
    assert hp.model["head"]["num_classes"] == 3
    groups = _groups(task)  # the values reach what uses them: the optimiser's groups
    assert {g["weight_decay"] for g in groups} == {0.0, 0.3}
    assert max(g["initial_lr"] for g in groups) == pytest.approx(0.123)
    assert min(g["initial_lr"] for g in groups) < 0.123 * 0.7 + 1e-9  # layer_decay 0.7 below the head


def _groups(task: BaseTask) -> list[dict]:
    class _T:
        estimated_stepping_batches = 10
        max_epochs = 1
    task._trainer = _T()  # noqa: SLF001 (configure_optimizers reads two trainer numbers)
    try:
        return task.configure_optimizers()["optimizer"].param_groups
    finally:
        task._trainer = None


def _eeg_batch() -> dict:
    return {"x": torch.randn(2, 3, 256), "pos": torch.randn(2, 3, 3) * 0.05,
            "ch_type": torch.zeros(2, 3, dtype=torch.long), "ch_mask": torch.ones(2, 3, dtype=torch.bool)}


def test_base_task_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        BaseTask(_decoder(), None, 1e-3)  # positional pass-through cannot misassign silently


def test_base_task_options_are_base_tasks_keyword_arguments():
    params = inspect.signature(BaseTask.__init__).parameters
    assert set(BaseTaskOptions.__annotations__) | {"model"} == BASE_NAMES  # inherited ``model`` included
    assert BaseTaskOptions.__required_keys__ == {"model"}
    assert {n for n, p in params.items() if p.kind == p.KEYWORD_ONLY} == BASE_NAMES


@pytest.mark.parametrize("name", sorted(TASKS.names()))
def test_every_task_takes_base_options_by_name_only_and_forwards_them(name):
    """No task repeats BaseTask's arguments: each takes its own keyword-only options plus
    ``**base: Unpack[BaseTaskOptions]``; the signature check still sees the base options."""
    cls = TASKS.get_builder(name)
    params = inspect.signature(cls.__init__).parameters
    own = {n for n in params if n != "self"}
    assert not own & BASE_NAMES, f"{cls.__name__} repeats {sorted(own & BASE_NAMES)}"
    var_kw = [p for p in params.values() if p.kind == p.VAR_KEYWORD]
    assert [p.name for p in var_kw] == ["base"]
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for n, p in params.items() if n != "self")
    hints = typing.get_type_hints(cls.__init__, include_extras=True)
    assert typing.get_args(hints["base"]) == (BaseTaskOptions,)
    accepted, takes_any = accepted_kwargs(cls)
    assert BASE_NAMES <= accepted and not takes_any
    assert accepted == BASE_NAMES | (own - {"base"})


def test_base_options_reach_what_uses_them_through_a_subclass():
    task = DecodingTask(model=_decoder(3), lr=0.02, weight_decay=0.2, layer_decay=0.5, nan_policy="skip",
                        warmup_epochs=0.5, label_smoothing=0.1)
    hp = task.hparams
    assert (hp.lr, hp.weight_decay, hp.layer_decay, hp.nan_policy, hp.warmup_epochs, hp.label_smoothing) == \
        (0.02, 0.2, 0.5, "skip", 0.5, 0.1)
    groups = _groups(task)
    assert {g["weight_decay"] for g in groups} == {0.0, 0.2}
    assert max(g["initial_lr"] for g in groups) == pytest.approx(0.02)
    assert min(g["initial_lr"] for g in groups) == pytest.approx(0.02 * 0.5 ** (max(task._layer_ids().values())))
    with pytest.raises(TypeError):
        DecodingTask(_decoder(3))  # BaseTask's options are keyword-only in every subclass too
    with pytest.raises(TypeError, match="model"):
        DecodingTask(lr=1e-3)


def test_ridge_keeps_its_own_defaults_for_base_options():
    from signalkit.tasks import RidgeDecodingTask

    def cfg():
        return model_config("fmri_ridge", num_classes=2, tokenizer={"volume_shape": [3, 2, 2]})

    hp = RidgeDecodingTask(model=cfg(), data_contract={"modality": "fmri"}).hparams
    assert (hp.weight_decay, hp.warmup_epochs, hp.fc_baseline, hp.lr) == (0.0, 0.0, False, 1e-3)
    hp = RidgeDecodingTask(model=cfg(), weight_decay=0.1).hparams
    assert (hp.weight_decay, hp.warmup_epochs) == (0.1, 0.0)


@pytest.mark.parametrize("make", [
    lambda kw: create_task("reconstruction", **kw),
    lambda kw: build_target({"name": "reconstruction", **{k: v for k, v in kw.items() if k != "model"}}, "task",
                            model=kw["model"]),
])
def test_an_unknown_task_option_is_one_config_error_naming_it_and_base_options_pass(make):
    cfg = model_config("eeg_decoder_lk")
    cfg["head"] = {"name": "reconstruction", "decoder_depth": 1, "kernel_size": 3}
    with pytest.raises(ConfigError, match=r"^task: unknown option\(s\) \['mask_ratoi'\] for task "
                                          r".*'mask_ratoi'.*accepts \[.*'layer_decay'.*'mask_ratio'"):
        make({"model": cfg, "mask_ratoi": 0.3, "lr": 1e-3})
    task = make({"model": cfg, "mask_ratio": 0.3, "lr": 2e-3, "freeze_backbone": True})
    assert (task.hparams.mask_ratio, task.hparams.lr, task.hparams.freeze_backbone) == (0.3, 2e-3, True)
    assert not any(p.requires_grad for p in task.model.backbone.parameters())


def test_hooks_run_in_order_and_metrics_are_cloned_per_stage():
    calls = []

    class Hooked(BaseTask):
        def __init__(self, model: dict, width: int = 4):
            super().__init__(model=model)

        def complete_model_config(self, model, data_contract):
            calls.append("complete")
            model["head"]["num_classes"] = self_width[0]

        def configure_models(self):
            calls.append("model")
            super().configure_models()

        def configure_losses(self):
            calls.append("losses")

        def configure_metrics(self):
            calls.append("metrics")
            return MetricCollection({"m": MeanMetric()})

    self_width = [5]
    task = Hooked(_decoder(2))
    assert calls == ["complete", "model", "losses", "metrics"]
    assert task.hparams.model["head"]["num_classes"] == 5  # completed before it was saved
    assert task.model(_eeg_batch()).shape == (2, 5)  # and the model was built from it
    names = [type(m).__name__ for m in task.stage_metrics.values()]
    assert list(task.stage_metrics) == ["train_", "val_", "test_"] and names == ["MetricCollection"] * 3
    ids = {id(task.metrics_for(s)["m"]) for s in ("train", "val", "test")}
    assert len(ids) == 3  # clones, not one shared metric
    assert task.metrics_for("val").prefix == "val/"


def test_decoding_metrics_do_not_leak_between_stages():
    torch.manual_seed(0)
    task = DecodingTask(model=_decoder(3))
    y = torch.tensor([0, 1, 2, 0])
    right = torch.nn.functional.one_hot(y, 3).float() * 10  # every prediction right
    wrong = torch.nn.functional.one_hot((y + 1) % 3, 3).float() * 10  # every prediction wrong
    task.metrics_for("train").update(right.softmax(-1), y)
    task.metrics_for("val").update(wrong.softmax(-1), y)
    train, val = task.metrics_for("train").compute(), task.metrics_for("val").compute()
    assert float(train["train/accuracy"]) == 1.0 and float(val["val/accuracy"]) == 0.0
    assert set(train) == {f"train/{k}" for k in ("accuracy", "balanced_accuracy", "cohen_kappa", "f1_macro", "auroc")}
    task.metrics_for("test").update(right.softmax(-1)[:2], y[:2])
    assert float(task.metrics_for("test").compute()["test/accuracy"]) == 1.0
    assert float(task.metrics_for("val").compute()["val/accuracy"]) == 0.0  # untouched by test's update


@pytest.mark.parametrize("cls, cfg, extra", [
    (DecodingTask, lambda: _decoder(2), {"class_weights", "label_smoothing", "augment"}),
    (FMRIDecodingTask, lambda: model_config("fmri_decoder", num_classes=2), {"class_weights", "label_smoothing",
                                                                             "augment", "fc_baseline",
                                                                             "linear_svm_baseline"}),
    (FMRIForecastingTask, lambda: model_config("fmri_forecaster", dim=16, depth=1), set()),
    (FMRIReconstructionTask, lambda: model_config("fmri_volume", dim=16, depth=1), {"mask_ratio"}),
])
def test_hyperparameter_names_are_unchanged(cls, cfg, extra):
    """Checkpoints store hparams by name: the names of every task stay what they were."""
    task = cls(model=cfg(), data_contract={"n_frames": 4})
    assert set(task.hparams) == BASE_NAMES | extra


def test_fmri_reconstruction_folds_the_data_window_into_its_tokens():
    task = FMRIReconstructionTask(model=model_config("fmri_volume", dim=16, depth=1), data_contract={"n_frames": 6})
    assert task.hparams.model["tokenizer"]["time_patch"] == 6 and task.model.tokenizer.time_patch == 6
    x = torch.randn(2, 6, 4, 4, 2)
    hidden = task.signal_mask(x, torch.Generator().manual_seed(0))
    assert hidden.shape == x.shape
    assert (hidden == hidden[:, :1]).all()  # one time patch: the whole window
    patches = hidden[:, 0].unflatten(1, (2, 2)).unflatten(3, (2, 2))  # (B, 2, 2, 2, 2, 2): 2x2x1 patches
    assert (patches == patches[:, :, :1, :, :1]).all()
    assert 0 < hidden.float().mean() < 1


def test_reconstruction_and_video_hyperparameter_names():
    rec = {"mask", "mask_ratio", "mask_block", "signal_dims", "sparse", "spectral_weight", "target", "target_band",
           "sfreq", "channel_mask_ratio", "channel_subset"}
    cfg = model_config("eeg_decoder_lk")
    cfg["head"] = {"name": "reconstruction", "decoder_depth": 1, "kernel_size": 3}
    try:
        task = ReconstructionTask(model=cfg)
    except Exception as err:
        pytest.skip(f"reconstruction model: {err}")
    assert set(task.hparams) == BASE_NAMES | rec
    video = {"name": "t", "dim": 8, "causal": False,
             "tokenizer": {"name": "frames", "in_channels": 1, "hidden": 8, "downsample": 2, "stem": False},
             "backbone": {"name": "large_kernel", "depth": 1, "kernel_size": 3, "small_kernel": 3},
             "head": {"name": "frames", "t_in": 4, "t_out": 3}}
    vt = VideoForecastingTask(model=video)
    assert set(vt.hparams) == BASE_NAMES | {"mode", "loss", "data_range", "horizon", "clamp"}


def test_lightnings_configure_model_hook_keeps_the_weights():
    """Trainer.fit/test call LightningModule.configure_model(): it must not rebuild the model."""
    task = DecodingTask(model=_decoder(2))
    before = {k: v.clone() for k, v in task.state_dict().items()}
    task.configure_model()
    after = task.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
