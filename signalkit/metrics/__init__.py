"""Metrics shared by tasks and benchmarks (WeatherBench 2 weather scores in :mod:`.weather`)."""

from signalkit.metrics.weather import acc, area_weights, bias, lat_weights, rmse

__all__ = ["acc", "area_weights", "bias", "lat_weights", "rmse"]
