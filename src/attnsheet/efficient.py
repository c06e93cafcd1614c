"""Cheaper attention for long sequences, in torch: the two ideas the cost page measures.

* `chunked_attention_torch`: exact attention computed one block of keys at a time with an
  online softmax (the idea behind memory-efficient and flash attention). The n x n table never
  exists: memory grows linearly with n, the arithmetic is still n^2, and the output equals
  plain attention up to float rounding.
* `sliding_window_attention_torch`: each query sees only the keys within `window` positions
  of it (local attention). Work and memory grow linearly with n, and the result is no longer
  exact: whatever full attention would have taken from farther away is lost.

Torch only, like the measurements they appear in (beside torch's scaled_dot_product_attention).
Same conventions as `attnsheet.attention`: layout (..., n, d), boolean masks with True = may
attend, and a ValueError naming the problem for bad input.
"""

from __future__ import annotations

import math

import torch

from ._checks import require_finite, require_positive_int, require_same_size, require_torch_inputs
from .attention import _OVERFLOW_HINT, _check_attention_inputs

__all__ = ["chunked_attention_torch", "sliding_window_attention_torch"]


def _check_causal(mask, causal) -> None:
    if not isinstance(causal, bool):
        raise ValueError(f"causal must be True or False: got {causal!r}")
    if causal and mask is not None:
        # As in scaled_dot_product_attention: two sources of truth for one mask invite bugs.
        raise ValueError("pass mask or causal=True, not both: fold the causal rule into the mask")


def chunked_attention_torch(q, k, v, mask=None, *, chunk_size: int = 512, causal: bool = False):
    """Exact attention over blocks of `chunk_size` keys with an online softmax; cost page (C4).

    Same result as `attention_torch(q, k, v, mask)` (to float rounding) without ever holding
    the (n_q, n_k) table: each step scores all queries against one block of keys, so the
    largest temporary is (..., n_q, chunk_size). q (..., n_q, d), k (..., n_k, d),
    v (..., n_k, d_v); mask: optional bool (n_q, n_k) or (..., n_q, n_k), True = may attend;
    causal=True lets query i see keys 0..i (top-left aligned, like scaled_dot_product_attention's
    is_causal) and builds that mask one block at a time. Returns (..., n_q, d_v).
    """
    require_torch_inputs({"q": q, "k": k, "v": v}, mask, anchor="q")
    require_positive_int("chunk_size", chunk_size)
    _check_causal(mask, causal)
    _check_attention_inputs(q, k, v, mask)

    n_q, d = q.shape[-2:]  # queries, features
    n_k = k.shape[-2]  # keys
    q = q / math.sqrt(d)  # scaled once here rather than every block of scores
    # Per query row: the largest score seen so far, the softmax denominator so far (relative
    # to that max), and the weighted sum of values so far (relative to the same max).
    running_max = q.new_full((*q.shape[:-1], 1), float("-inf"))  # (..., n_q, 1)
    running_sum = q.new_zeros((*q.shape[:-1], 1))  # (..., n_q, 1)
    blend = q.new_zeros((*q.shape[:-1], v.shape[-1]))  # (..., n_q, d_v)
    query_pos = torch.arange(n_q, device=q.device)[:, None]  # (n_q, 1)
    for start in range(0, n_k, chunk_size):
        stop = min(start + chunk_size, n_k)
        scores = q @ k[..., start:stop, :].mT  # (..., n_q, c): one block of the table
        if mask is not None:
            scores.masked_fill_(~mask[..., start:stop], float("-inf"))
        elif causal:
            key_pos = torch.arange(start, stop, device=q.device)  # (c,)
            scores.masked_fill_(key_pos > query_pos, float("-inf"))
        # The max only shifts the exponents and cancels in the ratio, so no gradient flows
        # through it: detached, it also leaves `scores` free to be overwritten in place below.
        new_max = torch.maximum(running_max, scores.detach().amax(dim=-1, keepdim=True))
        # A row whose keys so far are all masked has max -inf; shifting it by 0 instead keeps
        # exp(-inf - (-inf)) = NaN out: its weights are exp(-inf) = 0 either way.
        shift = torch.where(torch.isinf(new_max), torch.zeros_like(new_max), new_max)
        rescale = torch.exp(running_max - shift)  # old sums were relative to the old max
        weights = scores.sub_(shift).exp_()  # (..., n_q, c), unnormalised, in the same memory
        running_sum = running_sum * rescale + weights.sum(dim=-1, keepdim=True)
        blend = blend * rescale + weights @ v[..., start:stop, :]  # (..., n_q, d_v)
        running_max = new_max
    out = blend / running_sum  # (..., n_q, d_v); every row saw a key, so running_sum > 0
    require_finite("output", out, _OVERFLOW_HINT)
    return out


def sliding_window_attention_torch(q, k, v, *, window: int, causal: bool = False):
    """Local attention: query i sees only keys j with |i - j| < window; cost page (C4).

    With causal=True it sees keys i - window < j <= i instead. Self-attention layout: q and k
    hold the same n positions. Queries go in blocks of `window`; each block is scored against
    the keys of its own and its two neighbouring blocks only, so work and memory grow like
    n * window, not n^2. Not exact: any weight full attention puts farther than `window` is
    dropped. With window >= n nothing is dropped and the result equals full attention.
    q (..., n, d), k (..., n, d), v (..., n, d_v). Returns (..., n, d_v).
    """
    require_torch_inputs({"q": q, "k": k, "v": v}, None, anchor="q")
    require_positive_int("window", window)
    _check_causal(None, causal)
    _check_attention_inputs(q, k, v, None)
    require_same_size("q", q, -2, "k", k, -2, "number of positions n (self-attention)")

    n, d = q.shape[-2:]  # positions, features
    block = min(window, n)  # queries per block
    n_blocks = -(-n // block)
    tail = n_blocks * block - n  # padding that fills the last block
    pad = torch.nn.functional.pad
    q = q / math.sqrt(d)
    q_blocks = pad(q, (0, 0, 0, tail)).unflatten(-2, (n_blocks, block))  # (..., b, w, d)
    # Keys padded by one block on each side; block i sees padded keys [i*w, i*w + 3w), i.e.
    # real positions i*w - w .. i*w + 2w - 1. unfold makes those windows as a view.
    padding = (0, 0, block, block + tail)  # one block before, one block and the tail after
    k_windows = pad(k, padding).unfold(-2, 3 * block, block)  # (..., b, d, 3w)
    v_windows = pad(v, padding).unfold(-2, 3 * block, block)  # (..., b, d_v, 3w)
    scores = q_blocks @ k_windows  # (..., b, w, 3w)

    steps = torch.arange(3 * block, device=q.device)  # (3w,)
    # Query r of a block minus key c of its window is r - c + w positions, in every block.
    offset = steps[:block, None] - steps + block  # (w, 3w)
    in_band = (offset < window) & ((offset >= 0) if causal else (offset > -window))  # (w, 3w)
    block_starts = torch.arange(n_blocks, device=q.device)[:, None, None] * block  # (b, 1, 1)
    key_pos = block_starts - block + steps  # (b, 1, 3w)
    allowed = in_band & (key_pos >= 0) & (key_pos < n)  # (b, w, 3w): padding is never a key
    scores.masked_fill_(~allowed, float("-inf"))  # every row keeps at least its own key
    weights = torch.softmax(scores, dim=-1)  # (..., b, w, 3w)
    out = weights @ v_windows.mT  # (..., b, w, d_v)
    out = out.flatten(-3, -2)[..., :n, :]  # (..., n, d_v), padding rows dropped
    require_finite("output", out, _OVERFLOW_HINT)
    return out
