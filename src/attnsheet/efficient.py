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

from ._checks import (overflow_limit, product_bound, require_finite, require_positive_int,
                      require_same_size, require_torch_inputs)
from .attention import _OVERFLOW_HINT, _attend_torch, _check_attention_inputs

__all__ = ["chunked_attention_torch", "sliding_window_attention_torch"]

_LOG2_E = math.log2(math.e)


def _check_causal(mask, causal) -> None:
    if not isinstance(causal, bool):
        raise ValueError(f"causal must be True or False: got {causal!r}")
    if causal and mask is not None:
        # As in scaled_dot_product_attention: two sources of truth for one mask invite bugs.
        raise ValueError("pass mask or causal=True, not both: fold the causal rule into the mask")


def chunked_attention_torch(q, k, v, mask=None, *, chunk_size: int = 512,
                            query_chunk_size: int = 2048, causal: bool = False):
    """Exact attention over tiles of `query_chunk_size` queries x `chunk_size` keys with an
    online softmax; cost page (C4).

    Same result as `attention_torch(q, k, v, mask)` (to float rounding) without ever holding
    the (n_q, n_k) table: the largest temporary is one (query_chunk_size, chunk_size) tile of
    scores, small enough to stay in the processor's cache, and it is reused from tile to tile.
    q (..., n_q, d), k (..., n_k, d), v (..., n_k, d_v); mask: optional bool (n_q, n_k) or
    (..., n_q, n_k), True = may attend; causal=True lets query i see keys 0..i (top-left
    aligned, like scaled_dot_product_attention's is_causal) and skips the tiles it hides.
    Returns (..., n_q, d_v). Gradients flow when an input requires them (then each tile is a
    new tensor, as autograd needs, and the call is slower).
    """
    require_torch_inputs({"q": q, "k": k, "v": v}, mask, anchor="q")
    require_positive_int("chunk_size", chunk_size)
    require_positive_int("query_chunk_size", query_chunk_size)
    _check_causal(mask, causal)
    _check_attention_inputs(q, k, v, mask)

    batch, (n_q, d), (n_k, d_v) = q.shape[:-2], q.shape[-2:], v.shape[-2:]
    score_bound, limit = product_bound(q, k) / math.sqrt(d), overflow_limit(q)
    if not score_bound < limit:
        # Rare: inputs so large that a score may overflow. Computed as plain attention, table
        # and all, so the answer (or the refusal) is the same as attention_torch's.
        if causal:
            mask = torch.ones(n_q, n_k, dtype=torch.bool, device=q.device).tril()
        return _attend_torch(q, k, v, mask)[0]
    q = (q * (1.0 / math.sqrt(d))).reshape(-1, n_q, d)  # (B, n_q, d), scaled once
    k, v = k.reshape(-1, n_k, d), v.reshape(-1, n_k, d_v)  # (B, n_k, d), (B, n_k, d_v)
    if mask is not None:
        mask = mask.reshape(-1, n_q, n_k)  # (1 or B, n_q, n_k)
    # Scores in base 2 where they fit: softmax uses e^x = 2^(x log2 e), and torch's exp2 is
    # about three times faster than its exp. q scaled by log2 e folds the factor in.
    base2 = score_bound * _LOG2_E < limit  # else base e: the scores fit, barely
    if base2:
        q = q * _LOG2_E
    # A column of ones after v: one product per tile gives both the weighted sum of values
    # and the softmax denominator (the sum of the weights).
    v_ones = torch.cat([v, v.new_ones(*v.shape[:-1], 1)], dim=-1)  # (B, n_k, d_v + 1)
    tiles = _Tiles(n_q, n_k, query_chunk_size, chunk_size, mask, causal, base2)
    differentiable = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    blend = (_online_softmax_traced if differentiable else _online_softmax_in_place)(
        q, k, v_ones, tiles)  # (B, n_q, d_v + 1)
    out = blend[..., :d_v] / blend[..., d_v:]  # every row saw a key, so its sum is >= 1
    require_finite("output (weights @ v)", out, _OVERFLOW_HINT)
    return out.reshape(*batch, n_q, d_v)


class _Tiles:
    """Which (query block, key block) tiles to compute, and the mask of each."""

    def __init__(self, n_q, n_k, query_size, key_size, mask, causal, base2):
        self.n_q, self.n_k, self.query_size, self.key_size = n_q, n_k, query_size, key_size
        self.mask, self.causal = mask, causal
        self.base2 = base2  # the scores carry the factor log2 e: exponentiate with exp2

    def exp(self, x, in_place=False):
        if in_place:
            return x.exp2_() if self.base2 else x.exp_()
        return torch.exp2(x) if self.base2 else torch.exp(x)

    def query_blocks(self):
        return [(start, min(start + self.query_size, self.n_q))
                for start in range(0, self.n_q, self.query_size)]

    def key_blocks(self, q_start, q_stop):
        """Key blocks for these queries; a causal mask hides the blocks wholly in the future."""
        last = min(self.n_k, q_stop) if self.causal else self.n_k  # query i sees keys <= i
        return [(start, min(start + self.key_size, last)) for start in range(0, last, self.key_size)]

    def hidden(self, q_start, q_stop, k_start, k_stop):
        """(1 or B, q, k) bool, True = masked out, for this tile; None when all are visible."""
        if self.mask is not None:
            return ~self.mask[:, q_start:q_stop, k_start:k_stop]
        if self.causal and k_stop - 1 > q_start:  # some key lies after some query
            query_pos = torch.arange(q_start, q_stop)[:, None]  # (q, 1)
            return (torch.arange(k_start, k_stop) > query_pos)[None]  # (1, q, k)
        return None


def _online_softmax_in_place(q, k, v_ones, tiles):
    """The tiled online softmax, writing every tile into one reused buffer (no autograd)."""
    B, n_q, d_plus = q.shape[0], q.shape[1], v_ones.shape[-1]
    blend = q.new_empty(B, n_q, d_plus)  # (B, n_q, d_v + 1): sum of w*v, then sum of w
    rows_most = min(tiles.query_size, n_q)
    scores_buffer = q.new_empty(B, rows_most, min(tiles.key_size, tiles.n_k))  # one tile
    for q_start, q_stop in tiles.query_blocks():
        rows = q_stop - q_start
        queries, acc = q[:, q_start:q_stop], blend[:, q_start:q_stop]
        acc.zero_()
        running_max = q.new_full((B, rows, 1), float("-inf"))  # (B, rows, 1)
        for k_start, k_stop in tiles.key_blocks(q_start, q_stop):
            scores = scores_buffer[:, :rows, : k_stop - k_start]  # (B, rows, c)
            torch.bmm(queries, k[:, k_start:k_stop].mT, out=scores)
            hidden = tiles.hidden(q_start, q_stop, k_start, k_stop)
            if hidden is not None:
                scores.masked_fill_(hidden, float("-inf"))
            new_max = torch.maximum(running_max, scores.amax(dim=-1, keepdim=True))
            # A row whose keys so far are all masked has max -inf; shifting it by 0 instead
            # keeps exp(-inf - (-inf)) = NaN out: its weights are exp(-inf) = 0 either way.
            shift = torch.where(torch.isinf(new_max), 0.0, new_max)
            acc.mul_(tiles.exp(running_max - shift))  # old sums were relative to the old max
            weights = tiles.exp(scores.sub_(shift), in_place=True)  # (B, rows, c), same memory
            acc.baddbmm_(weights, v_ones[:, k_start:k_stop])  # acc += weights @ values
            running_max = new_max
    return blend


def _online_softmax_traced(q, k, v_ones, tiles):
    """The same tiles and arithmetic with a new tensor at every step, so autograd can follow."""
    blocks = []
    for q_start, q_stop in tiles.query_blocks():
        queries = q[:, q_start:q_stop]
        running_max = q.new_full((q.shape[0], q_stop - q_start, 1), float("-inf"))
        acc = 0.0
        for k_start, k_stop in tiles.key_blocks(q_start, q_stop):
            scores = queries @ k[:, k_start:k_stop].mT
            hidden = tiles.hidden(q_start, q_stop, k_start, k_stop)
            if hidden is not None:
                scores = scores.masked_fill(hidden, float("-inf"))
            # The max only shifts the exponents and cancels in the ratio: no gradient needed.
            new_max = torch.maximum(running_max, scores.detach().amax(dim=-1, keepdim=True))
            shift = torch.where(torch.isinf(new_max), 0.0, new_max)
            weights = tiles.exp(scores - shift)
            acc = acc * tiles.exp(running_max - shift) + weights @ v_ones[:, k_start:k_stop]
            running_max = new_max
        blocks.append(acc)
    return torch.cat(blocks, dim=1)


def sliding_window_attention_torch(q, k, v, *, window: int, causal: bool = False):
    """Local attention: query i sees only keys j with |i - j| < window; cost page (C4).

    With causal=True it sees keys i - window < j <= i instead. Self-attention layout: q and k
    hold the same n positions. Queries go in blocks of b = ceil(window / 4); a block is scored
    only against the keys its band can reach: b + window - 1 of them (causal) or
    b + 2 window - 2, so each query computes at most 1.25 times the scores it uses and work
    and memory grow like n * window, not n^2. Not exact: any weight full attention puts
    farther than `window` is dropped; with window >= n the result equals full attention.
    q (..., n, d), k (..., n, d), v (..., n, d_v). Returns (..., n, d_v).
    """
    require_torch_inputs({"q": q, "k": k, "v": v}, None, anchor="q")
    require_positive_int("window", window)
    _check_causal(None, causal)
    _check_attention_inputs(q, k, v, None)
    require_same_size("q", q, -2, "k", k, -2, "number of positions n (self-attention)")

    n, d = q.shape[-2:]  # positions, features
    window = min(window, n)  # a wider window sees nothing more
    block = -(-window // 4)  # queries per block
    n_blocks = -(-n // block)
    tail = n_blocks * block - n  # padding that fills the last block
    before, after = window - 1, (0 if causal else window - 1)  # band reach on each side
    span = block + before + after  # keys a block of queries can reach
    pad = torch.nn.functional.pad
    suspect = not product_bound(q, k) / math.sqrt(d) < overflow_limit(q)  # may overflow
    if suspect and window == n:  # full attention: computed as such, the same answer or refusal
        mask = torch.ones(n, n, dtype=torch.bool, device=q.device).tril() if causal else None
        return _attend_torch(q, k, v, mask)[0]
    q = q * (1.0 / math.sqrt(d))  # scaled once: n * d products
    q_blocks = pad(q, (0, 0, 0, tail)).unflatten(-2, (n_blocks, block))  # (..., b, block, d)
    # Block i's keys are padded positions [i*block, i*block + span), i.e. real positions
    # i*block - before .. i*block + block - 1 + after; unfold makes them windows of one view.
    padding = (0, 0, before, after + tail)
    k_windows = pad(k, padding).unfold(-2, span, block)  # (..., b, d, span)
    v_windows = pad(v, padding).unfold(-2, span, block)  # (..., b, d_v, span)
    scores = q_blocks @ k_windows  # (..., b, block, span)

    rows, cols = torch.arange(block, device=q.device), torch.arange(span, device=q.device)
    # Query r of a block minus key c of its window is r - c + before positions, in every block.
    offset = rows[:, None] - cols + before  # (block, span)
    in_band = (offset < window) & ((offset >= 0) if causal else (offset > -window))
    block_starts = torch.arange(n_blocks, device=q.device)[:, None, None] * block  # (b, 1, 1)
    key_pos = block_starts - before + cols  # (b, 1, span)
    allowed = in_band & (key_pos >= 0) & (key_pos < n)  # (b, block, span): padding is no key
    if suspect:  # the scores the band uses, checked like plain attention checks its table
        require_finite("scores (q @ k^T / sqrt(d))", scores.masked_fill(~allowed, 0.0),
                       _OVERFLOW_HINT)
    scores.masked_fill_(~allowed, float("-inf"))  # every row keeps at least its own key
    weights = torch.softmax(scores, dim=-1)  # (..., b, block, span)
    out = weights @ v_windows.mT  # (..., b, block, d_v)
    out = out.flatten(-3, -2)[..., :n, :]  # (..., n, d_v), padding rows dropped
    require_finite("output (weights @ v)", out, _OVERFLOW_HINT)
    return out
