"""Kernel tests run the Triton kernels on CPU through the interpreter.

``TRITON_INTERPRET`` must be set before triton is first imported, hence at conftest import time.
The tiny shapes here run fastest on one intra-op thread (and oversubscribed shared cores make
multi-threaded float64 conv1d/gradcheck orders of magnitude slower), so each kernel test runs
with ``torch.set_num_threads(1)`` and the previous setting is restored afterwards.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from tests.support import one_torch_thread  # noqa: E402


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)
