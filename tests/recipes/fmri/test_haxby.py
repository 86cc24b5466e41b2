"""``experiment=fmri/haxby`` on a tiny seeded BIDS tree with a known answer (the real Haxby runs are
measured by ``benchmarks/fmri.py --only haxby``; one real fold runs in ``test_haxby_realdata.py``).

The synthetic tree mirrors Haxby's layout: runs ``sub-1_task-objects_acq-small_run-0N_bold.nii.gz``,
events ``sub-1_task-objects_run-0N_events.tsv`` without ``acq-`` (inherited by the BIDS rule), and a
brain mask under ``derivatives/masks/sub-1/sub-1_acq-small_label-brain_mask.nii.gz``. Each category
adds its own seeded voxel pattern during its blocks, delayed by 2 volumes (the haemodynamic lag),
on noise and a per-run offset (removed by the per-run z-score): the answer is known.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TR = 2.5
CLASSES = ["face", "house", "shoe"]
SHAPE = (5, 4, 3)


def write_bids(root: Path, n_runs: int = 4, seed: int = 0, drop: tuple[int, str] | None = None) -> Path:
    """The tree under ``root``; ``drop=(run, class)`` leaves that class's blocks out of that run."""
    import nibabel as nib

    rng = np.random.default_rng(seed)
    func = root / "sub-1" / "func"
    func.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "synthetic", "BIDSVersion": "1.8.0"}))
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[1:4, :, :] = 1
    patterns = {c: rng.standard_normal(SHAPE) * mask for c in CLASSES}
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    n_block, gap = 6, 4  # volumes
    for run in range(1, n_runs + 1):
        order = [CLASSES[i] for i in rng.permutation(len(CLASSES))] * 2
        if drop is not None and drop[0] == run:
            order = [c for c in order if c != drop[1]]
        n_t = gap + len(order) * (n_block + gap) + 4
        data = rng.standard_normal((*SHAPE, n_t)) * 1.0 + 100.0 + 10.0 * run
        rows = []
        for b, cat in enumerate(order):
            onset = gap + b * (n_block + gap)
            data[..., onset + 2: onset + 2 + n_block] += 1.5 * patterns[cat][..., None]  # lag: 2 volumes
            rows.append({"onset": onset * TR, "duration": n_block * TR, "trial_type": cat})
        rows.append({"onset": 1.0, "duration": 1.0, "trial_type": "rest"})  # a label not decoded
        img = nib.Nifti1Image(data.astype(np.float32), affine)
        img.header.set_xyzt_units("mm", "sec")
        img.header["pixdim"][4] = TR
        nib.save(img, func / f"sub-1_task-objects_acq-small_run-{run:02d}_bold.nii.gz")
        pd.DataFrame(rows).to_csv(func / f"sub-1_task-objects_run-{run:02d}_events.tsv", sep="\t", index=False)
    masks = root / "derivatives" / "masks" / "sub-1"
    masks.mkdir(parents=True)
    (root / "derivatives" / "masks" / "dataset_description.json").write_text("{}")
    nib.save(nib.Nifti1Image(mask, affine), masks / "sub-1_acq-small_label-brain_mask.nii.gz")
    return root


@pytest.fixture(scope="module")
def bids(tmp_path_factory) -> Path:
    return write_bids(tmp_path_factory.mktemp("bids") / "ds")


def test_events_are_inherited_across_acq_and_masks_come_from_derivatives(bids):
    from signalkit.io.bids_sidecars import derivative_mask, entities, inherited_sidecar
    from signalkit.io.nifti import read_nifti

    bold = bids / "sub-1" / "func" / "sub-1_task-objects_acq-small_run-02_bold.nii.gz"
    assert entities(bold) == {"sub": "1", "task": "objects", "acq": "small", "run": "02"}
    assert inherited_sidecar(bold, "events.tsv").name == "sub-1_task-objects_run-02_events.tsv"
    assert derivative_mask(bold, "brain").name == "sub-1_acq-small_label-brain_mask.nii.gz"
    rec = read_nifti(bold, preprocess={"mask": "label-brain"})
    assert rec.attrs["events_file"].endswith("run-02_events.tsv")
    assert list(rec["event_label"].values[:3]) == list(pd.read_csv(rec.attrs["events_file"], sep="\t")["trial_type"][:3])
    assert rec["mask"].values.sum() == 3 * 4 * 3
    assert float(np.abs(rec["signal"].values[:, 0]).max()) == 0.0  # outside the mask


def test_a_missing_derivatives_mask_is_one_clear_error(bids):
    from signalkit.errors import InputError
    from signalkit.io.nifti import read_nifti

    bold = bids / "sub-1" / "func" / "sub-1_task-objects_acq-small_run-01_bold.nii.gz"
    with pytest.raises(InputError, match="label-vt"):
        read_nifti(bold, preprocess={"mask": "label-vt"})


def ingest_tree(bids: Path, store: str) -> str:
    from signalkit.store import ingest

    runs = sorted(str(p) for p in (bids / "sub-1" / "func").glob("*_bold.nii.gz"))
    ingest(runs, store, "fmri", {"preprocess": {"mask": "label-brain"}}, progress=False)
    return store


@pytest.fixture(scope="module")
def store(bids, tmp_path_factory) -> str:
    return ingest_tree(bids, str(tmp_path_factory.mktemp("store") / "s.zarr"))


def haxby(store: str, out: Path, *extra: str) -> list[str]:
    return ["experiment=fmri/haxby", f"data.store={store}", f"output_dir={out}", f"data.events=[{','.join(CLASSES)}]",
            "data.window_s=15", "trainer.enable_progress_bar=false", *extra]


def test_haxby_recipe_leave_one_run_out_with_the_svm_beside_it(store, tmp_path):
    from signalkit.training import train

    out = tmp_path / "run"
    metrics = train(haxby(store, out, "test_run=4"))  # run 4 is "04"
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("test/balanced_accuracy", "test/balanced_accuracy_linear_svm", "test/accuracy_linear_svm",
                "train/ridge_alpha"):
        assert key in saved, key
    assert saved["train/ridge_inner_folds"] == 3.0  # the three training runs, none held out for validation
    assert saved["train/ridge_windows"] == 18.0  # 3 runs x 6 blocks
    assert saved["train/ridge_examples"] == 18.0  # the recipe fits the block averages (readout_samples=block)
    assert saved["test/balanced_accuracy_linear_svm"] >= 0.99  # 6 test blocks, strong patterns
    assert metrics["test/balanced_accuracy"] >= 0.99, metrics
    # the run folder's checkpoint is a normal model: the fitted read-out is in it
    import torch

    ckpt = torch.load(saved["best_checkpoint"], weights_only=True, map_location="cpu")
    assert ckpt["ridge_readout"]["train/ridge_alpha"] == saved["train/ridge_alpha"]
    assert float(ckpt["state_dict"]["model.head.fc.weight"].abs().sum()) > 0


def test_a_test_run_not_in_the_store_is_one_clear_error_exit_2(store, tmp_path, capsys):
    from signalkit.cli import main

    code = main(["train", *haxby(store, tmp_path / "r", "test_run=09")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "data.split.assign.test" in err[0] and "'09'" in err[0] and "01, 02, 03, 04" in err[0], err


def test_a_class_without_blocks_in_the_test_run_is_one_clear_error_exit_2(tmp_path, capsys):
    from signalkit.cli import main

    store = ingest_tree(write_bids(tmp_path / "ds", drop=(2, "shoe")), str(tmp_path / "s.zarr"))
    code = main(["train", *haxby(store, tmp_path / "r", "test_run=02")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "data.events" in err[0] and "shoe" in err[0] and "test split" in err[0], err


def add_acquisition(bids: Path, acq: str = "big", shape: tuple[int, int, int] = (4, 4, 2)) -> None:
    """A second acquisition of every run (another grid, no derivatives mask), events inherited."""
    import nibabel as nib

    rng = np.random.default_rng(5)
    for bold in sorted((bids / "sub-1" / "func").glob("*acq-small*_bold.nii.gz")):
        n_t = nib.load(bold).shape[3]
        img = nib.Nifti1Image((rng.standard_normal((*shape, n_t)) + 50).astype(np.float32), np.diag([4.0] * 3 + [1]))
        img.header.set_xyzt_units("mm", "sec")
        img.header["pixdim"][4] = TR
        nib.save(img, bold.parent / bold.name.replace("acq-small", f"acq-{acq}"))


def test_one_store_of_two_acquisitions_with_masks_where_the_grid_has_one(tmp_path, capsys):
    from signalkit.cli import main
    from signalkit.store import ingest, open_store

    bids = write_bids(tmp_path / "ds")
    add_acquisition(bids)
    store = str(tmp_path / "s.zarr")
    ingest(sorted(str(p) for p in (bids / "sub-1" / "func").glob("*_bold.nii.gz")), store, "fmri",
           {"preprocess": {"mask": "label-brain?"}}, progress=False)
    s = open_store(store)
    masked = {rid: ("mask" in s[rid]) for rid in s}
    assert sum(masked.values()) == 4 and all(masked[r] == ("acq-small" in r) for r in masked)
    out = tmp_path / "run"
    assert main(["train", *haxby(store, out, "data.acq=small", "test_run=04")]) == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["train/ridge_windows"] == 18.0 and saved["test/balanced_accuracy"] >= 0.99
    capsys.readouterr()
    assert main(["train", *haxby(store, tmp_path / "r2", "test_run=04")]) == 2  # two grids, no data.acq
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.acq" in err[0] and "different grids" in err[0], err
    assert main(["train", *haxby(store, tmp_path / "r3", "data.acq=1slice")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.acq: no recording" in err[0] and "acq-big, acq-small" in err[0], err


def test_volume_readout_through_the_recipe_and_a_bad_value_is_one_clear_error_exit_2(store, tmp_path, capsys):
    from signalkit.cli import main

    out = tmp_path / "vol"
    assert main(["train", *haxby(store, out, "test_run=4", "task.readout_samples=volume",
                                 "task.readout_refit=fold_mean")]) == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["train/ridge_windows"] == 18.0 and saved["train/ridge_examples"] == 108.0  # 18 blocks x 6 volumes
    assert saved["test/balanced_accuracy"] >= 0.99, saved  # strong patterns: the volume fit finds them too
    capsys.readouterr()
    assert main(["train", *haxby(store, tmp_path / "bad", "test_run=4", "task.readout_samples=frames")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "task.readout_samples" in err[0] and "'frames'" in err[0], err
