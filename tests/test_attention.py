"""attention_np / attention_torch / multi-head versions against torch, properties, errors."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from attnsheet import (
    attention_np,
    attention_torch,
    multi_head_attention_np,
    multi_head_attention_torch,
    softmax_np,
)
from attnsheet.evidence.figures import THEMES
from attnsheet.evidence.render import attention as render
from attnsheet.evidence.sections import attention as section
from attnsheet.evidence.spec import HOLDS, CriterionFailed, Figure
from attnsheet.experiments import attention as experiments

ATOL = 1e-6  # numpy vs torch vs torch's reference, float64


def seed_for(*parameters):
    """A per-case seed that is stable across runs (hash() of a str is salted per process)."""
    return zlib.crc32(repr(parameters).encode())


def as_tensor(array):
    return None if array is None else torch.from_numpy(np.asarray(array))


def random_mask(rng, shape):
    """Random bool mask of `shape` (..., n_q, n_k) with at least one True in every row."""
    mask = rng.random(shape) < 0.5
    forced_key = rng.integers(shape[-1], size=shape[:-1])  # one allowed key per row
    np.put_along_axis(mask, forced_key[..., None], True, axis=-1)
    return mask


def causal_mask(n_q, n_k):
    """Query i may attend to keys 0..i: SDPA's is_causal=True (top-left aligned)."""
    return np.tril(np.ones((n_q, n_k), dtype=bool))


# --- numpy == torch == F.scaled_dot_product_attention ------------------------------------

SHAPES = [  # batch dims, n_q, n_k, d, d_v
    pytest.param((), 4, 4, 8, 8, id="square"),
    pytest.param((), 3, 6, 4, 5, id="nq<nk,d!=dv"),
    pytest.param((), 7, 2, 3, 1, id="nq>nk"),
    pytest.param((2,), 5, 3, 6, 2, id="batch"),
    pytest.param((2, 3), 4, 7, 5, 3, id="batch+heads"),
    pytest.param((), 1, 1, 1, 1, id="tiny"),
]
MASKS = ["none", "random", "random_batched", "causal"]


@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("batch, n_q, n_k, d, d_v", SHAPES)
def test_attention_matches_torch_sdpa(batch, n_q, n_k, d, d_v, mask_kind):
    rng = np.random.default_rng(seed_for(batch, n_q, n_k, d, d_v, mask_kind))
    q = rng.standard_normal(batch + (n_q, d))  # (..., n_q, d)
    k = rng.standard_normal(batch + (n_k, d))  # (..., n_k, d)
    v = rng.standard_normal(batch + (n_k, d_v))  # (..., n_k, d_v)
    mask = {
        "none": None,
        "random": random_mask(rng, (n_q, n_k)),
        "random_batched": random_mask(rng, batch + (n_q, n_k)),
        "causal": causal_mask(n_q, n_k),
    }[mask_kind]

    out_np, weights_np = attention_np(q, k, v, mask=mask, return_weights=True)
    out_torch, weights_torch = attention_torch(
        as_tensor(q), as_tensor(k), as_tensor(v), mask=as_tensor(mask), return_weights=True
    )
    # SDPA's bool attn_mask uses our convention: True = may attend.
    reference = F.scaled_dot_product_attention(
        as_tensor(q), as_tensor(k), as_tensor(v), attn_mask=as_tensor(mask)
    )

    assert out_np.shape == batch + (n_q, d_v) and out_np.dtype == np.float64
    assert weights_np.shape == batch + (n_q, n_k)
    np.testing.assert_allclose(out_np, reference.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(out_torch.numpy(), reference.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(weights_np, weights_torch.numpy(), rtol=0, atol=ATOL)
    if mask is not None:
        blocked = np.broadcast_to(~mask, weights_np.shape)
        assert np.all(weights_np[blocked] == 0.0)
        assert np.all(weights_torch.numpy()[blocked] == 0.0)
    if mask_kind == "causal":
        is_causal = F.scaled_dot_product_attention(
            as_tensor(q), as_tensor(k), as_tensor(v), is_causal=True
        )
        np.testing.assert_allclose(out_np, is_causal.numpy(), rtol=0, atol=ATOL)


def test_causal_mask_hides_the_future():
    """With a causal mask, output i must not change when tokens after i change."""
    rng = np.random.default_rng(1)
    n, d = 6, 4
    x = rng.standard_normal((n, d))
    changed = x.copy()
    changed[3:] = rng.standard_normal((n - 3, d))  # rewrite tokens 3..5
    mask = causal_mask(n, n)
    before = attention_np(x, x, x, mask=mask)
    after = attention_np(changed, changed, changed, mask=mask)
    np.testing.assert_array_equal(before[:3], after[:3])
    assert not np.allclose(before[3:], after[3:])


def test_float32_stays_float32():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    assert attention_np(q, k, v).dtype == np.float32
    assert attention_torch(*(torch.from_numpy(a) for a in (q, k, v))).dtype == torch.float32


def test_attention_torch_gradients():
    rng = np.random.default_rng(3)
    q, k, v = (torch.tensor(rng.standard_normal(shape), requires_grad=True)
               for shape in ((3, 4), (5, 4), (5, 2)))
    mask = torch.from_numpy(random_mask(rng, (3, 5)))
    assert torch.autograd.gradcheck(lambda q, k, v: attention_torch(q, k, v, mask=mask), (q, k, v))


# --- multi-head attention == torch.nn.MultiheadAttention ----------------------------------


def torch_multi_head(x, w_q, w_k, w_v, w_o, n_heads, mask):
    """torch.nn.MultiheadAttention with our weights copied in; returns (out, weights)."""
    n, d_model = x.shape
    mha = torch.nn.MultiheadAttention(d_model, n_heads, bias=False, batch_first=True,
                                      dtype=torch.float64)
    with torch.no_grad():
        # torch applies projections as x @ W^T, we apply x @ w: torch's W is our w transposed.
        # in_proj_weight stacks the q, k, v projections along its first axis.
        mha.in_proj_weight.copy_(torch.cat([as_tensor(w).T for w in (w_q, w_k, w_v)]))
        mha.out_proj.weight.copy_(as_tensor(w_o).T)
    x_t = as_tensor(x)[None]  # (1, n, d_model): batch_first with a batch of one
    # MultiheadAttention's bool attn_mask means True = NOT allowed: the opposite of ours.
    blocked = None if mask is None else ~as_tensor(mask)
    with torch.no_grad():
        out, weights = mha(x_t, x_t, x_t, attn_mask=blocked, need_weights=True,
                           average_attn_weights=False)
    return out[0].numpy(), weights[0].numpy()  # (n, d_model), (n_heads, n, n)


def random_multi_head_case(rng, n, d_model):
    x = rng.standard_normal((n, d_model))  # (n, d_model)
    w_q, w_k, w_v, w_o = (rng.standard_normal((d_model, d_model)) / np.sqrt(d_model)
                          for _ in range(4))
    return x, w_q, w_k, w_v, w_o


@pytest.mark.parametrize("mask_kind", ["none", "causal", "random"])
@pytest.mark.parametrize("n, d_model, n_heads", [(5, 8, 2), (7, 12, 3), (4, 6, 1), (3, 8, 8)])
def test_multi_head_matches_torch(n, d_model, n_heads, mask_kind):
    rng = np.random.default_rng(seed_for(n, d_model, n_heads, mask_kind))
    x, w_q, w_k, w_v, w_o = random_multi_head_case(rng, n, d_model)
    masks = {"none": None, "causal": causal_mask(n, n), "random": random_mask(rng, (n, n))}
    mask = masks[mask_kind]

    out_np, weights_np = multi_head_attention_np(x, w_q, w_k, w_v, w_o, n_heads, mask=mask,
                                                 return_weights=True)
    out_torch, weights_torch = multi_head_attention_torch(
        *(as_tensor(a) for a in (x, w_q, w_k, w_v, w_o)), n_heads, mask=as_tensor(mask),
        return_weights=True,
    )
    out_ref, weights_ref = torch_multi_head(x, w_q, w_k, w_v, w_o, n_heads, mask)

    assert out_np.shape == (n, d_model) and weights_np.shape == (n_heads, n, n)
    np.testing.assert_allclose(out_np, out_ref, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out_torch.numpy(), out_ref, rtol=0, atol=ATOL)
    np.testing.assert_allclose(weights_np, weights_ref, rtol=0, atol=ATOL)
    np.testing.assert_allclose(weights_torch.numpy(), weights_ref, rtol=0, atol=ATOL)
    if mask is not None:
        assert np.all(weights_np[:, ~mask] == 0.0)


def test_multi_head_mask_convention_is_inverted_in_torch():
    """Passing our mask to MultiheadAttention un-inverted blocks exactly the allowed keys."""
    rng = np.random.default_rng(4)
    n, d_model, n_heads = 5, 8, 2
    x, w_q, w_k, w_v, w_o = random_multi_head_case(rng, n, d_model)
    mask = causal_mask(n, n)
    ours = multi_head_attention_np(x, w_q, w_k, w_v, w_o, n_heads, mask=mask)
    # Feeding torch ~(~mask) = mask, i.e. forgetting the inversion.
    _, wrong_weights = torch_multi_head(x, w_q, w_k, w_v, w_o, n_heads, ~mask)
    wrong_rows = wrong_weights[:, :-1]  # the last causal row allows every key, so ~mask blocks all
    assert np.all(wrong_rows[:, mask[:-1]] == 0.0)  # it zeroed the keys we allow
    right_out, _ = torch_multi_head(x, w_q, w_k, w_v, w_o, n_heads, mask)
    np.testing.assert_allclose(ours, right_out, rtol=0, atol=ATOL)


def test_one_head_is_plain_attention():
    rng = np.random.default_rng(5)
    x, w_q, w_k, w_v, w_o = random_multi_head_case(rng, 4, 6)
    expected = attention_np(x @ w_q, x @ w_k, x @ w_v) @ w_o
    np.testing.assert_allclose(multi_head_attention_np(x, w_q, w_k, w_v, w_o, 1), expected,
                               rtol=0, atol=1e-12)


# --- properties (hypothesis) --------------------------------------------------------------

VALUES = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def attention_cases(draw):
    batch = draw(st.sampled_from([(), (2,)]))
    n_q, n_k = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    d, d_v = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    q = draw(hnp.arrays(np.float64, batch + (n_q, d), elements=VALUES))
    k = draw(hnp.arrays(np.float64, batch + (n_k, d), elements=VALUES))
    v = draw(hnp.arrays(np.float64, batch + (n_k, d_v), elements=VALUES))
    mask = None
    if draw(st.booleans()):
        mask = draw(hnp.arrays(np.bool_, (n_q, n_k)))
        forced_keys = draw(st.lists(st.integers(0, n_k - 1), min_size=n_q, max_size=n_q))
        mask[np.arange(n_q), forced_keys] = True  # every query may attend somewhere
    return q, k, v, mask


def check_attention_properties(q, v, mask, out, weights):
    n_q, n_k = weights.shape[-2:]
    allowed = np.ones((n_q, n_k), dtype=bool) if mask is None else mask
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(weights))
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-9)
    assert np.all(weights[..., ~allowed] == 0.0)  # masked entries exactly 0
    # Each output coordinate is a weighted average of the attended values in that coordinate.
    hull_v = np.where(allowed[..., None], v[..., None, :, :], np.nan)  # (..., n_q, n_k, d_v)
    low, high = np.nanmin(hull_v, axis=-2), np.nanmax(hull_v, axis=-2)  # (..., n_q, d_v)
    slack = 1e-12 * (1 + np.abs(v).max())  # rounding in the weighted sum
    assert np.all(out >= low - slack) and np.all(out <= high + slack)


@settings(max_examples=150, deadline=None)
@given(attention_cases())
def test_attention_properties_np(case):
    q, k, v, mask = case
    out, weights = attention_np(q, k, v, mask=mask, return_weights=True)
    check_attention_properties(q, v, mask, out, weights)


@settings(max_examples=75, deadline=None)
@given(attention_cases())
def test_attention_properties_torch(case):
    q, k, v, mask = case
    out, weights = attention_torch(as_tensor(q), as_tensor(k), as_tensor(v),
                                   mask=as_tensor(mask), return_weights=True)
    check_attention_properties(q, v, mask, out.numpy(), weights.numpy())


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                  elements=st.floats(allow_nan=False, allow_infinity=False, width=64)))
def test_softmax_any_finite_input_gives_finite_distribution(scores):
    weights = softmax_np(scores)
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, (3, 5), elements=VALUES), st.floats(-1e3, 1e3))
def test_softmax_ignores_a_constant_shift(scores, shift):
    np.testing.assert_allclose(softmax_np(scores + shift), softmax_np(scores), rtol=0, atol=1e-9)


def test_softmax_minus_inf_means_weight_zero():
    weights = softmax_np(np.array([[0.0, -np.inf, 0.0], [-np.inf, 5.0, -np.inf]]))
    np.testing.assert_array_equal(weights, [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(softmax_np(np.log([[1.0, 3.0]]), axis=-1), [[0.25, 0.75]])
    np.testing.assert_allclose(softmax_np(np.log([[1.0], [3.0]]), axis=0), [[0.25], [0.75]])


# --- huge logits --------------------------------------------------------------------------


def queries_for_scores(scores):
    """q, k with q @ k^T / sqrt(d) == scores exactly: k = identity, q = scores * sqrt(d)."""
    n_q, n_k = scores.shape
    k = np.eye(n_k)  # (n_k, d) with d = n_k
    q = scores * np.sqrt(n_k)  # (n_q, d)
    return q, k


HUGE_SCORES = np.array([  # each row: the limit of softmax as the scale grows
    [1e4, 9.9e3, -1e4, 0.0],  # unique max: one-hot on key 0
    [-1e4, -1e4, 1e4, -1e4],  # unique max: one-hot on key 2
    [1e4, -1e4, -1e4, 1e4],  # tie at the top: half on key 0, half on key 3
    [-1e4, -1e4, -1e4, -1e4],  # all equal, however negative: uniform
])
HUGE_LIMIT = np.array([
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.5, 0.0, 0.0, 0.5],
    [0.25, 0.25, 0.25, 0.25],
])


def test_naive_softmax_overflows_where_ours_does_not():
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(HUGE_SCORES) / np.exp(HUGE_SCORES).sum(axis=-1, keepdims=True)
    assert np.isnan(naive).any()  # inf / inf
    np.testing.assert_allclose(softmax_np(HUGE_SCORES), HUGE_LIMIT, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_logits_give_the_hard_max_limit(dtype):
    rng = np.random.default_rng(6)
    q, k = queries_for_scores(HUGE_SCORES)
    v = rng.standard_normal((4, 3))
    q, k, v = (a.astype(dtype) for a in (q, k, v))
    expected_out = HUGE_LIMIT @ v.astype(np.float64)  # (n_q, d_v)
    tolerance = 1e-12 if dtype == np.float64 else 1e-6

    out_np, weights_np = attention_np(q, k, v, return_weights=True)
    out_torch, weights_torch = attention_torch(*(torch.from_numpy(a) for a in (q, k, v)),
                                               return_weights=True)
    reference = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)))
    for out, weights in ((out_np, weights_np), (out_torch.numpy(), weights_torch.numpy())):
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(weights, HUGE_LIMIT, rtol=0, atol=tolerance)
        np.testing.assert_allclose(out, expected_out, rtol=0, atol=tolerance * 10)
    np.testing.assert_allclose(reference.numpy(), expected_out, rtol=0, atol=tolerance * 10)


def test_huge_logits_with_a_mask():
    """The masked-out key has the top score; the limit is the hard max over the rest."""
    q, k = queries_for_scores(np.array([[1e4, 5e3, -1e4]]))
    v = np.array([[1.0], [2.0], [3.0]])
    mask = np.array([[False, True, True]])
    out, weights = attention_np(q, k, v, mask=mask, return_weights=True)
    np.testing.assert_array_equal(weights, [[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(out, [[2.0]])


# --- errors -------------------------------------------------------------------------------


def np_backend(array):
    return array


def torch_backend(array):
    return None if array is None else torch.from_numpy(np.asarray(array))


def shaped(*shape, fill=1.0):
    return np.full(shape, fill)


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def dead_row_mask(n_q, n_k, row, batch=()):
    mask = np.ones(batch + (n_q, n_k), dtype=bool)
    mask[row] = False
    return mask


ATTENTION_ERRORS = [  # (id, q, k, v, mask, message regex)
    ("q 1-D", shaped(8), shaped(5, 8), shaped(5, 3), None,
     re.escape("q must have at least 2 dims, layout (..., n_q, d): got q.shape=(8,)")),
    ("k 1-D", shaped(4, 8), shaped(8), shaped(5, 3), None, r"k must have at least 2 dims"),
    ("v 1-D", shaped(4, 8), shaped(5, 8), shaped(3), None, r"v must have at least 2 dims"),
    ("no queries", shaped(0, 8), shaped(5, 8), shaped(5, 3), None,
     re.escape("q must not be empty (layout (..., n_q, d)): got q.shape=(0, 8)")),
    ("no keys", shaped(4, 8), shaped(0, 8), shaped(0, 3), None, r"k must not be empty"),
    ("d = 0", shaped(4, 0), shaped(5, 0), shaped(5, 3), None, r"q must not be empty.*\(4, 0\)"),
    ("d_v = 0", shaped(4, 8), shaped(5, 8), shaped(5, 0), None, r"v must not be empty"),
    ("d mismatch", shaped(4, 8), shaped(5, 6), shaped(5, 3), None,
     re.escape("q and k must have the same feature size d: q.shape=(4, 8), k.shape=(5, 6)")),
    ("n_k mismatch", shaped(4, 8), shaped(5, 8), shaped(6, 3), None,
     re.escape("k and v must have the same number of keys n_k: k.shape=(5, 8), v.shape=(6, 3)")),
    ("batch mismatch", shaped(2, 4, 8), shaped(3, 5, 8), shaped(3, 5, 3), None,
     r"q, k and v must have the same batch dims .*q.shape=\(2, 4, 8\), k.shape=\(3, 5, 8\)"),
    ("batch vs none", shaped(2, 4, 8), shaped(5, 8), shaped(5, 3), None,
     r"must have the same batch dims"),
    ("size-1 batch does not broadcast", shaped(1, 4, 8), shaped(2, 5, 8), shaped(2, 5, 3), None,
     r"must have the same batch dims"),
    ("mask transposed", shaped(4, 8), shaped(5, 8), shaped(5, 3), np.ones((5, 4), bool),
     re.escape("here (4, 5): got mask.shape=(5, 4)")),
    ("mask wrong batch", shaped(2, 4, 8), shaped(2, 5, 8), shaped(2, 5, 3),
     np.ones((3, 4, 5), bool), re.escape("here (4, 5) or (2, 4, 5): got mask.shape=(3, 4, 5)")),
    ("mask float", shaped(4, 8), shaped(5, 8), shaped(5, 3), np.ones((4, 5)),
     r"mask must be a bool array .*got dtype (torch\.)?float64"),
    ("mask int", shaped(4, 8), shaped(5, 8), shaped(5, 3), np.ones((4, 5), dtype=np.int64),
     r"mask must be a bool array .*got dtype (torch\.)?int64"),
    ("mask dead row", shaped(4, 8), shaped(5, 8), shaped(5, 3), dead_row_mask(4, 5, 2),
     r"mask row 2 has no True \(mask\[2, :\] is all False\): query 2 may attend to no key"),
    ("batched mask dead row", shaped(2, 4, 8), shaped(2, 5, 8), shaped(2, 5, 3),
     dead_row_mask(4, 5, (1, 3), batch=(2,)), r"mask row \(1, 3\) has no True"),
    ("NaN in q", with_value(shaped(4, 8), (1, 2), np.nan), shaped(5, 8), shaped(5, 3), None,
     re.escape("q contains non-finite values (1 NaN, 0 inf): first is q[1, 2] = nan")),
    ("inf in k", shaped(4, 8), with_value(shaped(5, 8), (0, 0), np.inf), shaped(5, 3), None,
     r"k contains non-finite values \(0 NaN, 1 inf\)"),
    ("-inf in v", shaped(4, 8), shaped(5, 8), with_value(shaped(5, 3), (4, 2), -np.inf), None,
     r"v contains non-finite values .* v\[4, 2\] = -inf"),
    ("scores overflow", shaped(4, 8, fill=1e200), shaped(5, 8, fill=1e200), shaped(5, 3), None,
     r"scores \(q @ k\^T / sqrt\(d\)\) contains non-finite values.*too large"),
]


@pytest.mark.parametrize("attention, backend", [(attention_np, np_backend),
                                                 (attention_torch, torch_backend)],
                         ids=["np", "torch"])
@pytest.mark.parametrize("q, k, v, mask, message",
                         [pytest.param(*case[1:], id=case[0]) for case in ATTENTION_ERRORS])
def test_attention_errors(attention, backend, q, k, v, mask, message):
    with pytest.raises(ValueError, match=message):
        attention(backend(q), backend(k), backend(v), mask=backend(mask))


def test_attention_never_returns_nan_on_extreme_values():
    """Values near the float64 limit either give a finite answer or a ValueError."""
    v = np.full((5, 1), 1.7e308)
    try:
        out = attention_np(np.ones((4, 8)), np.ones((5, 8)), v)
    except ValueError as error:
        assert "output (weights @ v) contains non-finite values" in str(error)
    else:
        assert np.all(np.isfinite(out))


def test_attention_np_rejects_non_real_input():
    with pytest.raises(ValueError, match=r"q must hold real numbers: got dtype complex128"):
        attention_np(np.ones((2, 2), dtype=complex), np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"q is a torch.Tensor: use the \*_torch function"):
        attention_np(torch.ones(2, 2), np.ones((2, 2)), np.ones((2, 2)))


def test_attention_np_accepts_integer_lists():
    out = attention_np([[1, 0]], [[1, 0], [0, 1]], [[2], [4]], mask=[[True, False]])
    np.testing.assert_array_equal(out, [[2.0]])


def test_attention_torch_type_errors():
    ones = torch.ones(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"k must be a torch.Tensor: got numpy.ndarray"):
        attention_torch(ones, np.ones((3, 4)), ones)
    with pytest.raises(ValueError, match=r"q must have a floating-point dtype: got torch.int64"):
        attention_torch(torch.ones(3, 4, dtype=torch.int64), ones, ones)
    with pytest.raises(ValueError, match=r"q and v must have the same dtype: "
                                         r"got torch.float64 and torch.float32"):
        attention_torch(ones, ones, ones.float())
    with pytest.raises(ValueError, match=r"mask must be a torch.Tensor: got ndarray"):
        attention_torch(ones, ones, ones, mask=np.ones((3, 3), bool))


def multi_head_call(**changes):
    """Arguments of a valid 5-token, d_model = 6, 2-head call, with `changes` applied."""
    rng = np.random.default_rng(7)
    x, w_q, w_k, w_v, w_o = random_multi_head_case(rng, 5, 6)
    arguments = dict(x=x, w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o, n_heads=2, mask=None)
    arguments.update(changes)
    return arguments


MULTI_HEAD_ERRORS = [  # (id, changes, message regex)
    ("x 1-D", dict(x=shaped(6)),
     re.escape("x must be 2-D with layout (n, d_model): got x.shape=(6,)")),
    ("x batched", dict(x=shaped(2, 5, 6)), r"x must be 2-D"),
    ("x empty", dict(x=shaped(0, 6)), r"x must not be empty"),
    ("not divisible", dict(n_heads=4), r"d_model=6 is not divisible by n_heads=4"),
    ("zero heads", dict(n_heads=0), r"n_heads must be a positive integer: got 0"),
    ("float heads", dict(n_heads=2.0), r"n_heads must be a positive integer: got 2.0"),
    ("bool heads", dict(n_heads=True), r"n_heads must be a positive integer: got True"),
    ("w_q wrong shape", dict(w_q=shaped(6, 3)),
     re.escape("w_q must have shape (d_model, d_model) = (6, 6): got w_q.shape=(6, 3)")),
    ("w_o wrong shape", dict(w_o=shaped(3, 6)), r"w_o must have shape \(d_model, d_model\)"),
    ("NaN in x", dict(x=with_value(shaped(5, 6), (4, 5), np.nan)),
     r"x contains non-finite.*x\[4, 5\]"),
    ("inf in w_k", dict(w_k=with_value(shaped(6, 6), (0, 1), np.inf)), r"w_k contains non-finite"),
    ("per-head mask", dict(mask=np.ones((2, 5, 5), bool)),
     re.escape("here (5, 5): got mask.shape=(2, 5, 5)")),
    ("mask float", dict(mask=np.ones((5, 5))), r"mask must be a bool array"),
    ("mask dead row", dict(mask=dead_row_mask(5, 5, 4)), r"mask row 4 has no True"),
]


@pytest.mark.parametrize("multi_head, backend", [(multi_head_attention_np, np_backend),
                                                  (multi_head_attention_torch, torch_backend)],
                         ids=["np", "torch"])
@pytest.mark.parametrize("changes, message",
                         [pytest.param(*case[1:], id=case[0]) for case in MULTI_HEAD_ERRORS])
def test_multi_head_errors(multi_head, backend, changes, message):
    arguments = multi_head_call(**changes)
    for name in ("x", "w_q", "w_k", "w_v", "w_o", "mask"):
        arguments[name] = backend(arguments[name])
    with pytest.raises(ValueError, match=message):
        multi_head(**arguments)


SOFTMAX_ERRORS = [  # (id, scores, axis, message regex)
    ("NaN", np.array([[0.0, np.nan]]), -1, r"scores contains NaN or \+inf .*scores\[0, 1\] = nan"),
    ("+inf", np.array([[np.inf, 0.0]]), -1, r"scores contains NaN or \+inf"),
    ("row all -inf", np.array([[0.0, 1.0], [-np.inf, -np.inf]]), -1,
     r"entirely -inf .*index \(1,\)"),
    ("empty", np.zeros((2, 0)), -1, r"scores must not be empty"),
    ("scalar", np.array(1.0), -1, r"scores must have at least 1 dims"),
    ("axis out of range", np.zeros((2, 3)), 2, r"axis=2 is out of range for scores.shape=\(2, 3\)"),
]


@pytest.mark.parametrize("scores, axis, message",
                         [pytest.param(*case[1:], id=case[0]) for case in SOFTMAX_ERRORS])
def test_softmax_errors(scores, axis, message):
    with pytest.raises(ValueError, match=message):
        softmax_np(scores, axis=axis)


# --- the page's evidence: experiments, renderers and the claims' predicates (A1-A3, P1) ----

PARAMS = {e.name: dict(e.params) for e in section.EXPERIMENTS}
THEME = THEMES["light"]


@pytest.fixture(scope="module")
def table():
    return experiments.weight_table(**PARAMS["a1-sentence-weights"])


@pytest.fixture(scope="module")
def loop():
    return experiments.loop_vs_product(**PARAMS["a2-loop-vs-product"])


@pytest.fixture(scope="module")
def maps():
    return experiments.pretrained_maps(**PARAMS["a3-minilm-maps"])


def figures_of(rendered):
    return [b for blocks in rendered.parts.values() for b in blocks if isinstance(b, Figure)]


def test_sentence_table_is_a_blend(table):
    weights = np.array(table["weights"])
    assert weights.shape == (11, 11) and table["words"] == experiments.SENTENCE.split()
    assert (weights > 0).all() and table["weight_min"] == weights.min()
    assert np.allclose(weights.sum(axis=1), 1) and table["row_sum_error"] < 1e-12
    assert table["outputs_inside_values"] and table["sdpa_difference"] < 1e-12
    assert table["twins_equal"]  # no positions: the two copies of "the" look alike


def test_heatmap_caption_is_read_from_the_data(table):
    (figure,) = figures_of(render.heatmap(table))
    assert f"{table['weight_min']:.1e}" in figure.caption
    assert f"{table['self_or_twin']} of 11 rows" in figure.caption
    assert "identical columns" in figure.caption
    assert "between 1.000000 and 1.000000" in figure.alt
    figure.draw(THEME)


def test_loop_and_product_agree(loop):
    assert len(loop["cases"]) == PARAMS["a2-loop-vs-product"]["cases"]
    assert loop["score_difference"] < 1e-12 and loop["output_difference"] < 1e-12
    line = render.loop_check(loop).parts[""][0]
    assert f"{len(loop['cases'])} random cases" in line


def test_trained_model_renders_its_numbers():
    data = experiments.trained_referent(**PARAMS["a3-trained-referent"])
    rendered = render.trained_model(data)
    text = "\n".join(b for b in rendered.parts[""] if isinstance(b, str))
    assert f"**{data['held_out_accuracy']:.1%}**" in text
    assert f"{data['control_held_out_accuracy']:.1%}" in text
    tables, bars = figures_of(rendered)
    assert (tables.key, bars.key) == ("tables", "it-row")
    tired = data["twins"][0]
    assert f"{tired['layer_2'][tired['it']][tired['referent']]:.2f}" in tables.caption


def test_it_blend_and_maps_render(maps):
    blend = render.it_blend(maps)
    (figure,) = figures_of(blend)
    assert f"{maps['mean_share']['[CLS] and [SEP]']:.0%}" in figure.caption
    finding = blend.parts[""][1]  # the criterion's numbers in view; the table folded apart
    assert f"supply {maps['mean_added_share']['[CLS] and [SEP]']:.0%} of what" in finding
    assert "| [CLS] and [SEP] |" in blend.parts["intake"][0]
    figure.draw(THEME)
    rendered = render.pretrained_maps(maps)
    assert maps["weights_sha256"] in rendered.parts["provenance"][0]
    caveats = rendered.parts["counts"][0]
    assert "heads follow the referent" in rendered.parts[""][-1]
    assert f"Follow, by at least {maps['margin']:g}" in caveats
    assert "1 heads" not in caveats


def test_explorer_script_resolves_against_the_site_root():
    script = (Path(__file__).parents[1] / "docs/javascripts/attention-explorer.js").read_text()
    assert "load(root.dataset.src)" in script and "new URL(path, siteRoot)" in script
    assert 'new URL("..", document.currentScript.src)' in script


# Predicates: agreeing data holds, contrary data fails. Hand-made, small.

def a1_data(**changes):
    data = {"weight_min": 1e-3, "row_sum_error": 2e-16, "outputs_inside_values": True,
            "sdpa_difference": 9e-16}
    return {"a1-sentence-weights": {**data, **changes}}


def test_a1_predicate():
    assert section.a1_blend(a1_data()).status == HOLDS
    for contrary in ({"weight_min": -0.1}, {"row_sum_error": 1e-3},
                     {"outputs_inside_values": False}, {"sdpa_difference": 1e-4}):
        with pytest.raises(CriterionFailed):
            section.a1_blend(a1_data(**contrary))


def test_a2_predicate():
    cases = [{"n": 3, "d": 2, "score_difference": 0.0, "output_difference": 0.0}]
    agreeing = {"a2-loop-vs-product": {"cases": cases, "score_difference": 4e-16,
                                       "output_difference": 4e-16}}
    assert section.a2_one_product(agreeing).status == HOLDS
    contrary = {"a2-loop-vs-product": {"cases": cases, "score_difference": 0.5,
                                       "output_difference": 4e-16}}
    with pytest.raises(CriterionFailed):
        section.a2_one_product(contrary)


def a3_data(held_out=0.95, peak=1, follows=5):
    twin = {"adjective": "tired", "words": ["the", "animal", "it", "street"], "it": 2,
            "referent": 1, "layer_2": [[0.25] * 4, [0.25] * 4, [0.1] * 4, [0.25] * 4]}
    twin["layer_2"][2] = [0.0, 0.0, 0.0, 0.0]
    twin["layer_2"][2][peak] = 1.0
    pair = {"follows": follows, "opposite": 6, "follows_at_margin": 1, "opposite_at_margin": 1}
    return {"a3-trained-referent": {"held_out_accuracy": held_out,
                                    "control_held_out_accuracy": 0.6, "twins": [twin]},
            "a3-minilm-maps": {"pairs": [pair], "margin": 0.05, "consistent": 0,
                               "layers": 6, "heads": 12}}


def test_a3_predicate():
    verdict = section.a3_referent(a3_data())
    assert verdict.status == HOLDS and verdict.numbers["held-out accuracy"] == 0.95
    for contrary in (a3_data(held_out=0.6), a3_data(peak=3), a3_data(follows=80)):
        with pytest.raises(CriterionFailed):
            section.a3_referent(contrary)


def p1_data(special, animal=0.07, street=0.05, added=0.08):
    return {"a3-minilm-maps": {
        "pairs": [{"first": "animal", "second": "street"}], "layers": 6, "heads": 12,
        "heads_mostly_special": 20,
        "mean_share": {"[CLS] and [SEP]": special, "“animal”": animal, "“street”": street},
        "mean_added_share": {"[CLS] and [SEP]": added}}}


def test_p1_predicate():
    assert section.p1_raw_weights(p1_data(0.39)).status == HOLDS
    with pytest.raises(CriterionFailed):
        section.p1_raw_weights(p1_data(0.1))  # a tidy story: little on the special tokens
    with pytest.raises(CriterionFailed):
        section.p1_raw_weights(p1_data(0.3, animal=0.3, street=0.1))  # nouns get more
    with pytest.raises(CriterionFailed):  # what they supply follows their weight
        section.p1_raw_weights(p1_data(0.39, added=0.3))


def test_the_site_data_meets_the_criteria_with_room(table, loop, maps):
    """The seeded data passes each criterion by a clear margin (not by a hair)."""
    trained = experiments.trained_referent(**PARAMS["a3-trained-referent"])
    assert table["sdpa_difference"] * 100 < section.A1_TOLERANCE
    assert loop["score_difference"] * 100 < section.A2_TOLERANCE
    assert trained["held_out_accuracy"] >= section.A3_HELD_OUT + 0.03
    assert maps["mean_share"]["[CLS] and [SEP]"] >= section.P1_SPECIAL + 0.1
    assert (maps["mean_added_share"]["[CLS] and [SEP]"]
            <= section.P1_ADDED_RATIO * maps["mean_share"]["[CLS] and [SEP]"] / 2)
    data = {"a1-sentence-weights": table, "a2-loop-vs-product": loop,
            "a3-trained-referent": trained, "a3-minilm-maps": maps}
    for predicate in (section.a1_blend, section.a2_one_product, section.a3_referent,
                      section.p1_raw_weights):
        assert predicate(data).status == HOLDS
