"""Rotary position embeddings (RoPE) in torch.

Instead of adding a position vector to each token, rotary embeddings *rotate* the query and
key vectors by an angle that grows with the position. Features are taken in adjacent pairs
(2i, 2i+1), the layout of the original RoFormer paper and of `sinusoidal_positions`; pair i
at position p is turned by the angle

    theta(p, i) = p * base ** (-2i / d)

so the first pair turns fastest (one radian per position) and the last slowest. Because a
rotation by a then the inverse rotation by b is a rotation by a - b, the dot product of a query
rotated at position m with a key rotated at position n depends on the positions only through
m - n: scores see relative offsets, never absolute positions.

Many implementations (e.g. Llama's) pair feature i with feature i + d/2 instead ("half
split"). That is the same rotation applied to permuted features; it is not what this module
does.

Every public function validates its inputs and raises `ValueError` naming the problem
rather than returning NaN.
"""

from __future__ import annotations

import math
import numbers

import torch

from ._checks import (
    require_finite,
    require_float_dtype,
    require_float_tensor,
    require_min_ndim,
    require_nonempty,
    require_positive_int,
    shape_of,
)

__all__ = ["apply_rotary", "rotary_angles"]

_X_LAYOUT = "(..., n, d)"


def _check_base(base) -> float:
    # bool is a Real subclass, but base=True is always a mistake.
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise ValueError(f"base must be a real number > 0: got {base!r}")
    base = float(base)
    if not (math.isfinite(base) and base > 0):
        raise ValueError(f"base must be a finite real number > 0: got {base!r}")
    return base


def _check_even(name: str, d: int, shown: str) -> None:
    if d % 2:
        raise ValueError(
            f"{name} must be even (features are rotated in pairs (2i, 2i+1)): got {shown}"
        )


def _angles(positions: torch.Tensor, d: int, base: float) -> torch.Tensor:
    """Angles (n, d/2) in float64 for positions (n,): row p, column i is p * base**(-2i/d).

    float64 on purpose: in float32 an angle like 5000.3 keeps only about 3 decimals, and
    cos/sin of it would carry that error into every rotated vector.
    """
    exponents = torch.arange(0, d, 2, dtype=torch.float64, device=positions.device) / d
    frequencies = base ** (-exponents)  # (d/2,): 1, then smaller and smaller
    return positions.to(torch.float64)[:, None] * frequencies[None, :]  # (n, d/2)


def rotary_angles(n: int, d: int, base: float = 10000.0,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Rotation angles (n, d/2) for positions 0..n-1: entry (p, i) = p * base**(-2i/d).

    Pair i of the features (columns 2i and 2i+1) at position p is rotated by entry (p, i);
    d must be even. Computed in float64, returned in `dtype`.
    """
    require_positive_int("n", n)
    require_positive_int("d", d)
    _check_even("d", d, repr(d))
    base = _check_base(base)
    # An integer dtype would round every angle down to a whole number of radians.
    require_float_dtype("dtype", dtype)
    angles = _angles(torch.arange(n), d, base).to(dtype)  # (n, d/2)
    # One pass over the output: a base below about 1e-308 overflows base ** (-2i/d) even in
    # float64, and float16 tops out at 65504, so positions past that are inf there.
    require_finite("angles", angles,
                   f"n={n} and base={base!r} give angles too large for dtype={dtype}")
    return angles


def _check_angles(angles: torch.Tensor) -> None:
    """The float64 angles finite: base ** (-2i/d) overflows for a base below about 1e-308,
    and inf * 0 at position 0 is NaN. O(n d), the size of the output."""
    require_finite("angles (positions * base**(-2i/d))", angles,
                   "positions and base are too extreme for float64")


def _check_positions(positions, n: int, device: torch.device) -> None:
    if not isinstance(positions, torch.Tensor):
        raise ValueError(
            f"positions must be a torch.Tensor of shape (n,): got {type(positions).__name__}"
        )
    if positions.dtype == torch.bool or positions.is_complex():
        raise ValueError(f"positions must hold real numbers: got dtype {positions.dtype}")
    # One position per token, shared by every batch entry: x's n-th-from-last axis.
    if shape_of(positions) != (n,):
        raise ValueError(
            f"positions must have shape (n,) = ({n},), one per row of x: "
            f"got positions.shape={shape_of(positions)}"
        )
    if positions.device != device:
        raise ValueError(f"positions must be on x's device {device}: got {positions.device}")
    if positions.is_floating_point():
        require_finite("positions", positions)


def apply_rotary(x: torch.Tensor, positions: torch.Tensor | None = None,
                 base: float = 10000.0) -> torch.Tensor:
    """Rotate each adjacent feature pair (2i, 2i+1) of x (..., n, d) by positions * base**(-2i/d).

    x: float tensor, d even; apply it to queries and keys (not values). positions: optional
    (n,) tensor of real numbers, one per row, shared by any batch dims; default 0..n-1.
    Returns a tensor shaped and typed like x. Norms of the pairs, and so of each row, are
    unchanged; position 0 is the identity.
    """
    require_float_tensor("x", x)
    require_min_ndim("x", x, 2, _X_LAYOUT)
    require_nonempty("x", x, _X_LAYOUT)
    n, d = x.shape[-2:]  # tokens, features
    _check_even("x's last dim d", d, f"x.shape={shape_of(x)}")
    require_finite("x", x)
    if positions is None:
        positions = torch.arange(n, device=x.device)
    else:
        _check_positions(positions, n, x.device)
    base = _check_base(base)

    angles = _angles(positions, d, base)  # (n, d/2), float64
    _check_angles(angles)
    # cos and sin in float64 too, then in x's dtype for the multiply: the rotation itself is
    # as exact as x's dtype allows.
    cos, sin = torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)  # (n, d/2) each
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., n, d/2): the two halves of every pair
    # The 2-D rotation [[cos, -sin], [sin, cos]] on each pair (even, odd), i.e. the complex
    # product (even + i odd) * exp(i angle). (n, d/2) broadcasts over the batch dims.
    rotated_even = even * cos - odd * sin  # (..., n, d/2)
    rotated_odd = even * sin + odd * cos  # (..., n, d/2)
    # Interleave back: stack gives (..., n, d/2, 2), flatten puts pair i at columns 2i, 2i+1.
    rotated = torch.stack((rotated_even, rotated_odd), dim=-1).flatten(-2)  # (..., n, d)
    # A pair near the dtype's limit can overflow when turned (its coordinates may each grow
    # by up to sqrt(2)): say so rather than hand back inf.
    require_finite("rotated x", rotated, "x is too large for its dtype (the rotation overflowed)")
    return rotated
