"""Deprecated path of :mod:`signalkit.tasks.augment` (moved there; this path goes in the next release)."""

import sys

from signalkit._deprecated import moved

sys.modules[__name__] = moved(__name__, "signalkit.tasks.augment")
