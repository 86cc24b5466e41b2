"""Deprecated: moved to :mod:`signalkit.datamodules.eeg` (``SignalDataModule``)."""

import sys

from signalkit._deprecated import moved

sys.modules[__name__] = moved(__name__, "signalkit.datamodules.eeg")
