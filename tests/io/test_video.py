"""Video reader: arrays with layouts, PyAV files, frame folders, grayscale, crop/resize, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from signalkit.errors import ConfigError, InputError
from signalkit.io import read_recording
from signalkit.io.video import to_gray
from signalkit.recording import MODALITY_DIMS, validate_recording


def test_npy_thw_is_kept_as_uint8(fake_videos):
    rec = read_recording(fake_videos["npy"], "video")
    validate_recording(rec, "video")
    assert rec["signal"].dims == MODALITY_DIMS["video"]
    assert rec["signal"].dtype == np.uint8
    np.testing.assert_array_equal(rec["signal"].values[:, 0], fake_videos["thw"])
    assert rec.attrs["sha256"] and rec.attrs["subject"] == "clip_thw"


def test_layouts_reorder_axes(fake_videos, tmp_path):
    thw = fake_videos["thw"]
    np.save(tmp_path / "hwt.npy", np.transpose(thw, (1, 2, 0)))
    rec = read_recording(tmp_path / "hwt.npy", "video", layout="HWT")
    np.testing.assert_array_equal(rec["signal"].values[:, 0], thw)
    rgb = read_recording(fake_videos["npz"], "video", key="frames", layout="THWC")
    np.testing.assert_array_equal(rgb["signal"].values, np.moveaxis(fake_videos["rgb"], -1, 1))
    assert list(rgb["channel"].values) == ["r", "g", "b"]
    z = read_recording(fake_videos["zarr"], "video", layout="TCHW", fps=12.5)
    np.testing.assert_array_equal(z["signal"].values, zarr.open_array(str(fake_videos["zarr"]), mode="r")[:])
    assert z["signal"].dtype == np.float32 and z.attrs["fps"] == 12.5


def test_sequences_axis_is_concatenated_with_clip_length(fake_videos):
    rec = read_recording(fake_videos["seq"], "video", layout="TNHW")
    seq = np.load(fake_videos["seq"])
    assert rec.attrs["clip_length"] == 20 and rec.sizes["time"] == 60
    np.testing.assert_array_equal(rec["signal"].values[20:40, 0], seq[:, 1])


def test_luma_matches_hand_computed():
    rgb = np.array([[[[255]], [[0]], [[0]]], [[[10]], [[20]], [[30]]]], dtype=np.uint8)  # (T=2, C=3, 1, 1)
    gray = to_gray(rgb, "luma")
    assert gray.tolist() == [[[[76]]], [[[18]]]]  # round(0.299*255)=76, round(2.99+11.74+3.42)=18
    assert to_gray(rgb, "first")[:, 0, 0, 0].tolist() == [255, 10]


def test_video_file_matches_pyav(fake_videos):
    import av

    with av.open(str(fake_videos["mkv"])) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    rec = read_recording(fake_videos["mkv"], "video")
    assert rec.attrs["fps"] == 10.0
    np.testing.assert_array_equal(rec["signal"].values, np.moveaxis(frames, -1, 1))
    gray = read_recording(fake_videos["mkv"], "video", color="gray")
    expected = np.clip(np.round(frames.astype(float) @ [0.299, 0.587, 0.114]), 0, 255)
    np.testing.assert_array_equal(gray["signal"].values[:, 0], expected)


def test_frame_folder(fake_videos):
    rec = read_recording(fake_videos["frames"], "video")
    np.testing.assert_array_equal(rec["signal"].values[:, 0], fake_videos["thw"][:4])


def test_crop_and_resize(fake_videos):
    rec = read_recording(fake_videos["npy"], "video", crop=[1, 2, 4, 6])
    np.testing.assert_array_equal(rec["signal"].values[:, 0], fake_videos["thw"][:, 1:5, 2:8])
    small = read_recording(fake_videos["npy"], "video", size=[4, 5])
    assert small["signal"].shape == (12, 1, 4, 5) and small["signal"].dtype == np.uint8
    # a 2x area reduction of a 2x2-block image is exact
    blocks = np.repeat(np.repeat(fake_videos["thw"][:, :4, :5], 2, 1), 2, 2)
    np.save(fake_videos["root"] / "blocks.npy", blocks)
    down = read_recording(fake_videos["root"] / "blocks.npy", "video", size=[4, 5])
    np.testing.assert_array_equal(down["signal"].values[:, 0], fake_videos["thw"][:, :4, :5])


def test_bad_inputs_one_clear_line(fake_videos, tmp_path):
    with pytest.raises(ConfigError, match=r"^layout: unknown layout 'TXY'"):
        read_recording(fake_videos["npy"], "video", layout="TXY")
    with pytest.raises(InputError, match=r"clip_thw.npy: array has 3 dims \(12, 8, 10\) but layout 'TCHW' has 4"):
        read_recording(fake_videos["npy"], "video", layout="TCHW")
    missing = tmp_path / "nope.npy"
    with pytest.raises(InputError, match=rf"^{missing}: file not found"):
        read_recording(missing, "video")
    np.save(tmp_path / "flat.npy", np.zeros((4, 5)))
    with pytest.raises(InputError, match=r"flat.npy: cannot guess the layout"):
        read_recording(tmp_path / "flat.npy", "video")
    with pytest.raises(ConfigError, match=r"^crop: "):
        read_recording(fake_videos["npy"], "video", crop=[0, 0, 100, 4])


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["kth_test_example", "kth_train_example1"])
def test_kth_avi_matches_decoded_npy(video_data, name):
    ref = np.load(video_data / f"{name}_gray_T32x32.npy")
    exact = read_recording(video_data / f"{name}.avi", "video", color="gray", gray_method="first")
    np.testing.assert_array_equal(exact["signal"].values[:, 0], ref)
    luma = read_recording(video_data / f"{name}.avi", "video", color="gray")
    diff = luma["signal"].values[:, 0].astype(int) - ref
    assert np.abs(diff).max() <= 1
    npy = read_recording(video_data / f"{name}_gray_T32x32.npy", "video", layout="THW")
    np.testing.assert_array_equal(npy["signal"].values[:, 0], ref)
    assert exact.attrs["fps"] == 25.0


def test_frame_folder_named_frames_ingests_as_one_source(fake_videos, tmp_path):
    import shutil

    from signalkit.io import expand_sources
    from signalkit.store import ingest, open_store

    folder = tmp_path / "walk.frames"
    shutil.copytree(fake_videos["frames"], folder)
    files = expand_sources(str(folder), "video")  # the folder itself is the source
    assert files == [str(folder)]
    store = ingest(files, str(tmp_path / "s.zarr"), "video", {}, progress=False)
    rec = open_store(store)["walk"]
    np.testing.assert_array_equal(rec["signal"].values[:, 0], fake_videos["thw"][:4])
