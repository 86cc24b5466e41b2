"""Analysis figures (matplotlib, Agg-safe; every function returns a ``matplotlib.figure.Figure``).

Imported lazily: ``signalkit.plot.plot_confusion_matrix`` loads only what it needs.

* sensors: :func:`plot_topomap`, :func:`band_power_difference`, :func:`plot_class_difference_topomap`
* classification: :func:`plot_confusion_matrix`
* training: :func:`read_metrics_csv`, :func:`plot_training_curves`
* weather: :func:`rmse_by_lead`, :func:`plot_rmse_vs_lead`, and the maps
  :func:`plot_forecast_maps`, :func:`plot_forecast_zarr`
* backbones: :func:`receptive_field`, :func:`plot_receptive_fields`
* benchmarks: :func:`parse_scaling_output`, :func:`plot_speed_curves`
* video: :func:`plot_frame_grid`
* fMRI: :func:`plot_orthogonal`, :func:`plot_region_timeseries`
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "plot_topomap": "signalkit.plot.sensors",
    "band_power": "signalkit.plot.sensors",
    "band_power_difference": "signalkit.plot.sensors",
    "plot_class_difference_topomap": "signalkit.plot.sensors",
    "plot_confusion_matrix": "signalkit.plot.classification",
    "read_metrics_csv": "signalkit.plot.training",
    "plot_training_curves": "signalkit.plot.training",
    "rmse_by_lead": "signalkit.plot.weather",
    "plot_rmse_vs_lead": "signalkit.plot.weather",
    "receptive_field": "signalkit.plot.backbones",
    "plot_receptive_fields": "signalkit.plot.backbones",
    "parse_scaling_output": "signalkit.plot.benchmarks",
    "plot_speed_curves": "signalkit.plot.benchmarks",
    # modality figures
    "plot_forecast_maps": "signalkit.plot.weather",
    "plot_forecast_zarr": "signalkit.plot.weather",
    "plot_frame_grid": "signalkit.plot.video",
    "plot_orthogonal": "signalkit.plot.fmri",
    "plot_region_timeseries": "signalkit.plot.fmri",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'signalkit.plot' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
