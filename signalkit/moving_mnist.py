"""Deprecated: the generator moved to :mod:`signalkit.synthetic.moving_mnist`, the dataset to
:mod:`signalkit.datamodules.moving_mnist`."""

import warnings

from signalkit.datamodules.moving_mnist import (  # noqa: F401
    DIGITS_SPLIT,
    MovingMNIST,
    load_digits,
    load_mnist_test_seq,
    split_digits,
)
from signalkit.synthetic.moving_mnist import STAGE_IDS, generate_sequence, random_trajectory  # noqa: F401

warnings.warn("signalkit.moving_mnist moved to signalkit.synthetic.moving_mnist (generator) and "
              "signalkit.datamodules.moving_mnist (dataset)", DeprecationWarning, stacklevel=2)
