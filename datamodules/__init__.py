"""Data modules: windows over a store, leakage-free splits, one LightningDataModule per modality.

Every data module is registered in :data:`DATA_MODULES` under its config name (``data.name: eeg``);
:func:`create_datamodule` builds one by that name.
"""

from signalkit.datamodules.eeg import SignalDataModule
from signalkit.datamodules.registry import DATA_MODULES, create_datamodule
from signalkit.datamodules.splits import split_index
from signalkit.datamodules.weather import WeatherDataModule
from signalkit.datamodules.windows import WindowDataset, build_sensor_index

__all__ = ["DATA_MODULES", "SignalDataModule", "WeatherDataModule", "WindowDataset", "build_sensor_index",
           "create_datamodule", "split_index"]
