"""Classical (non-deep) baselines reported beside the models."""

from signalkit.baselines.fc import fc_baseline, fc_features

__all__ = ["fc_baseline", "fc_features"]
