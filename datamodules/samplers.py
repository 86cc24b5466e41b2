"""Deprecated: moved to :mod:`signalkit.datamodules.loading.samplers`."""

import sys

from signalkit._deprecated import moved

sys.modules[__name__] = moved(__name__, "signalkit.datamodules.loading.samplers")
