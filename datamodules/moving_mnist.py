"""Moving MNIST as a dataset: MNIST-format digit loading, the 80/10/10 digit split and
:class:`MovingMNIST`, which draws every sequence from its own ``numpy`` generator keyed by
``(seed, stage, index, draw)`` (the generator is :mod:`signalkit.synthetic.moving_mnist`), so the
train, validation and test streams never share a seed, the test set is fixed by ``seed`` alone, and
the training stream gives fresh sequences on every pass.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset

from signalkit.errors import ConfigError, InputError
from signalkit.synthetic.moving_mnist import STAGE_IDS, generate_sequence

DIGITS_SPLIT = (0.8, 0.1, 0.1)


def load_digits(path: str | os.PathLike, key: str = "data") -> np.ndarray:
    """MNIST-format digits ``(N, 28, 28)`` uint8 from an ``.npz`` (key ``data``) or ``.npy``."""
    path = str(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: digits file not found")
    try:
        if path.endswith(".npz"):
            with np.load(path) as z:
                if key not in z:
                    raise InputError(f"{path}: no array {key!r} (has {', '.join(z.keys())})")
                arr = z[key]
        else:
            arr = np.load(path)
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"{path}: unreadable digits file ({type(err).__name__}: {err})") from None
    if arr.ndim != 3:
        raise InputError(f"{path}: expected digits (N, H, W), got shape {arr.shape}")
    return arr


def load_mnist_test_seq(path: str | os.PathLike) -> np.ndarray:
    """The standard ``mnist_test_seq.npy`` (layout ``(T=20, N, 64, 64)`` uint8) as ``(N, T, 64, 64)``."""
    path = str(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: file not found")
    arr = np.load(path, mmap_mode="r")
    if arr.ndim != 4:
        raise InputError(f"{path}: expected (T, N, H, W) like mnist_test_seq.npy, got {arr.ndim} dims {arr.shape}")
    return np.ascontiguousarray(np.swapaxes(arr, 0, 1))


class MovingMNIST(Dataset):
    """Seeded Moving MNIST sequences: item ``{"x": (T_in, 1, H, W), "y": (T_out, 1, H, W)}`` in [0, 1].

    Args:
        digits: ``(N, 28, 28)`` digit images of this stage.
        length: sequences per pass; stage: ``train`` | ``val`` | ``test`` (its own seed stream).
        fresh: draw a new sequence on every access of an index (training); else fixed sequences.
        sequences: optional fixed ``(N, T, H, W)`` uint8 sequences (e.g. ``mnist_test_seq.npy``).
    """

    def __init__(self, digits: np.ndarray | None, length: int, stage: str, seed: int = 0, t_in: int = 10,
                 t_out: int = 10, image_size: int = 64, num_digits: int = 2, fresh: bool = False,
                 sequences: np.ndarray | None = None) -> None:
        self.digits, self.stage, self.seed = digits, stage, int(seed)
        self.t_in, self.t_out, self.image_size, self.num_digits = int(t_in), int(t_out), int(image_size), int(num_digits)
        self.sequences = sequences
        self.length = int(length) if sequences is None else len(sequences)
        if sequences is not None and sequences.shape[1] < self.t_in + self.t_out:
            raise ConfigError(f"data.t_in: sequences of {sequences.shape[1]} frames are shorter than "
                              f"t_in + t_out = {self.t_in + self.t_out}")
        self.fresh = fresh
        self.draws = np.zeros(self.length, dtype=np.int64)

    def __len__(self) -> int:
        return self.length

    def sequence(self, index: int) -> np.ndarray:
        """The uint8 frames ``(T_in + T_out, H, W)`` of item ``index``."""
        if self.sequences is not None:
            return np.asarray(self.sequences[index, : self.t_in + self.t_out])
        draw = int(self.draws[index]) if self.fresh else 0
        if self.fresh:
            self.draws[index] += 1
        rng = np.random.default_rng([self.seed, STAGE_IDS[self.stage], int(index), draw])
        return generate_sequence(rng, self.digits, self.t_in + self.t_out, self.image_size, self.num_digits)

    def __getitem__(self, index: int) -> dict:
        seq = torch.from_numpy(self.sequence(index)).float().div_(255.0).unsqueeze(1)
        return {"x": seq[: self.t_in], "y": seq[self.t_in:], "rec": index}


def split_digits(digits: np.ndarray, by_index: bool = True) -> dict[str, np.ndarray]:
    """Digits per stage: by index 80/10/10 % (no digit image in two stages), or all digits everywhere."""
    if not by_index:
        return {s: digits for s in STAGE_IDS}
    n = len(digits)
    a, b = int(n * DIGITS_SPLIT[0]), int(n * (DIGITS_SPLIT[0] + DIGITS_SPLIT[1]))
    return {"train": digits[:a], "val": digits[a:b], "test": digits[b:]}
