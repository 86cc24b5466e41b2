"""Tasks: ``BaseTask`` and one LightningModule per task type (modality specifics as subclasses).

=================  ==========================================================================
family             tasks
=================  ==========================================================================
decoding           :class:`DecodingTask`, :class:`FMRIDecodingTask`, :class:`RidgeDecodingTask`
                   (closed-form ridge read-out)
reconstruction     :class:`ReconstructionTask`, :class:`FMRIReconstructionTask`
forecasting        :class:`WeatherForecastingTask`, :class:`FMRIForecastingTask`,
                   :class:`VideoForecastingTask` (all roll out through
                   :func:`signalkit.tasks.forecasting.rollout`)
=================  ==========================================================================

Every task is registered in :data:`TASKS` under its config name (``task.name: decoding``);
:func:`create_task` builds one by that name (``create_task("decoding", model=..., lr=3e-4)``).
"""

from signalkit.tasks.base import BaseTask, BaseTaskOptions, NonFiniteLossError
from signalkit.tasks.decoding import DecodingTask, FMRIDecodingTask
from signalkit.tasks.forecasting import FMRIForecastingTask, WeatherForecastingTask, rollout
from signalkit.tasks.reconstruction import FMRIReconstructionTask, ReconstructionTask
from signalkit.tasks.registry import TASKS, create_task
from signalkit.tasks.ridge_decoding import RidgeDecodingTask
from signalkit.tasks.video_forecasting import VideoForecastingTask

__all__ = ["TASKS", "BaseTask", "BaseTaskOptions", "DecodingTask", "FMRIDecodingTask", "FMRIForecastingTask",
           "FMRIReconstructionTask", "NonFiniteLossError", "ReconstructionTask", "RidgeDecodingTask",
           "VideoForecastingTask", "WeatherForecastingTask", "create_task", "rollout"]
