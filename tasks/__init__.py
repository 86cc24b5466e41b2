"""Tasks: ``BaseTask`` and one LightningModule per task type."""

from signalkit.tasks.base import BaseTask, NonFiniteLossError
from signalkit.tasks.decoding import DecodingTask
from signalkit.tasks.reconstruction import ReconstructionTask
from signalkit.tasks.forecasting import WeatherForecastingTask
from signalkit.tasks.video_forecasting import VideoForecastingTask

__all__ = ["BaseTask", "DecodingTask", "NonFiniteLossError", "ReconstructionTask", "VideoForecastingTask",
           "WeatherForecastingTask"]
