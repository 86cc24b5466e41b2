"""Runs one read in a separate (spawned) process, so a hang or a crash cannot take pytest down."""

from __future__ import annotations

import traceback


def warm() -> None:
    import signalkit.io.mne_reader  # noqa: F401  (import once per worker)


def read_one(path: str) -> tuple:
    """("ok", shape) | ("signalkit", type, message) | ("other", type, message, traceback)."""
    import warnings

    from signalkit.errors import SignalkitError
    from signalkit.io.mne_reader import read_sensor

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = read_sensor(path, modality="eeg")
        return ("ok", tuple(rec["signal"].shape))
    except SignalkitError as err:
        return ("signalkit", type(err).__name__, str(err))
    except BaseException as err:  # noqa: BLE001 - reported to the test
        return ("other", type(err).__name__, str(err)[:300], traceback.format_exc()[-2000:])
