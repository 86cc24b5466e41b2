"""Overrides for tiny, fast training runs on the small synthetic store (one CPU thread)."""

from __future__ import annotations


def tiny_overrides(store: str, out, epochs: int = 2, batches: int = 3) -> list[str]:
    """A tiny decoder (dim 16, depth 1) trained ``epochs`` x ``batches`` steps, no test, no bar."""
    return ["experiment=eeg/motor_imagery", f"data.store={store}", f"output_dir={out}",
            "model.dim=16", "model.backbone.depth=1", "model.backbone.kernel_size=7",
            "model.backbone.mlp_ratio=1.0", "model.head.pool=mean", "data.batch_size=4",
            f"trainer.max_epochs={epochs}", f"trainer.limit_train_batches={batches}",
            "trainer.limit_val_batches=2", "trainer.enable_progress_bar=false",
            "trainer.log_every_n_steps=1", "trainer.deterministic=true", "test=false", "seed=7"]
