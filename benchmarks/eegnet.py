"""A self-contained EEGNet-4,2 (Lawhern et al. 2018, as braindecode's ``EEGNet`` builds it), timed by
``benchmarks/gpu_steps.py`` where braindecode is not installed (the GPU image has no braindecode and no
package index).

Same layers and defaults as braindecode's: temporal convolution (F1 = 8 filters of 64 samples), batch
norm, depthwise spatial convolution over all channels (D = 2 per filter, max-norm 1), batch norm, ELU,
average pool 4, dropout 0.25, separable convolution (depthwise 16 samples + pointwise to F2 = 16), batch
norm, ELU, average pool 8, dropout 0.25, and a convolution over the remaining time steps as classifier.
Parameter counts equal braindecode 1.8.1's (3412 for 64 channels x 640 samples, 4 classes; 1556 for
8 x 160; checked against it here, pinned in tests/benchmarks); braindecode applies the max-norm as a
weight parametrisation, this copy renormalises in place each forward. A stand-in for timing where
braindecode is absent, not a replacement: results of the braindecode model are the peer's numbers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _MaxNormConv2d(nn.Conv2d):
    """``Conv2d`` whose filters are renormalised to an L2 norm of at most ``max_norm`` each forward."""

    def __init__(self, *args, max_norm: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_norm = max_norm

    def forward(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            self.weight.data = torch.renorm(self.weight.data, p=2, dim=0, maxnorm=self.max_norm)
        return super().forward(x)


class EEGNet(nn.Module):
    """EEGNet-F1,D: ``(B, C, T)`` EEG -> ``(B, n_outputs)`` logits.

    Args:
        n_chans: channels C.
        n_outputs: classes.
        n_times: samples T of an input window.
        F1, D, F2: temporal filters, spatial filters per temporal filter, separable filters.
        kernel_length: samples of the temporal convolution (64: half a second at 128 Hz).
        drop_prob: dropout after each block.
    """

    def __init__(self, n_chans: int, n_outputs: int, n_times: int, F1: int = 8, D: int = 2, F2: int = 16,
                 kernel_length: int = 64, drop_prob: float = 0.25) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, F1, (1, kernel_length), padding=(0, kernel_length // 2), bias=False),
            nn.BatchNorm2d(F1, momentum=0.01, eps=1e-3),
            _MaxNormConv2d(F1, F1 * D, (n_chans, 1), groups=F1, bias=False, max_norm=1.0),
            nn.BatchNorm2d(F1 * D, momentum=0.01, eps=1e-3),
            nn.ELU(),
            nn.AvgPool2d((1, 4), stride=(1, 4)),
            nn.Dropout(drop_prob),
            nn.Conv2d(F1 * D, F1 * D, (1, 16), padding=(0, 8), groups=F1 * D, bias=False),
            nn.Conv2d(F1 * D, F2, (1, 1), bias=False),
            nn.BatchNorm2d(F2, momentum=0.01, eps=1e-3),
            nn.ELU(),
            nn.AvgPool2d((1, 8), stride=(1, 8)),
            nn.Dropout(drop_prob),
        )
        with torch.no_grad():
            t_out = self.features(torch.zeros(1, 1, n_chans, n_times)).shape[-1]
        self.classifier = nn.Conv2d(F2, n_outputs, (1, t_out), bias=True)

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C, T)`` -> logits ``(B, n_outputs)``."""
        return self.classifier(self.features(x.unsqueeze(1))).flatten(1)


__all__ = ["EEGNet"]
