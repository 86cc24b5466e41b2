"""Frame tokenizer: the SimVP-style spatial encoder, ``(B, T, C, H, W) -> tokens (B, D, T, h, w)``.

Every frame goes through a stride-1 stem (``C -> hidden``) and ``downsample`` stride-2 stages
(3 x 3 conv, GroupNorm, SiLU), then a 1 x 1 projection to ``dim``; the time axis becomes grid
axis 0, so a backbone sees the ``(time x height x width)`` grid (``grid_ndim = 3``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.errors import ModelError
from signalkit.tokenizers.registry import register_tokenizer


class PixelNorm(nn.Module):
    """LayerNorm over the channels of ``(N, C, H, W)`` at every pixel (keeps global brightness)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


def conv_block(c_in: int, c_out: int, stride: int = 1, transpose: bool = False, norm: str = "group") -> nn.Sequential:
    """3 x 3 conv (stride 1/2, or a x2 transposed conv) + norm + SiLU.

    ``norm="group"``: GroupNorm (SimVP; normalises each frame over space, so a frame's mean
    brightness is lost); ``norm="layer"``: LayerNorm over channels per pixel (keeps it).
    """
    if norm not in ("group", "layer"):
        raise ModelError(f"model.tokenizer.norm: expected group or layer, got {norm!r}")
    if transpose:
        conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
    else:
        conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
    layer = nn.GroupNorm(min(8, c_out), c_out) if norm == "group" else PixelNorm(c_out)
    return nn.Sequential(conv, layer, nn.SiLU())


@register_tokenizer("frames")
class FrameTokenizer(nn.Module):
    """SimVP encoder as a tokenizer.

    Args:
        dim: token width D.
        in_channels: frame channels C (1 gray, 3 RGB).
        hidden: width of the convolutional stages (default ``dim``).
        downsample: number of stride-2 stages (token grid ``H / 2**downsample``).
        stem: start with a stride-1 conv at full resolution (SimVP; its features are the decoder's
            skip); ``False`` starts with a stride-2 conv (several times cheaper on CPU, no skip).
        norm: ``group`` (SimVP) or ``layer`` (per-pixel channel norm; keeps each frame's mean
            brightness, for videos whose global intensity changes).
    """

    grid_ndim = 3

    def __init__(self, dim: int, in_channels: int = 1, hidden: int | None = None, downsample: int = 2,
                 stem: bool = True, norm: str = "group") -> None:
        super().__init__()
        hidden = int(hidden or dim)
        self.dim, self.in_channels, self.hidden, self.downsample = dim, int(in_channels), hidden, int(downsample)
        self.has_stem, self.norm = bool(stem), norm
        if self.downsample < (0 if stem else 1):
            raise ModelError("FrameTokenizer: stem=False needs downsample >= 1")
        self.stem = conv_block(self.in_channels, hidden, norm=norm) if stem else nn.Identity()
        chans = [hidden if stem else self.in_channels] + [hidden] * self.downsample
        self.down = nn.Sequential(*[conv_block(chans[i], hidden, stride=2, norm=norm) for i in range(self.downsample)])
        self.proj = nn.Conv2d(hidden, dim, 1)

    def frames(self, batch: dict) -> Tensor:
        x = batch["x"]
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ModelError(f"FrameTokenizer: expected frames (B, T, {self.in_channels}, H, W), got {tuple(x.shape)}")
        f = 2 ** self.downsample
        if x.shape[-1] % f or x.shape[-2] % f:
            raise ModelError(f"FrameTokenizer: frame size {tuple(x.shape[-2:])} is not divisible by {f}")
        return x

    def skip(self, batch: dict) -> Tensor:
        """Stem features of every input frame ``(B, T, hidden, H, W)`` (the decoder's skip input)."""
        if not self.has_stem:
            raise ModelError("FrameTokenizer: no stem (stem=False), so no skip features")
        x = self.frames(batch)
        b, t = x.shape[:2]
        return self.stem(x.flatten(0, 1)).unflatten(0, (b, t))

    def forward(self, batch: dict) -> Tensor:
        """``batch["x"] (B, T, C, H, W) -> (B, D, T, H / 2**downsample, W / 2**downsample)``."""
        x = self.frames(batch)
        b, t = x.shape[:2]
        z = self.proj(self.down(self.stem(x.flatten(0, 1))))
        return z.unflatten(0, (b, t)).transpose(1, 2)
