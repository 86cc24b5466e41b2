"""Deprecated alias of :mod:`signalkit.tasks.augment` (moved there; this path goes in the next release)."""

import sys
import warnings

from signalkit.tasks import augment as _moved

warnings.warn("signalkit.augment moved to signalkit.tasks.augment; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
