"""Moving MNIST sequences: the seeded generator of Srivastava et al. (2015), as used by OpenSTL.

Each sequence puts ``num_digits`` 28 x 28 digits on a 64 x 64 canvas; every digit starts at a
uniform random position with a unit-speed direction ``theta ~ U(0, 2 pi)``, moves
``step_length = 0.1`` of the free range per frame, bounces off the borders (the position is
clamped to [0, 1] and the velocity component flips), and the digits are combined with ``max``.
Positions are scaled by ``image_size - digit_size`` and truncated to integers, exactly as in
OpenSTL's ``MovingMNIST.get_random_trajectory``.

Every sequence is drawn from its own ``numpy`` generator keyed by ``(seed, stage, index, draw)``,
so the train, validation and test streams never share a seed, the test set is fixed by ``seed``
alone, and the training stream gives fresh sequences on every pass.
"""

from __future__ import annotations

import numpy as np

STAGE_IDS = {"train": 0, "val": 1, "test": 2}


def random_trajectory(rng: np.random.Generator, length: int, canvas: int, step_length: float = 0.1
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners ``(top, left)`` of one bouncing digit over ``length`` frames (int arrays)."""
    y, x = rng.random(), rng.random()
    theta = rng.random() * 2 * np.pi
    vy, vx = np.sin(theta), np.cos(theta)
    ys, xs = np.zeros(length), np.zeros(length)
    by = bx = 1.0
    for i in range(length):
        y += by * vy * step_length
        x += bx * vx * step_length
        if x <= 0:
            x, bx = 0.0, -bx
        if x >= 1.0:
            x, bx = 1.0, -bx
        if y <= 0:
            y, by = 0.0, -by
        if y >= 1.0:
            y, by = 1.0, -by
        ys[i], xs[i] = y, x
    return (canvas * ys).astype(np.int32), (canvas * xs).astype(np.int32)


def generate_sequence(rng: np.random.Generator, digits: np.ndarray, length: int = 20, image_size: int = 64,
                      num_digits: int = 2, step_length: float = 0.1) -> np.ndarray:
    """One Moving MNIST sequence ``(length, image_size, image_size)`` uint8 (digits combined with max)."""
    d = digits.shape[-1]
    canvas = image_size - d
    if canvas < 0:
        raise ConfigError(f"data.image_size: {image_size} is smaller than the digits ({d})")
    out = np.zeros((length, image_size, image_size), dtype=np.uint8)
    for _ in range(num_digits):
        top, left = random_trajectory(rng, length, canvas, step_length)
        digit = digits[int(rng.integers(0, len(digits)))]
        for i in range(length):
            win = out[i, top[i]:top[i] + d, left[i]:left[i] + d]
            np.maximum(win, digit, out=win)
    return out
