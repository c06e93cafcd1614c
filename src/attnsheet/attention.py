"""Scaled dot-product attention and multi-head attention, written out in numpy and in torch.

    attention(q, k, v) = softmax(q @ k^T / sqrt(d)) @ v

Masks are boolean with True = "this query may attend to this key", the convention of
`torch.nn.functional.scaled_dot_product_attention` (and the opposite of
`torch.nn.MultiheadAttention`'s boolean `attn_mask`, where True means "blocked").

Every public function validates its inputs and raises `ValueError` naming the problem
rather than returning NaN.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._checks import (
    as_float_array,
    require_finite,
    require_mask,
    require_min_ndim,
    require_ndim,
    products_stay_finite,
    require_nonempty,
    require_positive_int,
    require_same_batch,
    require_same_size,
    require_shape,
    require_torch_inputs,
)

__all__ = [
    "attention_np",
    "attention_torch",
    "multi_head_attention_np",
    "multi_head_attention_torch",
    "softmax_np",
]

_OVERFLOW_HINT = "the inputs are too large for their dtype (the products overflowed)"


# --- softmax ----------------------------------------------------------------------------


def _softmax_np(scores: np.ndarray, axis: int) -> np.ndarray:
    # Subtracting the max changes nothing mathematically (it cancels in the ratio) but makes
    # every exponent <= 0, so exp cannot overflow, and the max itself contributes exp(0) = 1,
    # so the denominator is >= 1 and never 0. -inf entries become exactly 0.
    # A difference like -1e308 - 1e308 overflows to -inf, whose exp is the correct 0: not
    # worth a warning.
    with np.errstate(over="ignore"):
        shifted = scores - scores.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=axis, keepdims=True)


def softmax_np(scores, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of `scores` along `axis`.

    Finite input always gives finite output, even for scores like ±1e4 where a naive
    exp() overflows. An entry of -inf gets weight exactly 0 (that is how masks are applied);
    NaN, +inf, or a slice that is entirely -inf raises ValueError.
    """
    scores = as_float_array("scores", scores)
    # Before the axis check: a 0-d or empty table is named as such, not as an axis out of
    # range or a row of -inf.
    require_min_ndim("scores", scores, 1, "(..., n)")
    require_nonempty("scores", scores, "(..., n)")
    if not -scores.ndim <= axis < scores.ndim:
        raise ValueError(f"axis={axis} is out of range for scores.shape={scores.shape}")
    # -inf is allowed (it means "weight 0"), so require_finite would be too strict here.
    bad = np.isnan(scores) | (scores == np.inf)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"scores contains NaN or +inf ({int(bad.sum())} entries): "
            f"first is scores[{', '.join(map(str, first))}] = {scores[first]}"
        )
    all_minus_inf = ~np.isfinite(scores).any(axis=axis)
    if all_minus_inf.any():
        first = tuple(int(i) for i in np.argwhere(all_minus_inf)[0])
        raise ValueError(
            f"scores has a slice along axis {axis} that is entirely -inf (first at index {first} "
            "of the other axes): a softmax over no allowed entries is 0/0 = NaN"
        )
    return _softmax_np(scores, axis)


# --- single-head attention --------------------------------------------------------------


def _check_attention_inputs(q, k, v, mask) -> None:
    """Shape, emptiness, finiteness and mask checks shared by the numpy and torch versions."""
    layouts = {"q": "(..., n_q, d)", "k": "(..., n_k, d)", "v": "(..., n_k, d_v)"}
    named = {"q": q, "k": k, "v": v}
    for name, array in named.items():
        require_min_ndim(name, array, 2, layouts[name])
    for name, array in named.items():
        require_nonempty(name, array, layouts[name])
    require_same_size("q", q, -1, "k", k, -1, "feature size d")
    require_same_size("k", k, -2, "v", v, -2, "number of keys n_k")
    batch_shape = require_same_batch(named, core_ndim=2)
    for name, array in named.items():
        require_finite(name, array)
    if mask is not None:
        n_q, n_k = q.shape[-2], k.shape[-2]
        require_mask("mask", mask, n_q, n_k, batch_shape)


def _attend_np(q, k, v, mask):
    """Attention on already-validated numpy inputs; returns (out, weights).

    The checks here cost O(inputs): q is scaled (not the table), the scores are checked one
    by one only when the inputs are large enough that a product could overflow, and the
    output, a convex blend of v's finite rows, is checked last."""
    d = q.shape[-1]  # features
    # A Python float, not np.sqrt: a numpy float64 scalar would promote float32 inputs.
    q = q * (1.0 / math.sqrt(d))  # (..., n_q, d), scaled once: n_q * d products, not n_q * n_k
    # Overflow is reported just below as a ValueError, so numpy's warning would only repeat it.
    with np.errstate(over="ignore", invalid="ignore"):
        scores = q @ np.swapaxes(k, -1, -2)  # (..., n_q, n_k)
    if not products_stay_finite(q, k):
        require_finite("scores (q @ k^T / sqrt(d))", scores, _OVERFLOW_HINT)
    if mask is not None:
        # -inf rather than a sentinel like -1e9: exp(-inf) is exactly 0, so masked keys get
        # weight exactly 0, whereas a sentinel can beat a real score that is even lower.
        np.copyto(scores, -np.inf, where=~mask)  # a 2-D mask spans the batch
    weights = _softmax_np(scores, axis=-1)  # (..., n_q, n_k), rows sum to 1
    with np.errstate(over="ignore", invalid="ignore"):
        out = weights @ v  # (..., n_q, d_v)
    require_finite("output (weights @ v)", out, _OVERFLOW_HINT)
    return out, weights


def attention_np(q, k, v, mask=None, return_weights: bool = False):
    """Scaled dot-product attention, numpy.

    q (..., n_q, d), k (..., n_k, d), v (..., n_k, d_v); the leading batch dims must be
    equal (no broadcasting). mask: optional bool (n_q, n_k) or (..., n_q, n_k), True = may
    attend; every row needs a True. Returns out (..., n_q, d_v), or (out, weights) with
    weights (..., n_q, n_k) if return_weights.
    """
    q, k, v = as_float_array("q", q), as_float_array("k", k), as_float_array("v", v)
    if mask is not None:
        mask = np.asarray(mask)
    _check_attention_inputs(q, k, v, mask)
    out, weights = _attend_np(q, k, v, mask)
    return (out, weights) if return_weights else out


def _attend_torch(q, k, v, mask):
    """Attention on already-validated torch inputs; returns (out, weights). Checks cost
    O(inputs), as in `_attend_np`."""
    d = q.shape[-1]  # features
    q = q * (1.0 / math.sqrt(d))  # (..., n_q, d), scaled once, not the (n_q, n_k) table
    scores = q @ k.transpose(-2, -1)  # (..., n_q, n_k)
    if not products_stay_finite(q, k):
        require_finite("scores (q @ k^T / sqrt(d))", scores, _OVERFLOW_HINT)
    if mask is not None:
        # Same -inf reasoning as the numpy version: masked weights come out exactly 0. In
        # place: the product's backward needs q and k, not the scores.
        scores.masked_fill_(~mask, float("-inf"))  # (..., n_q, n_k)
    # torch.softmax subtracts the row max internally, like _softmax_np.
    weights = torch.softmax(scores, dim=-1)  # (..., n_q, n_k), rows sum to 1
    out = weights @ v  # (..., n_q, d_v)
    require_finite("output (weights @ v)", out, _OVERFLOW_HINT)
    return out, weights


def attention_torch(q, k, v, mask=None, return_weights: bool = False):
    """Scaled dot-product attention, torch; same shapes and mask convention as attention_np.

    Written out (matmul, masked_fill, softmax) rather than calling
    F.scaled_dot_product_attention, which it matches. All tensors must share dtype and
    device; gradients flow through as usual.
    """
    require_torch_inputs({"q": q, "k": k, "v": v}, mask, anchor="q")
    _check_attention_inputs(q, k, v, mask)
    out, weights = _attend_torch(q, k, v, mask)
    return (out, weights) if return_weights else out


# --- multi-head attention ---------------------------------------------------------------


def _check_multi_head_inputs(x, projections: dict, n_heads, mask) -> None:
    require_ndim("x", x, 2, "(n, d_model)")
    require_nonempty("x", x, "(n, d_model)")
    n, d_model = x.shape  # tokens, model width
    require_positive_int("n_heads", n_heads)
    if d_model % n_heads:
        raise ValueError(
            f"d_model={d_model} is not divisible by n_heads={n_heads}: each head gets "
            f"d_model // n_heads features, so the heads must split d_model evenly (d_model = "
            f"x.shape[1])"
        )
    for name, w in projections.items():
        require_shape(name, w, (d_model, d_model), "(d_model, d_model)", "d_model = x.shape[1]")
    require_finite("x", x)
    for name, w in projections.items():
        require_finite(name, w)
    if mask is not None:
        # One (n, n) mask for all heads: per-head masks are not part of this API.
        require_mask("mask", mask, n, n, batch_shape=())


def _projected(x, w, name: str):
    """x @ w (n, d_model), checked in O(n d_model): an overflow here is named by its
    projection, not reported later as attention's "scores" or "output"."""
    projected = x @ w
    require_finite(f"x @ {name}", projected, _OVERFLOW_HINT)
    return projected


def multi_head_attention_np(x, w_q, w_k, w_v, w_o, n_heads: int, mask=None,
                            return_weights: bool = False):
    """Multi-head self-attention, numpy.

    x (n, d_model); w_q, w_k, w_v, w_o (d_model, d_model), applied as x @ w (no biases).
    Each of the n_heads heads attends with its own d_model // n_heads slice of the projected
    features; the head outputs are concatenated and projected by w_o. mask: optional bool
    (n, n), True = may attend, shared by all heads. Returns out (n, d_model), or
    (out, weights) with weights (n_heads, n, n) if return_weights.
    """
    x = as_float_array("x", x)
    projections = {name: as_float_array(name, w)
                   for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v), ("w_o", w_o))}
    if mask is not None:
        mask = np.asarray(mask)
    _check_multi_head_inputs(x, projections, n_heads, mask)
    w_q, w_k, w_v, w_o = projections.values()

    n, d_model = x.shape  # tokens, model width
    d_head = d_model // n_heads  # features per head

    def split_heads(projected):  # (n, d_model) -> (n_heads, n, d_head)
        # Head h owns columns h*d_head:(h+1)*d_head, the same split torch uses.
        return projected.reshape(n, n_heads, d_head).transpose(1, 0, 2)

    with np.errstate(over="ignore", invalid="ignore"):  # reported by _projected, by name
        q_heads, k_heads, v_heads = (split_heads(_projected(x, w, name))  # (n_heads, n, d_head)
                                     for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)))
    # The heads are just a batch dim to single-head attention; the (n, n) mask spans them.
    out_heads, weights = _attend_np(q_heads, k_heads, v_heads, mask)  # (n_heads, n, d_head)
    concat = out_heads.transpose(1, 0, 2).reshape(n, d_model)  # (n, d_model), heads side by side
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below
        out = concat @ w_o  # (n, d_model)
    require_finite("output (heads @ w_o)", out, _OVERFLOW_HINT)  # O(n d_model)
    return (out, weights) if return_weights else out


def multi_head_attention_torch(x, w_q, w_k, w_v, w_o, n_heads: int, mask=None,
                               return_weights: bool = False):
    """Multi-head self-attention, torch; same shapes and conventions as multi_head_attention_np.

    Matches torch.nn.MultiheadAttention (bias=False) given in_proj_weight = [w_q^T; w_k^T;
    w_v^T], out_proj.weight = w_o^T and attn_mask = ~mask (torch's bool mask means blocked).
    """
    require_torch_inputs({"x": x, "w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": w_o}, mask,
                         anchor="x")
    projections = {"w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": w_o}
    _check_multi_head_inputs(x, projections, n_heads, mask)

    n, d_model = x.shape  # tokens, model width
    d_head = d_model // n_heads  # features per head

    def split_heads(projected):  # (n, d_model) -> (n_heads, n, d_head)
        return projected.reshape(n, n_heads, d_head).transpose(0, 1)

    q_heads, k_heads, v_heads = (split_heads(_projected(x, w, name))  # (n_heads, n, d_head)
                                 for name, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v)))
    out_heads, weights = _attend_torch(q_heads, k_heads, v_heads, mask)  # (n_heads, n, d_head)
    concat = out_heads.transpose(0, 1).reshape(n, d_model)  # (n, d_model), heads side by side
    out = concat @ w_o  # (n, d_model)
    require_finite("output (heads @ w_o)", out, _OVERFLOW_HINT)  # O(n d_model)
    return (out, weights) if return_weights else out
