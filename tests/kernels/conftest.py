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


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
