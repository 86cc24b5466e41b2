"""Fixtures for the video tests: the sample-data folder and seeded tiny fake videos in every format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signalkit.synthetic.video import write_ffv1
from tests.support import one_torch_thread, sample_subdir


@pytest.fixture(scope="session")
def video_data(sample_data) -> Path:
    """The video folder of the real sample data (``sample_data`` is in tests/conftest.py)."""
    return sample_subdir(sample_data, "video")


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture(scope="session")
def fake_videos(tmp_path_factory) -> dict[str, Path]:
    """Seeded tiny sources: npy (THW), npz (THWC), zarr (TCHW), an FFV1 .mkv, a PNG folder, clips."""
    import zarr
    from PIL import Image

    root = tmp_path_factory.mktemp("video")
    rng = np.random.default_rng(0)
    thw = rng.integers(0, 256, (12, 8, 10), dtype=np.uint8)
    np.save(root / "clip_thw.npy", thw)
    rgb = rng.integers(0, 256, (6, 8, 10, 3), dtype=np.uint8)
    np.savez(root / "clip_rgb.npz", frames=rgb)
    z = zarr.open_array(str(root / "clip_tchw.zarr"), mode="w", shape=(5, 1, 8, 10), dtype="float32")
    z[:] = rng.random((5, 1, 8, 10), dtype=np.float32)
    write_ffv1(root / "clip.mkv", rng.integers(0, 256, (7, 16, 16, 3), dtype=np.uint8))
    frames_dir = root / "frames"
    frames_dir.mkdir()
    for i in range(4):
        Image.fromarray(thw[i]).save(frames_dir / f"frame_{i:03d}.png")
    # forecasting clips: a bright square moving right one pixel per frame (known future)
    clips = root / "clips"
    clips.mkdir()
    for k in range(3):
        v = np.zeros((30, 16, 16), dtype=np.uint8)
        for t in range(30):
            x0 = (t + 3 * k) % 12
            v[t, 5 + k:9 + k, x0:x0 + 4] = 255
        np.save(clips / f"clip{k}.npy", v)
    np.save(root / "mnist_test_seq.npy", rng.integers(0, 256, (20, 3, 64, 64), dtype=np.uint8))
    np.savez(root / "digits.npz", data=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    return {"root": root, "npy": root / "clip_thw.npy", "npz": root / "clip_rgb.npz", "zarr": root / "clip_tchw.zarr",
            "mkv": root / "clip.mkv", "frames": frames_dir, "clips": clips, "seq": root / "mnist_test_seq.npy",
            "digits": root / "digits.npz", "thw": thw, "rgb": rgb}
