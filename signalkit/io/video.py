"""Video reader: arrays (``.npy``/``.npz``/zarr), video files (PyAV) and folders of frames (PIL).

Every source becomes a Recording with ``signal (time, channel, height, width)`` (uint8 kept as
uint8, anything else float32), a ``channel`` coordinate (``gray`` or ``r, g, b``) and attr
``fps`` when the source declares one. Arrays carry a declared ``layout`` (letters from
``N T C H W``; ``N`` = several sequences, which are concatenated along time with attr
``clip_length`` so windows never straddle two sequences).

Grayscale conversion (``color: gray``) of RGB frames, ``gray_method``:

* ``luma``  (default): ITU-R BT.601 weights ``0.299 R + 0.587 G + 0.114 B``, rounded (PIL "L", OpenCV).
* ``first``: the first RGB channel. For the XviD KTH clips this reproduces the published
  ``*_gray_T32x32.npy`` exactly (the decoded RGB has a constant tint, G = R + 2, B = R - 1,
  so ``luma`` lands 1 grey level above).
* ``pyav``: FFmpeg's ``gray`` pixel format (video files only; range-converted, 2-3 levels off).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from signalkit.errors import ConfigError, InputError
from signalkit.io import register_reader
from signalkit.recording import SIGNAL, file_sha256

ARRAY_EXTENSIONS = (".npy", ".npz", ".zarr")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
LAYOUT_LETTERS = "NTCHW"
LUMA = np.array([0.299, 0.587, 0.114])


def parse_layout(layout: str) -> str:
    """Validate a layout string (letters from ``N T C H W``, each at most once, with T, H and W)."""
    text = str(layout).upper()
    if (not text or any(c not in LAYOUT_LETTERS for c in text) or len(set(text)) != len(text)
            or not set("THW") <= set(text)):
        raise ConfigError(f"layout: unknown layout {layout!r} (letters from N, T, C, H, W, each once, "
                          "with T, H and W; e.g. THW, TCHW, THWC, NTHW)")
    return text


def guess_layout(shape: Sequence[int]) -> str | None:
    """Default layout for an array without one: THW, THWC or TCHW (channels of size 1, 3 or 4)."""
    if len(shape) == 3:
        return "THW"
    if len(shape) == 4 and shape[-1] in (1, 3, 4):
        return "THWC"
    if len(shape) == 4 and shape[1] in (1, 3, 4):
        return "TCHW"
    return None


def to_tchw(arr: np.ndarray, layout: str | None, path: str) -> tuple[np.ndarray, int | None]:
    """Reorder ``arr`` to ``(T, C, H, W)``; ``N`` is folded into time. Returns the array and clip length."""
    layout = parse_layout(layout) if layout else guess_layout(arr.shape)
    if layout is None:
        raise InputError(f"{path}: cannot guess the layout of an array of shape {arr.shape}; set layout=...")
    if arr.ndim != len(layout):
        raise InputError(f"{path}: array has {arr.ndim} dims {tuple(arr.shape)} but layout {layout!r} "
                         f"has {len(layout)}")
    full = "".join(c for c in "NTCHW" if c in layout)
    arr = np.transpose(arr, [layout.index(c) for c in full])
    if "C" not in full:
        arr = arr[:, :, None] if "N" in full else arr[:, None]
    clip = None
    if "N" in full:
        clip = int(arr.shape[1])
        arr = arr.reshape(-1, *arr.shape[2:])
    return arr, clip


def _load_array(path: str, key: str | None) -> np.ndarray:
    low = path.lower().rstrip("/")
    try:
        if low.endswith(".npy"):
            return np.load(path, mmap_mode="r")
        if low.endswith(".npz"):
            with np.load(path) as z:
                names = list(z.keys())
                name = key or ("data" if "data" in names else names[0] if len(names) == 1 else None)
                if name not in names:
                    raise InputError(f"{path}: no array {key!r} in the npz (has {', '.join(names)}); set key=...")
                return z[name]
        import zarr

        node = zarr.open(path, mode="r")
        if isinstance(node, zarr.Array):
            return np.asarray(node)
        names = sorted(node.array_keys())
        name = key or (names[0] if len(names) == 1 else "data")
        if name not in names:
            raise InputError(f"{path}: no array {name!r} in the zarr group (has {', '.join(names)}); set key=...")
        return np.asarray(node[name])
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"{path}: unreadable array file ({type(err).__name__}: {err})") from None


def _decode_video(path: str, gray_method: str, want_gray: bool) -> tuple[np.ndarray, float | None]:
    try:
        import av
    except ModuleNotFoundError:
        raise InputError(f"{path}: reading video files needs PyAV (pip install 'signalkit-ml[video]')") from None
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fmt = "gray" if (want_gray and gray_method == "pyav") else "rgb24"
            frames = [f.to_ndarray(format=fmt) for f in container.decode(stream)]
    except Exception as err:
        raise InputError(f"{path}: cannot decode video ({type(err).__name__}: {err})") from None
    if not frames:
        raise InputError(f"{path}: the video has no frames")
    arr = np.stack(frames)  # (T, H, W) or (T, H, W, 3)
    arr = arr[:, None] if arr.ndim == 3 else np.moveaxis(arr, -1, 1)
    return arr, (float(rate) if rate else None)


def _read_frames(path: str) -> np.ndarray:
    from PIL import Image

    files = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)
    if not files:
        raise InputError(f"{path}: no frame images ({', '.join(FRAME_EXTENSIONS)}) in the folder")
    frames = []
    for f in files:
        img = Image.open(f)
        img = img.convert("L") if img.mode in ("L", "1") else img.convert("RGB")
        a = np.asarray(img)
        frames.append(a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0))
    shapes = {fr.shape for fr in frames}
    if len(shapes) != 1:
        raise InputError(f"{path}: frames of different sizes {sorted(shapes)}")
    return np.stack(frames)


def to_gray(arr: np.ndarray, method: str = "luma") -> np.ndarray:
    """``(T, C, H, W)`` -> ``(T, 1, H, W)``: ``luma`` (BT.601, rounded for uint8) or ``first``."""
    if arr.shape[1] == 1:
        return arr
    if method == "first":
        return arr[:, :1]
    rgb = np.asarray(arr[:, :3], dtype=np.float64)
    y = np.tensordot(LUMA, rgb, axes=([0], [1]))[:, None]
    return np.clip(np.round(y), 0, 255).astype(np.uint8) if arr.dtype == np.uint8 else y.astype(np.float32)


def crop_resize(arr: np.ndarray, crop: Sequence[int] | None, size: Sequence[int] | None) -> np.ndarray:
    """Crop ``[top, left, height, width]`` then resize to ``[height, width]`` (area when shrinking, else bilinear)."""
    if crop is not None:
        top, left, h, w = (int(v) for v in crop)
        if top < 0 or left < 0 or top + h > arr.shape[2] or left + w > arr.shape[3] or h < 1 or w < 1:
            raise ConfigError(f"crop: {list(crop)} does not fit frames of {arr.shape[2]}x{arr.shape[3]}")
        arr = arr[:, :, top:top + h, left:left + w]
    if size is not None and tuple(int(s) for s in size) != tuple(arr.shape[2:]):
        import torch
        import torch.nn.functional as F

        h, w = (int(s) for s in size)
        t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        if h <= arr.shape[2] and w <= arr.shape[3]:  # shrinking: area averaging (exact for integer factors)
            out = F.interpolate(t, size=(h, w), mode="area").numpy()
        else:
            out = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False).numpy()
        arr = np.clip(np.round(out), 0, 255).astype(np.uint8) if arr.dtype == np.uint8 else out
    return arr


def read_video(
    path: str | os.PathLike,
    layout: str | None = None,
    key: str | None = None,
    color: str = "keep",
    gray_method: str = "luma",
    crop: Sequence[int] | None = None,
    size: Sequence[int] | None = None,
    fps: float | None = None,
    subject_pattern: str | None = None,
) -> xr.Dataset:
    """Read one video source into a Recording ``signal (time, channel, height, width)``.

    Args:
        path: ``.npy``/``.npz``/``.zarr`` array, a video file (mp4, avi, ...) or a folder of frames.
        layout: axis letters of an array (``THW``, ``TCHW``, ``THWC``, ``NTHW``, ``TNHW``, ...);
            default guessed from the shape (3 dims: THW; 4 dims: channels of size 1/3/4).
        key: array name inside an npz/zarr group (default ``data`` or the only one).
        color: ``keep`` | ``gray`` | ``rgb``.
        gray_method: ``luma`` | ``first`` | ``pyav`` (see the module docstring).
        crop: ``[top, left, height, width]`` applied first; size: ``[height, width]`` resize.
        fps: frame rate to record when the source has none (overrides nothing a video declares).
    """
    path = str(path)
    if color not in ("keep", "gray", "rgb"):
        raise ConfigError(f"color: expected keep, gray or rgb, got {color!r}")
    if gray_method not in ("luma", "first", "pyav"):
        raise ConfigError(f"gray_method: expected luma, first or pyav, got {gray_method!r}")
    if layout is not None:
        layout = parse_layout(layout)
    if not os.path.exists(path):
        raise InputError(f"{path}: file not found")
    low = path.lower().rstrip("/")
    clip, rate = None, fps
    if low.endswith(ARRAY_EXTENSIONS):
        arr, clip = to_tchw(_load_array(path, key), layout, path)
    elif low.endswith(VIDEO_EXTENSIONS):
        arr, declared = _decode_video(path, gray_method, color == "gray")
        rate = declared or fps
    elif os.path.isdir(path):
        arr = _read_frames(path)
    else:
        raise InputError(f"{path}: not a video source (arrays {', '.join(ARRAY_EXTENSIONS)}, "
                         f"videos {', '.join(VIDEO_EXTENSIONS)} or a folder of frames)")
    if np.dtype(arr.dtype).kind not in "biuf":
        raise InputError(f"{path}: frames of dtype {arr.dtype} are not numbers")
    if arr.shape[1] not in (1, 3, 4):
        raise InputError(f"{path}: {arr.shape[1]} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)")
    arr = np.asarray(arr)
    if arr.shape[1] == 4:
        arr = arr[:, :3]
    if color == "gray":
        arr = to_gray(arr, "luma" if gray_method == "pyav" else gray_method)
    elif color == "rgb" and arr.shape[1] == 1:
        arr = np.repeat(arr, 3, axis=1)
    arr = crop_resize(arr, crop, size)
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise InputError(f"{path}: NaN or Inf in the frames")
    if arr.shape[0] == 0 or arr.shape[2] == 0 or arr.shape[3] == 0:
        raise InputError(f"{path}: empty video {tuple(arr.shape)}")
    return _recording(np.ascontiguousarray(arr), path, rate, clip, subject_pattern)


def _recording(arr: np.ndarray, path: str, fps: float | None, clip: int | None,
               subject_pattern: str | None) -> xr.Dataset:
    from signalkit.io.identity import parse_identity

    names = ["gray"] if arr.shape[1] == 1 else ["r", "g", "b"]
    ds = xr.Dataset({SIGNAL: (("time", "channel", "height", "width"), arr)},
                    coords={"channel": np.asarray(names, dtype=str)})
    ident = parse_identity(path, subject_pattern)
    sha = file_sha256(path) if os.path.isfile(path) else ""
    ds.attrs.update(source=path, sha256=sha, **ident)
    if fps:
        ds.attrs["fps"] = float(fps)
    if clip:
        ds.attrs["clip_length"] = int(clip)
    return ds


# a folder of frames is one source when its name ends with .frames (e.g. walk01.frames/0001.png)
register_reader("video", read_video, ARRAY_EXTENSIONS + VIDEO_EXTENSIONS + (".frames",))
