"""Forgetting as a gradient (recurrence page, R3a): how much does input 0 still matter at t?

For a tanh RNN, ∂h_t/∂x_0 is a product of t + 1 factors, one per hand-off (the chain
rule), so its size changes geometrically with t. For self-attention, output t reads input 0
directly, through one weight, so its sensitivity to input 0 does not depend on the distance
t. Both are computed in float64 from the library's own forward functions; the tests check
the RNN's chain-rule product against autograd.
"""

from __future__ import annotations

import math

import torch

from ._checks import (
    describe,
    require_finite,
    require_float_tensor,
    require_ndim,
    require_nonempty,
    require_positive_int,
    require_seed,
)
from .attention import attention_torch
from .rnn import elman_rnn_torch, init_elman_np

__all__ = ["attention_jacobian_norms", "attention_sensitivity", "rnn_jacobian_norms",
           "rnn_sensitivity"]


def attention_jacobian_norms(forward, x: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of ∂out_t/∂x_0 for every t; forward maps (…, n, d) to (…, n, d_out).

    Forward-mode products J e_i, one per feature i of x_0, computed with two reverse passes
    (the pullback u -> Jᵀu is linear in u, so differentiating it against e_i gives J e_i)
    on a batch of d_in copies of x: plain autograd, no forward-mode machinery to load.
    """
    if not callable(forward):
        raise ValueError(f"forward must be a function of x: got {type(forward).__name__}")
    require_float_tensor("x", x)
    require_ndim("x", x, 2, "(n, d_in)")
    require_nonempty("x", x, "(n, d_in)")
    require_finite("x", x)
    n, d_in = x.shape  # positions, features
    copies = x.expand(d_in, n, d_in).clone().requires_grad_(True)  # (d_in, n, d_in)
    try:
        out = forward(copies)  # (d_in, n, d_out)
    except (RuntimeError, ValueError, TypeError) as error:  # e.g. x too wide for forward
        raise ValueError(f"forward failed on x (x.shape={tuple(x.shape)}): {error}") from error
    # O(outputs): what forward returned must be a function of its input, of the right shape.
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise ValueError(f"forward must return a floating-point torch.Tensor: got "
                         f"{describe(out)}")
    if out.ndim != 3 or tuple(out.shape[:2]) != (d_in, n):
        raise ValueError(f"forward must map (..., n, d) to (..., n, d_out): given "
                         f"{(d_in, n, d_in)} it returned {tuple(out.shape)}")
    if not out.requires_grad:
        raise ValueError("forward's output does not depend on its input (no autograd graph)")
    require_finite("forward(x)", out.detach())
    probe = torch.zeros_like(out, requires_grad=True)
    (pullback,) = torch.autograd.grad(out, copies, probe, create_graph=True)  # Jᵀ probe
    nudges = torch.zeros_like(copies)
    nudges[torch.arange(d_in), 0, torch.arange(d_in)] = 1.0  # copy i: feature i of x_0
    (columns,) = torch.autograd.grad(pullback, probe, nudges)  # (d_in, n, d_out): J e_i
    norms = columns.pow(2).sum(dim=(0, 2)).sqrt()  # (n,)
    require_finite("norms", norms, "forward's derivative overflowed")
    return norms


def rnn_jacobian_norms(x: torch.Tensor, w_xh, w_hh, b_h) -> torch.Tensor:
    """‖∂h_t/∂x_0‖ (Frobenius) for every t of the Elman RNN `elman_rnn_torch(x, …)`.

    The chain rule, one factor per hand-off: ∂h_0/∂x_0 = diag(1 - h_0²) w_xhᵀ and
    ∂h_t/∂x_0 = diag(1 - h_t²) w_hhᵀ ∂h_{t-1}/∂x_0. This is autograd's answer (the tests
    check it) at a fraction of its cost: one (d_h, d_h) @ (d_h, d_in) product per step.
    """
    with torch.no_grad():
        states = elman_rnn_torch(x, w_xh, w_hh, b_h)  # (n, d_h)
        jacobian = (1 - states[0] ** 2)[:, None] * w_xh.T  # (d_h, d_in)
        norms = [jacobian.norm()]
        for t in range(1, x.shape[0]):
            jacobian = (1 - states[t] ** 2)[:, None] * (w_hh.T @ jacobian)  # (d_h, d_in)
            norms.append(jacobian.norm())
    norms = torch.stack(norms)  # (n,)
    # O(n): a product of t factors can overflow where w_hh is large; say from which t on.
    require_finite("norms", norms, "the chain-rule product overflowed: w_hh is too large "
                   "for the dtype")
    return norms


def _check_sizes(n, d, seed, n_sequences) -> None:
    require_positive_int("n", n)
    require_positive_int("d", d)
    require_seed("seed", seed)
    require_positive_int("n_sequences", n_sequences)


def rnn_sensitivity(n: int, d: int, recurrent_scale: float, seed: int = 0,
                    n_sequences: int = 4) -> list[float]:
    """‖∂h_t/∂x_0‖ for t = 0 … n-1, tanh RNN at initialisation (init_elman_np weights).

    Averaged (geometric mean, the values span many decades) over `n_sequences` seeded
    random input sequences x ~ N(0, 1), shape (n, d).
    """
    _check_sizes(n, d, seed, n_sequences)
    # recurrent_scale: init_elman_np refuses anything but a finite real (0 and < 0 are fine).
    weights = {name: torch.from_numpy(w) for name, w in
               init_elman_np(d, d, seed=seed, recurrent_scale=recurrent_scale).items()}
    generator = torch.Generator().manual_seed(seed + 1)
    logs = []
    for _ in range(n_sequences):
        x = torch.randn(n, d, generator=generator, dtype=torch.float64)  # (n, d)
        norms = rnn_jacobian_norms(x, **weights)
        # Underflow to 0 would make the log -inf: clamp at the smallest normal float64.
        logs.append(norms.clamp_min(torch.finfo(torch.float64).tiny).log())
    return torch.stack(logs).mean(0).exp().tolist()


def attention_sensitivity(n: int, d: int, seed: int = 0, n_sequences: int = 4) -> list[float]:
    """‖∂y_t/∂x_0‖ for t = 0 … n-1, for self-attention y = attention(x w_q, x w_k, x w_v).

    Random projections with entries N(0, 1/d), no mask (every position sees every other),
    no training; averaged like rnn_sensitivity.
    """
    _check_sizes(n, d, seed, n_sequences)
    generator = torch.Generator().manual_seed(seed)
    w_q, w_k, w_v = (torch.randn(d, d, generator=generator, dtype=torch.float64) / math.sqrt(d)
                     for _ in range(3))
    logs = []
    for _ in range(n_sequences):
        x = torch.randn(n, d, generator=generator, dtype=torch.float64)  # (n, d)
        norms = attention_jacobian_norms(
            lambda inp: attention_torch(inp @ w_q, inp @ w_k, inp @ w_v), x)
        logs.append(norms.clamp_min(torch.finfo(torch.float64).tiny).log())
    return torch.stack(logs).mean(0).exp().tolist()
