"""One real Haxby fold (subject 1, acq-1slice, test run 01, 8 categories) through ``experiment=fmri/haxby``:
the closed-form ridge, trained on runs 02-08, beside the linear SVM on the same blocks (all 8 folds:
``benchmarks/fmri.py --only haxby``, recorded in benchmarks/RECORDED.md)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.realdata


def test_one_haxby_fold_is_level_with_the_svm(sample_data, tmp_path):
    from signalkit.store import ingest
    from signalkit.training import train

    func = sample_data / "fmri" / "haxby" / "sub-1" / "func"
    runs = sorted(str(p) for p in func.glob("*acq-1slice_*_bold.nii.gz"))
    if len(runs) != 8:
        pytest.skip(f"Haxby acq-1slice runs not in {func}")
    store = str(tmp_path / "haxby.zarr")
    ingest(runs, store, "fmri", {}, progress=False)
    out = tmp_path / "run"
    train(["experiment=fmri/haxby", f"data.store={store}", "test_run=01", f"output_dir={out}",
           "trainer.enable_progress_bar=false"])
    m = json.loads((out / "metrics.json").read_text())
    assert m["train/ridge_windows"] == 56.0 and m["train/ridge_inner_folds"] == 7.0  # 7 runs x 8 blocks
    # measured: ridge 0.750, SVM 0.750 (8 test blocks, chance 0.125)
    assert m["test/balanced_accuracy"] >= 0.74, m
    assert m["test/balanced_accuracy"] >= m["test/balanced_accuracy_linear_svm"], m
