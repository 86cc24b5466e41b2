"""Synthetic long-range task (delayed XOR of two far-apart signs), small scale.

Runs ``benchmarks/long_range.py``'s task: every family must reach >= 95% test accuracy, while a
same-size stack of 3-wide convolutions stays at chance. The SSM at L=512 (~160 steps, ~30 s of CPU
with the chunked scan) and the full-size version (L=4096, 128x128) are marked ``slow``; the SSM at
L=64 (~8 s of CPU) is the fast end-to-end check; the SSM at 32x32 (row-major scans both ways) is
``slow`` too. Not a test: the SSM at 128x128 (~13 s of CPU per step, 351 steps; its run is in
``benchmarks/RECORDED.md``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "long_range.py"
_spec = importlib.util.spec_from_file_location("_signalkit_long_range", _PATH)
lr = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = lr  # dataclasses look their module up
_spec.loader.exec_module(lr)

SMALL_1D, SMALL_2D = (512,), (32, 32)
# families whose CPU training fits the test budget at these sizes (the SSM: see test_long_range_ssm)
CASES = [
    ("lka", SMALL_1D), ("afno", SMALL_1D), ("hyena", SMALL_1D), ("gfnet", SMALL_1D),
    ("lka", SMALL_2D), ("afno", SMALL_2D), ("gfnet", SMALL_2D), ("ssm", (64,)),
]


def _spec_for(name: str, shape: tuple[int, ...]) -> "lr.Spec":
    return next(s for s in lr.specs_for(shape) if s.name == name)


def test_task_has_the_known_answer():
    x, y = lr.make_batch(64, (64,), torch.Generator().manual_seed(0))
    for xi, yi in zip(x[:, 0], y):
        nz = xi.nonzero().flatten()
        first, second = xi[nz[0]], xi[nz[-1]]
        assert nz[-1] - nz[0] >= 32 - 1  # half the sequence apart
        assert int(first != second) == int(yi)
    assert 0.3 < y.float().mean() < 0.7


@pytest.mark.parametrize("shape", [SMALL_1D, SMALL_2D], ids=["1d", "2d"])
def test_conv3_baseline_stays_at_chance(shape):
    acc, _, _ = lr.conv3_baseline(shape, 2, dim=16, steps=60, n_test=256)
    assert acc < 0.65, acc


@pytest.mark.parametrize("name, shape", CASES, ids=[f"{n}-{'x'.join(map(str, s))}" for n, s in CASES])
def test_long_range_family_solves_task(name, shape):
    torch.set_num_threads(1)
    sp = _spec_for(name, shape)
    acc, secs, steps = lr.train_eval(sp.name, sp.kwargs, shape, dim=16, depth=sp.depth, steps=400, lr=sp.lr,
                                     n_test=256, time_limit=150)
    assert acc >= 0.95, f"{name} {shape}: accuracy {acc:.3f} after {steps} steps / {secs:.0f} s"


@pytest.mark.slow
@pytest.mark.parametrize("shape, steps", [(SMALL_1D, 400), (SMALL_2D, 600)], ids=["512", "32x32"])
def test_long_range_ssm(shape, steps):
    """SSM at the small sizes: the chunked CPU scan makes it seconds to minutes, above the fast-test
    budget (~160 steps and ~30 s of CPU at L=512; ~400 steps and ~150 s at 32 x 32, where the spec
    scans row-major both ways, see ``ROW_MAJOR_BOTH_WAYS``)."""
    torch.set_num_threads(1)
    sp = _spec_for("ssm", shape)
    acc, secs, steps = lr.train_eval(sp.name, sp.kwargs, shape, dim=16, depth=sp.depth, steps=steps, lr=sp.lr,
                                     n_test=256)
    assert acc >= 0.95, f"ssm {shape}: accuracy {acc:.3f} after {steps} steps / {secs:.0f} s"


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(4096,), (128, 128)], ids=["4096", "128x128"])
def test_long_range_full_size(shape):
    base, _, _ = lr.conv3_baseline(shape, 2, dim=16, steps=100, n_test=256)
    assert base < 0.65
    for sp in lr.specs_for(shape):
        if sp.name == "ssm" and len(shape) > 1:  # 128x128: ~13 s of CPU per step (recorded, not tested)
            continue
        acc, _, _ = lr.train_eval(sp.name, sp.kwargs, shape, dim=16, depth=sp.depth, steps=600, lr=5e-3, n_test=256)
        assert acc >= 0.95, (sp.name, acc)
