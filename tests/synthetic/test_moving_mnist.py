"""Moving MNIST generator (Srivastava et al. / OpenSTL protocol), seed streams and the standard file."""

from __future__ import annotations

import numpy as np
import pytest

from signalkit.datamodules.video import MovingMNISTDataModule
from signalkit.errors import InputError
from signalkit.moving_mnist import MovingMNIST, generate_sequence, load_mnist_test_seq, random_trajectory, split_digits


def openstl_trajectory(draws: list[float], seq_length: int, image_size=64, digit_size=28, step_length=0.1):
    """OpenSTL's ``MovingMNIST.get_random_trajectory`` transcribed, fed with given uniform draws."""
    canvas_size = image_size - digit_size
    x, y, theta = draws[0], draws[1], draws[2] * 2 * np.pi
    # note: the original draws x then y; we pass them in the generator's order (y, x) below
    v_ys, v_xs = [np.sin(theta)] * seq_length, [np.cos(theta)] * seq_length
    start_y, start_x = np.zeros(seq_length), np.zeros(seq_length)
    bounce_x = bounce_y = 1
    for i in range(seq_length):
        y += bounce_y * v_ys[i] * step_length
        x += bounce_x * v_xs[i] * step_length
        if x <= 0:
            x = 0
            bounce_x = -bounce_x
        if x >= 1.0:
            x = 1.0
            bounce_x = -bounce_x
        if y <= 0:
            y = 0
            bounce_y = -bounce_y
        if y >= 1.0:
            y = 1.0
            bounce_y = -bounce_y
        start_y[i], start_x[i] = y, x
    return (canvas_size * start_y).astype(np.int32), (canvas_size * start_x).astype(np.int32)


def test_trajectory_matches_openstl():
    for seed in range(5):
        draws = np.random.default_rng(seed).random(3)
        top, left = random_trajectory(np.random.default_rng(seed), 40, 36)
        ref_top, ref_left = openstl_trajectory([draws[1], draws[0], draws[2]], 40)
        np.testing.assert_array_equal(top, ref_top)
        np.testing.assert_array_equal(left, ref_left)
        assert top.min() >= 0 and top.max() <= 36 and left.max() <= 36
        assert np.abs(np.diff(top)).max() <= 4 and np.abs(np.diff(left)).max() <= 4  # 0.1 * 36 per frame


def test_sequence_combines_digits_with_max():
    digits = np.zeros((2, 28, 28), dtype=np.uint8)
    digits[0, :, :] = 100
    digits[1, 10:20, 10:20] = 200
    seq = generate_sequence(np.random.default_rng(3), digits, length=20, num_digits=2)
    assert seq.shape == (20, 64, 64) and seq.dtype == np.uint8
    assert set(np.unique(seq)) <= {0, 100, 200}
    # each frame holds the pixel-wise max: never a sum (no 255-clipped 300)
    rng = np.random.default_rng(3)
    one = generate_sequence(rng, digits[:1], length=20, num_digits=1)
    assert (one > 0).sum(axis=(1, 2)).tolist() == [784] * 20  # one full digit visible in every frame


def test_seed_streams_are_fixed_and_disjoint(fake_videos):
    digits = np.load(fake_videos["digits"])["data"]
    test_a = MovingMNIST(digits, 4, "test", seed=7)
    test_b = MovingMNIST(digits, 4, "test", seed=7)
    assert all(np.array_equal(test_a.sequence(i), test_b.sequence(i)) for i in range(4))
    assert np.array_equal(test_a.sequence(0), test_a.sequence(0))  # fixed across accesses
    val = MovingMNIST(digits, 4, "val", seed=7)
    train = MovingMNIST(digits, 4, "train", seed=7, fresh=True)
    first = train.sequence(0)
    assert not np.array_equal(first, train.sequence(0))  # fresh training sequences every pass
    assert not np.array_equal(test_a.sequence(0), val.sequence(0))
    assert not np.array_equal(test_a.sequence(0), MovingMNIST(digits, 4, "test", seed=8).sequence(0))
    item = test_a[1]
    assert item["x"].shape == (10, 1, 64, 64) and item["y"].shape == (10, 1, 64, 64)
    assert 0.0 <= item["x"].min() and item["x"].max() <= 1.0
    parts = split_digits(digits)
    assert len(parts["train"]) == 40 and len(parts["val"]) == 5 and len(parts["test"]) == 5


def test_standard_file_layout_and_datamodule(fake_videos):
    seq = load_mnist_test_seq(fake_videos["seq"])
    raw = np.load(fake_videos["seq"])
    assert seq.shape == (3, 20, 64, 64)
    np.testing.assert_array_equal(seq[2, 5], raw[5, 2])
    dm = MovingMNISTDataModule(str(fake_videos["digits"]), n_train=8, n_val=4, test_file=str(fake_videos["seq"]),
                               batch_size=2)
    dm.setup()
    batch = next(iter(dm.test_dataloader()))
    np.testing.assert_allclose(batch["y"][1, 0, 0].numpy(), raw[10, 1] / 255.0, rtol=1e-6)
    assert len(dm.datasets["test"]) == 3 and dm.data_contract()["t_out"] == 10
    with pytest.raises(InputError, match="flat.npy: expected \\(T, N, H, W\\)"):
        np.save(fake_videos["root"] / "flat.npy", np.zeros((20, 64, 64)))
        load_mnist_test_seq(fake_videos["root"] / "flat.npy")
    with pytest.raises(InputError, match="missing.npz: digits file not found"):
        MovingMNISTDataModule(str(fake_videos["root"] / "missing.npz")).setup()
