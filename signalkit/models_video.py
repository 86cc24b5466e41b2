"""Deprecated module: old import paths of the ConvLSTM backbone and the video rollout.

The ``convlstm`` backbone lives in :mod:`signalkit.backbones.convlstm` and the rollout in
:func:`signalkit.tasks.video_forecasting.forecast_frames`; both are re-exported here for one
release (deprecated).
"""

from __future__ import annotations

from signalkit.backbones.convlstm import ConvLSTMBackbone, ConvLSTMCell  # noqa: F401  (old import path)


def __getattr__(name: str):
    # the rollout moved to the forecasting tasks (deprecated alias, one release)
    if name == "rollout":
        import warnings

        from signalkit.tasks.video_forecasting import forecast_frames

        warnings.warn("signalkit.models_video.rollout moved to signalkit.tasks.video_forecasting.forecast_frames",
                      DeprecationWarning, stacklevel=2)
        return forecast_frames
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
