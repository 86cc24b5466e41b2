"""Deprecated: moved to :mod:`signalkit.synthetic.fmri` (``python -m signalkit.synthetic.fmri``)."""

import sys

from signalkit._deprecated import moved

if __name__ == "__main__":
    from signalkit.synthetic.fmri import main

    main()
else:
    sys.modules[__name__] = moved(__name__, "signalkit.synthetic.fmri")
