"""Deprecated: the fMRI tasks live with their families (this path goes in the next release).

``FMRIDecodingTask`` -> :mod:`signalkit.tasks.decoding`, ``FMRIReconstructionTask`` ->
:mod:`signalkit.tasks.reconstruction`, ``FMRIForecastingTask`` -> :mod:`signalkit.tasks.forecasting`,
batch-layout helpers -> :mod:`signalkit.tasks.volumes`. Old checkpoints and configs naming
``signalkit.tasks.fmri.*`` keep loading through this module.
"""

import warnings

from signalkit.tasks.decoding import FMRIDecodingTask
from signalkit.tasks.forecasting import FMRIForecastingTask
from signalkit.tasks.reconstruction import FMRIReconstructionTask
from signalkit.tasks.volumes import time_first, valid_mask, valid_mask_like
from signalkit.tasks.volumes import time_patch as _time_patch

warnings.warn("signalkit.tasks.fmri is split: import FMRIDecodingTask, FMRIReconstructionTask and "
              "FMRIForecastingTask from signalkit.tasks", DeprecationWarning, stacklevel=2)

__all__ = ["FMRIDecodingTask", "FMRIForecastingTask", "FMRIReconstructionTask", "time_first", "valid_mask",
           "valid_mask_like"]
