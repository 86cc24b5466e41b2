"""Deprecated: moved to :mod:`signalkit.synthetic.eeg` (``python -m signalkit.synthetic.eeg``)."""

import sys

from signalkit._deprecated import moved

if __name__ == "__main__":
    from signalkit.synthetic.eeg import main

    main()
else:
    sys.modules[__name__] = moved(__name__, "signalkit.synthetic.eeg")
