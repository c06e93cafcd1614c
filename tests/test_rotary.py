"""Rotary position embeddings: relative positions only, norms kept, equal to a complex-number
reference, identity at position 0, and input checks."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from attnsheet import apply_rotary, rotary_angles, sinusoidal_positions

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
DTYPES = [pytest.param(torch.float32, id="float32"), pytest.param(torch.float64, id="float64")]


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def close(actual, expected, dtype):
    torch.testing.assert_close(actual, expected, atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype])


# --- (1) scores depend only on the offset m - n -----------------------------------------------


def score_table(encode_q, encode_k, q, k, n):
    """(n, n) scores of ONE query vector q placed at every position against ONE key vector k
    placed at every position: entry (m, j) = encode(q at m) . encode(k at j)."""
    queries = encode_q(q.expand(n, -1))  # (n, d): the same q, position m in row m
    keys = encode_k(k.expand(n, -1))  # (n, d)
    return queries @ keys.T  # (n, n)


def diagonal_spread(scores):
    """Largest spread (max - min) along any diagonal: 0 iff each entry depends only on m - j."""
    n = scores.shape[0]
    return max(float(torch.diagonal(scores, offset).max() - torch.diagonal(scores, offset).min())
               for offset in range(-(n - 1), n))


@pytest.mark.parametrize("dtype", DTYPES)
def test_score_depends_only_on_offset(dtype):
    d, n = 16, 40
    q, k = randn(1, d, seed=1, dtype=dtype), randn(1, d, seed=2, dtype=dtype)
    scores = score_table(apply_rotary, apply_rotary, q, k, n)
    assert diagonal_spread(scores) < TOLERANCE[dtype]
    # And the offsets do matter: different diagonals give different scores.
    assert abs(float(scores[10, 0] - scores[0, 10])) > 0.01


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shift", [1, 7, 250, 10_000])
def test_shifting_both_positions_keeps_every_score(dtype, shift):
    d, n = 32, 12
    q, k = randn(n, d, seed=3, dtype=dtype), randn(n, d, seed=4, dtype=dtype)
    positions = torch.arange(n)
    scores = apply_rotary(q, positions) @ apply_rotary(k, positions).T  # (n, n)
    shifted = apply_rotary(q, positions + shift) @ apply_rotary(k, positions + shift).T
    close(shifted, scores, dtype)


def test_the_offset_check_can_fail():
    """Adding sinusoidal positions (absolute) does NOT pass the same check: it can fail."""
    d, n = 16, 40
    q, k = randn(1, d, seed=1), randn(1, d, seed=2)
    pe = sinusoidal_positions(n, d, dtype=torch.float64)  # (n, d)
    scores = score_table(lambda x: x + pe, lambda x: x + pe, q, k, n)
    assert diagonal_spread(scores) > 0.1


# --- (2) norms, (3) complex reference, (4) position 0 ------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_norms_are_preserved(dtype):
    x = randn(2, 3, 9, 20, seed=5, dtype=dtype)  # (batch, heads, n, d)
    rotated = apply_rotary(x)
    close(rotated.norm(dim=-1), x.norm(dim=-1), dtype)
    # Each pair (2i, 2i+1) keeps its own length, not just the row as a whole.
    pair_norms = lambda t: t.reshape(*t.shape[:-1], -1, 2).norm(dim=-1)  # noqa: E731
    close(pair_norms(rotated), pair_norms(x), dtype)


def numpy_reference(x, positions, base):
    """Independent reference: pair (2i, 2i+1) as the complex number x_2i + i x_2i+1,
    multiplied by exp(i * position * base**(-2i/d))."""
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    theta = np.asarray(positions, dtype=np.float64)[:, None] * base ** (-np.arange(0, d, 2) / d)
    z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * theta)  # (..., n, d/2)
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


@pytest.mark.parametrize("base", [10000.0, 500.0])
@pytest.mark.parametrize("positions", [None, "custom"], ids=["0..n-1", "custom"])
def test_equals_complex_multiplication(base, positions):
    x = randn(3, 7, 12, seed=6)  # (batch, n, d)
    if positions == "custom":
        positions = torch.tensor([5.0, -2.0, 0.5, 100.0, 3.0, 3.0, 9999.0], dtype=torch.float64)
    expected = numpy_reference(x.numpy(), np.arange(7) if positions is None else positions.numpy(),
                               base)
    np.testing.assert_allclose(apply_rotary(x, positions, base=base).numpy(), expected,
                               atol=1e-10, rtol=0)


def test_equals_torch_view_as_complex():
    x = randn(6, 8, seed=7, dtype=torch.float32)  # (n, d)
    angles = rotary_angles(6, 8)  # (n, d/2)
    z = torch.view_as_complex(x.reshape(6, 4, 2).contiguous())  # pair i -> x_2i + i x_2i+1
    expected = torch.view_as_real(z * torch.polar(torch.ones_like(angles), angles)).reshape(6, 8)
    close(apply_rotary(x), expected, torch.float32)


def test_rotary_angles_formula():
    angles = rotary_angles(5, 6, base=100.0, dtype=torch.float64)
    assert angles.shape == (5, 3)
    expected = np.arange(5)[:, None] * np.array([1.0, 100.0 ** (-2 / 6), 100.0 ** (-4 / 6)])
    np.testing.assert_allclose(angles.numpy(), expected, rtol=1e-14)
    assert rotary_angles(5, 6).dtype == torch.float32


@pytest.mark.parametrize("dtype", DTYPES)
def test_position_zero_is_the_identity(dtype):
    x = randn(5, 10, seed=8, dtype=dtype)
    assert torch.equal(apply_rotary(x, torch.zeros(5)), x)
    assert torch.equal(apply_rotary(x)[0], x[0])  # default positions start at 0
    assert not torch.allclose(apply_rotary(x)[1], x[1])  # ...and then it does rotate


def test_batch_dims_positions_and_dtype():
    x = randn(2, 4, 6, 8, seed=9, dtype=torch.float32)  # (batch, heads, n, d)
    rotated = apply_rotary(x)
    assert rotated.shape == x.shape and rotated.dtype == torch.float32
    # Every batch entry is rotated alike, and a slice keeps its positions if told them.
    close(rotated[1, 2], apply_rotary(x[1, 2]), torch.float32)
    close(rotated[..., 2:, :], apply_rotary(x[..., 2:, :], torch.arange(2, 6)), torch.float32)


def test_gradients_flow():
    x = randn(4, 6, seed=10).requires_grad_()
    apply_rotary(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


# --- (5) input checks -----------------------------------------------------------------------


def with_value(tensor, index, value):
    tensor = tensor.clone()
    tensor[index] = value
    return tensor


X = randn(5, 8, seed=11)  # a valid (n, d) input

APPLY_ERRORS = [  # (id, x, keyword changes, message regex)
    ("x numpy", np.ones((5, 8)), {}, r"x must be a torch.Tensor: got numpy.ndarray"),
    ("x integer", torch.ones(5, 8, dtype=torch.int64), {},
     r"x must have a floating-point dtype: got torch.int64"),
    ("x 1-D", randn(8), {},
     re.escape("x must have at least 2 dims, layout (..., n, d): got x.shape=(8,)")),
    ("x no tokens", randn(0, 8), {}, re.escape("x must not be empty (layout (..., n, d))")),
    ("x no features", randn(5, 0), {}, r"x must not be empty"),
    ("odd d", randn(5, 7), {},
     re.escape("x's last dim d must be even (features are rotated in pairs (2i, 2i+1)): "
               "got x.shape=(5, 7)")),
    ("NaN in x", with_value(X, (2, 3), float("nan")), {},
     re.escape("x contains non-finite values (1 NaN, 0 inf): first is x[2, 3] = nan")),
    ("inf in x", with_value(X, (4, 0), float("-inf")), {}, r"x contains non-finite values"),
    ("rotation overflows", torch.full((2, 4), 3e38), {},
     r"rotated x contains non-finite values.*too large for its dtype"),
    ("positions list", X, dict(positions=[0, 1, 2, 3, 4]),
     r"positions must be a torch.Tensor of shape \(n,\): got list"),
    ("positions too short", X, dict(positions=torch.arange(4)),
     re.escape("positions must have shape (n,) = (5,), one per row of x: "
               "got positions.shape=(4,)")),
    ("positions 2-D", X, dict(positions=torch.arange(5)[None]), r"positions must have shape"),
    ("positions bool", X, dict(positions=torch.ones(5, dtype=torch.bool)),
     r"positions must hold real numbers: got dtype torch.bool"),
    ("positions NaN", X, dict(positions=with_value(torch.arange(5.0), 1, float("nan"))),
     r"positions contains non-finite values \(1 NaN, 0 inf\)"),
    ("base zero", X, dict(base=0.0), r"base must be a finite real number > 0: got 0.0"),
    ("base inf", X, dict(base=float("inf")), r"base must be a finite real number > 0: got inf"),
    ("base string", X, dict(base="10000"), r"base must be a real number > 0: got '10000'"),
]


@pytest.mark.parametrize("x, changes, message",
                         [pytest.param(*case[1:], id=case[0]) for case in APPLY_ERRORS])
def test_apply_rotary_errors(x, changes, message):
    with pytest.raises(ValueError, match=message):
        apply_rotary(x, **changes)


ANGLE_ERRORS = [  # (id, arguments, message regex)
    ("n zero", (0, 8), r"n must be a positive integer: got 0"),
    ("d float", (5, 8.0), r"d must be a positive integer: got 8.0"),
    ("d odd", (5, 9),
     re.escape("d must be even (features are rotated in pairs (2i, 2i+1)): got 9")),
    ("base negative", (5, 8, -1.0), r"base must be a finite real number > 0: got -1.0"),
    ("base bool", (5, 8, True), r"base must be a real number > 0: got True"),
]


@pytest.mark.parametrize("arguments, message",
                         [pytest.param(*case[1:], id=case[0]) for case in ANGLE_ERRORS])
def test_rotary_angles_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        rotary_angles(*arguments)
