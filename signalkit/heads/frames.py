"""Frame head: the SimVP-style decoder, ``features (B, D, T_in, h, w) -> frames (B, T_out, C, H, W)``.

An optional learned map along time (``T_in -> T_out``; identity when equal), a 1 x 1 projection
to the decoder width, ``downsample`` x2 transposed-conv stages, the tokenizer's stem features of
the input frames added as a skip (the last input frame's when ``T_out != T_in``), and a 1 x 1
output convolution (linear output, no squashing).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from signalkit.errors import ModelError
from signalkit.heads.registry import register_head
from signalkit.tokenizers.frames import conv_block


@register_head("frames")
class FrameHead(nn.Module):
    """SimVP decoder as a head.

    Args:
        dim: token width D; tokenizer: the model's :class:`FrameTokenizer` (sizes and skip).
        t_in, t_out: input and output frames (``None`` or equal: one output per input slot).
        out_channels: predicted frame channels (default the tokenizer's input channels).
        skip: add the tokenizer's stem features of the input frames before the output conv.
        residual: predict the change from the last input frame (output = last frame + decoder);
            the untrained model starts as copy-last-frame, a strong prior for mostly static scenes.
    """

    def __init__(self, dim: int, tokenizer: nn.Module | None = None, t_in: int | None = None,
                 t_out: int | None = None, out_channels: int | None = None, skip: bool = True,
                 residual: bool = False) -> None:
        super().__init__()
        if tokenizer is None or not hasattr(tokenizer, "skip"):
            raise ModelError("FrameHead needs the frames tokenizer (model.tokenizer.name: frames)")
        hidden, n_up = tokenizer.hidden, tokenizer.downsample
        stem = bool(getattr(tokenizer, "has_stem", True))
        c_out = int(out_channels or tokenizer.in_channels)
        self.tokenizer_ref = [tokenizer]  # not a submodule: its weights belong to the tokenizer
        self.t_in, self.t_out = t_in, t_out
        self.time_map = nn.Linear(t_in, t_out) if (t_in and t_out and t_in != t_out) else None
        self.proj = nn.Conv2d(dim, hidden, 1)
        # without a full-resolution stem the last x2 is a pixel shuffle straight to the output
        norm = getattr(tokenizer, "norm", "group")
        self.up = nn.Sequential(*[conv_block(hidden, hidden, transpose=True, norm=norm)
                                  for _ in range(n_up - (0 if stem else 1))])
        self.skip = bool(skip) and stem
        self.residual = bool(residual)
        self.out = (nn.Conv2d(hidden, c_out, 1) if stem
                    else nn.Sequential(nn.Conv2d(hidden, 4 * c_out, 1), nn.PixelShuffle(2)))

    def forward(self, features: Tensor, batch: dict) -> Tensor:
        """``(B, D, T, h, w) -> (B, T', C, H, W)`` with ``T' = t_out`` (or ``T`` without a time map)."""
        if self.time_map is not None:
            if features.shape[2] != self.t_in:
                raise ModelError(f"FrameHead: built for t_in={self.t_in} input frames, got {features.shape[2]}")
            features = self.time_map(features.movedim(2, -1)).movedim(-1, 2)
        b, _, t = features.shape[:3]
        y = self.up(self.proj(features.transpose(1, 2).flatten(0, 1)))
        if self.skip:
            s = self.tokenizer_ref[0].skip(batch)  # (B, T_in, hidden, H, W)
            s = s if s.shape[1] == t else s[:, -1:].expand(-1, t, -1, -1, -1)
            y = y + s.flatten(0, 1)
        out = self.out(y).unflatten(0, (b, t))
        if self.residual:
            x = batch["x"]
            if t == x.shape[1]:  # one output per input slot (recurrent mode): change from that frame
                return out + x
            return out + x[:, -1:]
        return out
