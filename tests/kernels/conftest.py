"""Kernel tests run the Triton kernels on CPU through the interpreter.

``TRITON_INTERPRET`` must be set before triton is first imported, hence at conftest import time.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")
