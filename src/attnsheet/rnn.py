"""A minimal Elman RNN, numpy and torch: the sequential baseline attention replaced.

    h_t = tanh(x_t @ w_xh + h_{t-1} @ w_hh + b_h),   h_{-1} = h0 (zeros by default)

Step t needs h_{t-1}, so the time steps run one after another in a Python loop; that
loop, which no amount of hardware parallelism removes, is the point of this module.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._checks import (
    as_float_array,
    require_finite,
    require_ndim,
    require_nonempty,
    require_positive_int,
    require_same_size,
    require_same_tensor_kind,
    require_seed,
    require_shape,
    require_tensor,
)

__all__ = ["elman_rnn_np", "elman_rnn_torch", "init_elman_np"]

# Finite inputs can still overflow: x_t @ w_xh sums terms that each fit the dtype, and an
# inf - inf inside that sum is NaN, which tanh passes on to every later step.
_OVERFLOW_HINT = ("x_t @ w_xh + h_{t-1} @ w_hh + b_h overflowed: x, w_xh, w_hh or b_h is too "
                  "large for its dtype")


def _check_elman_inputs(x, w_xh, w_hh, b_h, h0) -> None:
    """Shape, emptiness and finiteness checks shared by the numpy and torch versions."""
    require_ndim("x", x, 2, "(n, d_in)")
    require_ndim("w_xh", w_xh, 2, "(d_in, d_h)")
    require_nonempty("x", x, "(n, d_in)")
    require_nonempty("w_xh", w_xh, "(d_in, d_h)")
    require_same_size("x", x, 1, "w_xh", w_xh, 0, "input size d_in")
    d_h = w_xh.shape[1]  # hidden units, read off w_xh so the others are checked against it
    source = "d_h = w_xh.shape[1]"  # a mismatch may be w_xh's fault
    require_shape("w_hh", w_hh, (d_h, d_h), "(d_h, d_h)", source)
    require_shape("b_h", b_h, (d_h,), "(d_h,)", source)
    require_shape("h0", h0, (d_h,), "(d_h,)", source)
    for name, array in (("x", x), ("w_xh", w_xh), ("w_hh", w_hh), ("b_h", b_h), ("h0", h0)):
        require_finite(name, array)


def elman_rnn_np(x, w_xh, w_hh, b_h, h0=None) -> np.ndarray:
    """Run an Elman RNN over a sequence, numpy.

    x (n, d_in), w_xh (d_in, d_h), w_hh (d_h, d_h), b_h (d_h,), h0 (d_h,) or None for
    zeros. Returns all hidden states (n, d_h); row t is h_t.
    """
    x, w_xh, w_hh, b_h = (as_float_array(name, a) for name, a in
                          (("x", x), ("w_xh", w_xh), ("w_hh", w_hh), ("b_h", b_h)))
    if h0 is None:
        d_h = w_xh.shape[-1] if w_xh.ndim else 0
        h0 = np.zeros(d_h, dtype=np.result_type(x, w_xh, w_hh, b_h))
    h0 = as_float_array("h0", h0)
    _check_elman_inputs(x, w_xh, w_hh, b_h, h0)

    n, d_in = x.shape  # time steps, input features
    h = h0  # (d_h,)
    states = []
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, by name
        for t in range(n):
            h = np.tanh(x[t] @ w_xh + h @ w_hh + b_h)  # (d_h,)
            states.append(h)
    states = np.stack(states)  # (n, d_h)
    require_finite("hidden states", states, _OVERFLOW_HINT)  # O(n d_h): the output only
    return states


def elman_rnn_torch(x, w_xh, w_hh, b_h, h0=None) -> torch.Tensor:
    """Run an Elman RNN over a sequence, torch; same shapes as elman_rnn_np.

    Matches torch.nn.RNN(nonlinearity="tanh") given weight_ih_l0 = w_xh^T,
    weight_hh_l0 = w_hh^T and bias_ih_l0 + bias_hh_l0 = b_h. Gradients flow as usual.
    """
    named = {"x": x, "w_xh": w_xh, "w_hh": w_hh, "b_h": b_h}
    for name, tensor in named.items():
        require_tensor(name, tensor)
    if h0 is None:
        d_h = w_xh.shape[-1] if w_xh.ndim else 0
        h0 = torch.zeros(d_h, dtype=x.dtype, device=x.device)
    require_tensor("h0", h0)
    require_same_tensor_kind({**named, "h0": h0})
    _check_elman_inputs(x, w_xh, w_hh, b_h, h0)

    n, d_in = x.shape  # time steps, input features
    h = h0  # (d_h,)
    states = []
    for t in range(n):
        h = torch.tanh(x[t] @ w_xh + h @ w_hh + b_h)  # (d_h,)
        states.append(h)
    # A list and one stack, not writes into a preallocated tensor: in-place writes would get
    # in autograd's way.
    states = torch.stack(states)  # (n, d_h)
    require_finite("hidden states", states, _OVERFLOW_HINT)  # O(n d_h): the output only
    return states


def init_elman_np(d_in: int, d_h: int, seed: int = 0, recurrent_scale: float = 1.0) -> dict:
    """Deterministic weights for elman_rnn_np: {"w_xh", "w_hh", "b_h"}, float64.

    Entries are normal / sqrt(fan_in), so each pre-activation starts with variance about 1
    per unit of input variance. w_hh is then multiplied by recurrent_scale; its spectral
    radius is close to recurrent_scale for large d_h (circular law), so below 1 the state
    forgets h0 and early inputs, and well above 1 it saturates tanh. Use as
    `elman_rnn_np(x, **init_elman_np(d_in, d_h))`.
    """
    require_positive_int("d_in", d_in)
    require_positive_int("d_h", d_h)
    # default_rng refuses -1 or 0.5 with a message that does not name seed, and takes True.
    seed = require_seed("seed", seed)
    if (isinstance(recurrent_scale, bool) or not isinstance(recurrent_scale, numbers.Real)
            or not math.isfinite(recurrent_scale)):
        raise ValueError(f"recurrent_scale must be a finite real number: got {recurrent_scale!r}")
    rng = np.random.default_rng(seed)
    # w_hh is drawn the same way whatever recurrent_scale is, so changing the scale changes
    # nothing else: runs differing only in the scale are directly comparable.
    w_xh = rng.standard_normal((d_in, d_h)) / math.sqrt(d_in)  # (d_in, d_h)
    with np.errstate(over="ignore"):  # a scale too large is reported below, by name
        w_hh = rng.standard_normal((d_h, d_h)) / math.sqrt(d_h) * recurrent_scale  # (d_h, d_h)
    b_h = np.zeros(d_h)  # (d_h,)
    # A finite but huge scale (1e308) makes w_hh inf.
    require_finite("w_hh", w_hh, f"recurrent_scale={recurrent_scale!r} is too large for float64")
    return {"w_xh": w_xh, "w_hh": w_hh, "b_h": b_h}
