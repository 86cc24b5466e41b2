"""Data modules: windows over a store, leakage-free splits, one LightningDataModule per modality."""

from signalkit.datamodules.eeg import SignalDataModule
from signalkit.datamodules.splits import split_index
from signalkit.datamodules.weather import WeatherDataModule
from signalkit.datamodules.windows import WindowDataset, build_sensor_index

__all__ = ["SignalDataModule", "WeatherDataModule", "WindowDataset", "build_sensor_index", "split_index"]
