"""Deprecated: moved to :mod:`signalkit.kernels.afno`."""

import sys

from signalkit._deprecated import moved

sys.modules[__name__] = moved(__name__, "signalkit.kernels.afno")
