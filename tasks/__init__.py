"""Tasks: ``BaseTask`` and one LightningModule per task type."""

from signalkit.tasks.base import BaseTask, NonFiniteLossError
from signalkit.tasks.decoding import DecodingTask

__all__ = ["BaseTask", "DecodingTask", "NonFiniteLossError"]
