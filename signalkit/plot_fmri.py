"""Deprecated: moved to :mod:`signalkit.plot.fmri`."""

import sys

from signalkit._deprecated import moved

sys.modules[__name__] = moved(__name__, "signalkit.plot.fmri")
