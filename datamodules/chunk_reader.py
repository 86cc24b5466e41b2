"""Deprecated: moved to :mod:`signalkit.datamodules.loading.chunk_reader`."""

import sys

from signalkit._deprecated import moved

sys.modules[__name__] = moved(__name__, "signalkit.datamodules.loading.chunk_reader")
