"""Seeded video files in real formats (lossless FFV1 through PyAV, the ``video`` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_ffv1(path: Path, frames: np.ndarray, fps: int = 10) -> None:
    """Write ``(T, H, W, 3)`` uint8 RGB frames losslessly (FFV1, bgr0) with PyAV."""
    import av

    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("ffv1", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "bgr0"
        for fr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(fr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
