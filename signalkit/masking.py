"""Deprecated alias of :mod:`signalkit.tasks.masking` (moved there; this path goes in the next release)."""

import sys
import warnings

from signalkit.tasks import masking as _moved

warnings.warn("signalkit.masking moved to signalkit.tasks.masking; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
