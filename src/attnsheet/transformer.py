"""A compact pre-norm transformer block in torch, sinusoidal positions and a causal mask.

    h   = x + attention(norm_attention(x))         every position looks at every other
    out = h + ff_out(relu(ff_in(norm_ff(h))))      the same small network on each position

There is no loop over positions anywhere: each line above is one batched tensor operation
over the whole sequence. The block matches `torch.nn.TransformerEncoderLayer(norm_first=True,
dropout=0.0, batch_first=True)` given the same weights (`to_torch_layer`). The transformer
page shows it; the pitfalls page uses the positions and the mask.

For generating text one token at a time, `forward_cached` runs the block on the new
positions only, keeping the keys and values of earlier positions in a `KVCache`: the
result equals `forward` with `causal_mask` on the whole sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import (
    require_device,
    require_finite,
    require_finite_stages,
    require_finite_weights,
    require_float_dtype,
    require_float_tensor,
    require_mask,
    require_min_ndim,
    require_nonempty,
    require_positive_int,
    require_real,
    require_same,
)
from .attention import _attend_torch

__all__ = [
    "KVCache",
    "TransformerBlock",
    "causal_mask",
    "parameter_breakdown",
    "sinusoidal_positions",
]

_CACHE_LAYOUTS = "(n_heads, n_past, d_head) or (batch, n_heads, n_past, d_head)"
# Finite inputs and weights can still overflow inside the block; these say where it happened.
_OVERFLOW_HINT = "the block's input or weights are too large for their dtype (it overflowed)"
_NORM_HINT = "{} is too large for the layer norm (its variance overflowed the dtype)"


def _check_cache_tensors(keys, values, name: str = "cache") -> None:
    """keys and values: float tensors of one shape, dtype and device, (batch,) n_heads,
    n_past, d_head, none of them 0, all finite (a NaN key would make every score NaN)."""
    for field, tensor in (("keys", keys), ("values", values)):
        label = f"{name}.{field}"
        require_float_tensor(label, tensor)
        if tensor.ndim not in (3, 4):
            raise ValueError(
                f"{label} must be {_CACHE_LAYOUTS}: got {label}.shape={tuple(tensor.shape)}"
            )
        require_nonempty(label, tensor, _CACHE_LAYOUTS)
    if keys.shape != values.shape:
        raise ValueError(
            f"{name}.keys and {name}.values must have the same shape: got "
            f"{tuple(keys.shape)} and {tuple(values.shape)}"
        )
    require_same(f"{name}.keys", keys.dtype, f"{name}.values", values.dtype, "dtype")
    require_same(f"{name}.keys", keys.device, f"{name}.values", values.device, "device")
    require_finite(f"{name}.keys", keys)
    require_finite(f"{name}.values", values)


@dataclass(frozen=True)
class KVCache:
    """The keys and values one block computed for the positions it has already seen.

    keys, values: (n_heads, n_past, d_head), or (batch, n_heads, n_past, d_head). Made by
    `TransformerBlock.forward_cached`, which returns a new, longer cache at every call. Built
    by hand, both must be finite float tensors of one shape, dtype and device, none empty.
    """

    keys: torch.Tensor  # (..., n_heads, n_past, d_head)
    values: torch.Tensor  # (..., n_heads, n_past, d_head)

    def __post_init__(self):
        _check_cache_tensors(self.keys, self.values)

    @classmethod
    def _trusted(cls, keys: torch.Tensor, values: torch.Tensor) -> KVCache:
        """A cache of keys and values `forward_cached` has just computed and checked, built
        without a second pass over them: in a long generation that pass would re-read the
        whole, ever longer, cache at every step."""
        cache = object.__new__(cls)
        object.__setattr__(cache, "keys", keys)  # frozen: plain assignment is refused
        object.__setattr__(cache, "values", values)
        return cache

    @property
    def length(self) -> int:
        """n_past: how many positions the cache holds."""
        return int(self.keys.shape[-2])


class TransformerBlock(nn.Module):
    """Pre-norm transformer layer: multi-head self-attention, then a feed-forward network,
    each inside a residual connection and after a layer norm (the transformer page)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, eps: float = 1e-5):
        super().__init__()
        require_positive_int("d_model", d_model)
        require_positive_int("n_heads", n_heads)
        require_positive_int("d_ff", d_ff)
        # nn.LayerNorm takes any eps; 0 divides by 0 on a constant row, < 0 takes sqrt(< 0).
        eps = require_real("eps", eps, positive=True)
        if d_model % n_heads:
            raise ValueError(
                f"d_model={d_model} is not divisible by n_heads={n_heads}: each head gets "
                f"d_model // n_heads features, so the heads must split d_model evenly"
            )
        self.d_model, self.n_heads, self.d_ff = d_model, n_heads, d_ff
        self.norm_attention = nn.LayerNorm(d_model, eps=eps)
        self.w_q = nn.Linear(d_model, d_model)  # queries: what each position looks for
        self.w_k = nn.Linear(d_model, d_model)  # keys: what each position offers
        self.w_v = nn.Linear(d_model, d_model)  # values: what each position hands over
        self.w_o = nn.Linear(d_model, d_model)  # mixes the heads' outputs back together
        self.norm_ff = nn.LayerNorm(d_model, eps=eps)
        self.ff_in = nn.Linear(d_model, d_ff)  # weighted sums...
        self.ff_out = nn.Linear(d_ff, d_model)  # ...squashed by relu, summed again

    def attention(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Multi-head self-attention of already-normalised x (..., n, d_model)."""
        q, k, v = self.project_heads(x)  # each (..., n_heads, n, d_head)
        # The (n, n) mask, if any, broadcasts over the batch and the heads.
        out, _ = _attend_torch(q, k, v, mask)  # (..., n_heads, n, d_head)
        return self.merge_heads(out)  # (..., n, d_model)

    def project_heads(self, x: torch.Tensor):
        """Queries, keys and values of x (..., n, d_model), split into heads: three tensors
        (..., n_heads, n, d_head), head h holding features h*d_head:(h+1)*d_head."""
        *batch, n, d_model = x.shape  # batch dims, tokens, features
        d_head = d_model // self.n_heads  # features per head

        def split_heads(projected):  # (..., n, d_model) -> (..., n_heads, n, d_head)
            return projected.reshape(*batch, n, self.n_heads, d_head).transpose(-3, -2)

        return split_heads(self.w_q(x)), split_heads(self.w_k(x)), split_heads(self.w_v(x))

    def merge_heads(self, out: torch.Tensor) -> torch.Tensor:
        """The heads' outputs (..., n_heads, n, d_head) side by side, then mixed by w_o."""
        *batch, n_heads, n, d_head = out.shape
        concat = out.transpose(-3, -2).reshape(*batch, n, n_heads * d_head)  # (..., n, d_model)
        return self.w_o(concat)  # (..., n, d_model)

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same two-layer network applied to every position on its own."""
        return self.ff_out(torch.relu(self.ff_in(x)))  # (..., n, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (n, d_model) or (batch, n, d_model) -> the same shape, all positions in one call.

        mask: optional bool (n, n), True = may attend (e.g. `causal_mask(n)`); every row
        needs a True.
        """
        self._check_inputs(x, mask)
        # One O(parameters) pass: a NaN weight would make every output NaN.
        require_finite_weights("TransformerBlock", self)
        return self._run(x, mask)

    def _run(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """`forward` on inputs and weights already checked (`TinyLM` checks all of its
        weights once, not once per block)."""
        normed = self.norm_attention(x)  # (..., n, d_model)
        # Checked here, or attention would report the layer norm's NaN as its own overflow.
        require_finite("norm_attention(x)", normed, _NORM_HINT.format("x"))
        h = x + self.attention(normed, mask)  # (..., n, d_model)
        return self._feed_forward_residual(h)  # (..., n, d_model)

    def _feed_forward_residual(self, h: torch.Tensor) -> torch.Tensor:
        """h + feed_forward(norm_ff(h)); if the result is not finite, names the first
        stage that was not. One pass over the output when all is well."""
        normed = self.norm_ff(h)  # (..., n, d_model)
        out = h + self.feed_forward(normed)  # (..., n, d_model)
        require_finite_stages([
            ("h = x + attention (the attention sub-layer's output)", h, _OVERFLOW_HINT),
            ("norm_ff(h)", normed, _NORM_HINT.format("h = x + attention")),
            ("the block's output (h + feed_forward)", out, _OVERFLOW_HINT),
        ])
        return out

    def forward_cached(self, x_new: torch.Tensor, cache: KVCache | None = None):
        """Run the block on new positions only, attending to them and to the cached past.

        x_new (n_new, d_model) or (batch, n_new, d_model): the positions that follow the
        ones in `cache` (None: nothing before them). Computes queries, keys and values for
        the new positions alone; new position i sees every cached position and the new
        positions up to i (the causal rule). Returns (out, cache): out has x_new's shape and
        equals the matching rows of `forward(x, causal_mask(n))` on the whole sequence;
        the returned cache holds the past and the new keys and values.
        """
        self._check_inputs(x_new, None, name="x_new")
        self._check_cache(cache, x_new)
        require_finite_weights("TransformerBlock", self)
        return self._run_cached(x_new, cache)

    def _run_cached(self, x_new: torch.Tensor, cache: KVCache | None):
        """`forward_cached` on inputs, cache and weights already checked."""
        n_new = x_new.shape[-2]
        normed = self.norm_attention(x_new)  # (..., n_new, d_model)
        require_finite("norm_attention(x_new)", normed, _NORM_HINT.format("x_new"))
        q, k_new, v_new = self.project_heads(normed)  # each (..., n_heads, n_new, d_head)
        if cache is None:
            keys, values = k_new, v_new
        else:  # past then new, along the positions axis
            keys = torch.cat([cache.keys, k_new], dim=-2)  # (..., n_heads, n_all, d_head)
            values = torch.cat([cache.values, v_new], dim=-2)  # (..., n_heads, n_all, d_head)
        n_all = keys.shape[-2]  # n_past + n_new
        n_past = n_all - n_new
        if n_new == 1:  # the newest position may see every key: nothing to mask
            mask = None
        else:  # row i (position n_past + i) sees keys 0..n_past + i: causal_mask(n_all)[n_past:]
            mask = torch.ones(n_new, n_all, dtype=torch.bool, device=x_new.device).tril(n_past)
        # _attend_torch refuses non-finite new keys (via the scores) and values (via its
        # output), so the cache handed back is finite without a pass over it.
        out, _ = _attend_torch(q, keys, values, mask)  # (..., n_heads, n_new, d_head)
        h = x_new + self.merge_heads(out)  # (..., n_new, d_model)
        return self._feed_forward_residual(h), KVCache._trusted(keys, values)

    def _check_inputs(self, x, mask, name: str = "x") -> None:
        layout = f"({'n' if name == 'x' else 'n_new'}, d_model)"
        layouts = f"{layout} or (batch, {layout[1:]}"
        require_float_tensor(name, x)
        require_min_ndim(name, x, 2, layouts)
        if x.ndim > 3:
            raise ValueError(f"{name} must be {layouts}: got {name}.shape={tuple(x.shape)}")
        require_nonempty(name, x, layouts)
        if x.shape[-1] != self.d_model:
            raise ValueError(
                f"{name}'s last dim must be d_model={self.d_model}: "
                f"got {name}.shape={tuple(x.shape)}"
            )
        weight = self.w_q.weight
        require_same(name, x.dtype, "the block's weights", weight.dtype, "dtype")
        require_same(name, x.device, "the block's weights", weight.device, "device")
        require_finite(name, x)
        if mask is not None:
            if not isinstance(mask, torch.Tensor):
                raise ValueError(f"mask must be a torch.Tensor: got {type(mask).__name__}")
            require_same("mask", mask.device, "x", x.device, "device")
            n = x.shape[-2]
            require_mask("mask", mask, n, n, batch_shape=())

    def _check_cache(self, cache, x_new, name: str = "cache", x_name: str = "x_new") -> None:
        """`cache` (None or a KVCache) fits this block and x_new. Its tensors are checked
        again, finiteness included, as they may have been changed in place since it was made.
        """
        if cache is None:
            return
        if not isinstance(cache, KVCache):
            raise ValueError(f"{name} must be a KVCache or None: got {type(cache).__name__}")
        d_head = self.d_model // self.n_heads
        batch = tuple(x_new.shape[:-2])  # () for one sequence, (batch,) for a batch
        for field in ("keys", "values"):
            tensor = getattr(cache, field)
            label = f"{name}.{field}"
            # A KVCache holds float tensors (its constructor checks them): dtype and device
            # may still differ from x_new's.
            require_same(label, tensor.dtype, x_name, x_new.dtype, "dtype")
            require_same(label, tensor.device, x_name, x_new.device, "device")
            shape = tuple(tensor.shape)
            fits = (len(shape) == len(batch) + 3 and shape[:len(batch)] == batch
                    and shape[-3] == self.n_heads and shape[-1] == d_head)
            if not fits:
                raise ValueError(
                    f"{label} must have shape {batch + (self.n_heads, 'n_past', d_head)}"
                    f" for {x_name}.shape={tuple(x_new.shape)} (batch dims, n_heads, n_past,"
                    f" d_head): got {label}.shape={shape}; was the cache made by another block"
                    f" or for another batch?"
                )
        _check_cache_tensors(cache.keys, cache.values, name)

    def to_torch_layer(self) -> nn.TransformerEncoderLayer:
        """torch's own pre-norm encoder layer holding this block's weights (a copy)."""
        layer = nn.TransformerEncoderLayer(
            self.d_model, self.n_heads, self.d_ff, dropout=0.0, activation="relu",
            layer_norm_eps=self.norm_attention.eps, batch_first=True, norm_first=True,
        ).to(dtype=self.w_q.weight.dtype, device=self.w_q.weight.device)
        projections = (self.w_q, self.w_k, self.w_v)
        # torch keeps q, k and v as one stacked (3 d_model, d_model) matrix, in that order.
        with torch.no_grad():
            layer.self_attn.in_proj_weight.copy_(torch.cat([p.weight for p in projections]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([p.bias for p in projections]))
            for theirs, ours in ((layer.self_attn.out_proj, self.w_o),
                                 (layer.linear1, self.ff_in), (layer.linear2, self.ff_out),
                                 (layer.norm1, self.norm_attention), (layer.norm2, self.norm_ff)):
                theirs.weight.copy_(ours.weight)
                theirs.bias.copy_(ours.bias)
        return layer.eval()


PARTS = {  # part of the block -> its submodules
    "attention projections": ("w_q", "w_k", "w_v", "w_o"),
    "feed-forward": ("ff_in", "ff_out"),
    "layer norms": ("norm_attention", "norm_ff"),
}


def parameter_breakdown(block: TransformerBlock) -> dict[str, int]:
    """Parameter count of each part of the block (attention projections, feed-forward,
    layer norms), read from the modules themselves. The parts add up to the whole block."""
    if not isinstance(block, TransformerBlock):
        raise ValueError(f"block must be a TransformerBlock: got {type(block).__name__}")
    counts = {
        part: sum(p.numel() for name in names for p in getattr(block, name).parameters())
        for part, names in PARTS.items()
    }
    total = sum(p.numel() for p in block.parameters())
    if sum(counts.values()) != total:  # a new submodule that no part claims
        raise ValueError(f"the parts count {sum(counts.values())} of {total} parameters")
    return counts


def sinusoidal_positions(n: int, d_model: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Sinusoidal position encodings (n, d_model), added to token vectors to give attention
    a sense of order (the pitfalls page). Column 2i is sin(pos / 10000^(2i/d_model)),
    column 2i+1 the matching cos; d_model must be even."""
    require_positive_int("n", n)
    require_positive_int("d_model", d_model)
    # An integer dtype would round every sin and cos to -1, 0 or 1.
    require_float_dtype("dtype", dtype)
    if d_model % 2:
        raise ValueError(f"d_model must be even (sin and cos columns come in pairs): got {d_model}")
    position = torch.arange(n, dtype=torch.float64)[:, None]  # (n, 1)
    frequency = torch.exp(
        -math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model
    )  # (d_model / 2,)
    encoding = torch.zeros(n, d_model, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(position * frequency)  # (n, d_model / 2)
    encoding[:, 1::2] = torch.cos(position * frequency)  # (n, d_model / 2)
    return encoding.to(dtype)  # (n, d_model)


def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Bool (n, n) mask, True = may attend: position i sees positions 0..i only."""
    require_positive_int("n", n)
    device = require_device("device", device)
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()  # (n, n)
