"""Chunked and sliding-window attention against plain attention and torch's SDPA, and errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attnsheet import attention_torch, chunked_attention_torch, sliding_window_attention_torch

from .test_attention import MASKS, SHAPES, as_tensor, causal_mask, random_mask, seed_for

ATOL_64 = 1e-10  # float64: only the order of the additions differs
ATOL_32 = 1e-5  # float32: the tolerance the cost page promises


def random_qkv(rng, batch, n_q, n_k, d, d_v, dtype=torch.float64):
    return (torch.tensor(rng.standard_normal(batch + shape), dtype=dtype)
            for shape in ((n_q, d), (n_k, d), (n_k, d_v)))


def band(n, window, causal=False):
    """The sliding window as an explicit mask: key j is visible from query i."""
    offset = torch.arange(n)[:, None] - torch.arange(n)  # i - j
    return (offset < window) & ((offset >= 0) if causal else (offset > -window))


# --- chunked == plain == SDPA ------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 1000])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("batch, n_q, n_k, d, d_v", SHAPES)
def test_chunked_matches_plain_and_sdpa(batch, n_q, n_k, d, d_v, mask_kind, chunk_size):
    rng = np.random.default_rng(seed_for(batch, n_q, n_k, d, d_v, mask_kind, chunk_size))
    q, k, v = random_qkv(rng, batch, n_q, n_k, d, d_v)
    mask = as_tensor({
        "none": None,
        "random": random_mask(rng, (n_q, n_k)),
        "random_batched": random_mask(rng, batch + (n_q, n_k)),
        "causal": causal_mask(n_q, n_k),
    }[mask_kind])
    chunked = chunked_attention_torch(q, k, v, mask, chunk_size=chunk_size)
    torch.testing.assert_close(chunked, attention_torch(q, k, v, mask), rtol=0, atol=ATOL_64)
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(chunked, sdpa, rtol=0, atol=ATOL_64)
    if mask_kind == "causal":  # the causal flag builds the same mask one block at a time
        flag = chunked_attention_torch(q, k, v, chunk_size=chunk_size, causal=True)
        torch.testing.assert_close(flag, chunked, rtol=0, atol=ATOL_64)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n, chunk_size", [(300, 64), (257, 256), (64, 7)])
def test_chunked_float32_within_the_promised_tolerance(n, chunk_size, causal):
    rng = np.random.default_rng(seed_for(n, chunk_size, causal))
    q, k, v = random_qkv(rng, (2, 3), n, n, 64, 64, dtype=torch.float32)
    chunked = chunked_attention_torch(q, k, v, chunk_size=chunk_size, causal=causal)
    assert chunked.dtype == torch.float32
    sdpa = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(chunked, sdpa, rtol=0, atol=ATOL_32)


def test_chunked_handles_a_block_where_a_row_sees_nothing_yet():
    # Query 0 may only see the last key, so its first blocks are all masked (max = -inf).
    rng = np.random.default_rng(5)
    q, k, v = random_qkv(rng, (), 4, 9, 3, 2)
    mask = torch.ones(4, 9, dtype=torch.bool)
    mask[0, :-1] = False
    chunked = chunked_attention_torch(q, k, v, mask, chunk_size=2)
    assert torch.isfinite(chunked).all()
    torch.testing.assert_close(chunked, attention_torch(q, k, v, mask), rtol=0, atol=ATOL_64)
    torch.testing.assert_close(chunked[0], v[-1], rtol=0, atol=ATOL_64)


def test_chunked_gradients_match_plain():
    rng = np.random.default_rng(6)
    leaves = [t.requires_grad_() for t in random_qkv(rng, (2,), 5, 7, 3, 4)]
    mask = as_tensor(random_mask(rng, (5, 7)))
    assert torch.autograd.gradcheck(
        lambda q, k, v: chunked_attention_torch(q, k, v, mask, chunk_size=3), leaves)


def test_chunked_memory_does_not_hold_the_table():
    # Score blocks are (n_q, chunk_size): the largest temporary is far below n_q * n_k.
    seen = []

    class Watch(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            result = func(*args, **(kwargs or {}))
            if isinstance(result, torch.Tensor):
                seen.append(result.numel())
            return result

    q, k, v = torch.randn(3, 256, 8).unbind(0)
    with Watch():
        chunked_attention_torch(q, k, v, chunk_size=16, causal=True)
    assert max(seen) == 256 * 16


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("query_chunk_size, chunk_size", [(1, 1), (2, 3), (3, 2), (5, 4),
                                                           (64, 7), (4096, 4096)])
def test_chunked_tiles_of_any_shape_match_plain(query_chunk_size, chunk_size, causal):
    rng = np.random.default_rng(seed_for(query_chunk_size, chunk_size, causal))
    q, k, v = random_qkv(rng, (2,), 11, 11, 4, 3)
    tiled = chunked_attention_torch(q, k, v, chunk_size=chunk_size,
                                    query_chunk_size=query_chunk_size, causal=causal)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(tiled, expected, rtol=0, atol=ATOL_64)


def _scores_computed(function) -> int:
    """How many scores a call computes: the elements of its matrix products' outputs that
    have a key axis (every product but the one with the values)."""
    counted = []

    class Watch(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            result = func(*args, **(kwargs or {}))
            if func in (torch.bmm, torch.matmul, torch.Tensor.__matmul__) and \
                    isinstance(args[1], torch.Tensor) and args[1].shape[-2] == 8:  # (.., d, keys)
                counted.append((kwargs or {}).get("out", result).numel())
            return result

    with Watch():
        function()
    return sum(counted)


def test_causal_chunked_skips_the_tiles_in_the_future():
    q, k, v = torch.randn(3, 256, 8).unbind(0)

    def run(causal):
        return _scores_computed(lambda: chunked_attention_torch(
            q, k, v, chunk_size=32, query_chunk_size=32, causal=causal))
    full, causal = run(False), run(True)
    assert full == 256 * 256
    assert causal == 256 * 256 // 2 + 8 * 32 * 32 // 2  # the lower half, diagonal tiles whole


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("window", [4, 16, 33])
def test_sliding_window_scores_little_more_than_its_band(window, causal):
    n = 256
    q, k, v = torch.randn(3, n, 8).unbind(0)
    computed = _scores_computed(
        lambda: sliding_window_attention_torch(q, k, v, window=window, causal=causal))
    band = n * (window if causal else 2 * window - 1)  # keys each query may see, edges aside
    assert computed <= 1.25 * band + n  # the last block's padding rows


def test_overflow_gets_the_same_answer_from_every_variant():
    # Scores near 1e39 overflow float32: every variant refuses, naming the scores.
    q = torch.full((4, 8), 2e19)
    message = r"scores \(q @ k\^T / sqrt\(d\)\) contains non-finite values"
    for variant in (lambda: attention_torch(q, q, q),
                    lambda: chunked_attention_torch(q, q, q, chunk_size=2),
                    lambda: sliding_window_attention_torch(q, q, q, window=2)):
        with pytest.raises(ValueError, match=message):
            variant()


@settings(max_examples=60, deadline=None)
@given(scale=st.sampled_from([1e-30, 1.0, 1e3, 1e18, 1e19, 1e20]), n=st.integers(1, 9),
       seed=st.integers(0, 2**16))
def test_every_variant_gives_the_same_answer_or_the_same_refusal(scale, n, seed):
    """Plain, chunked and a sliding window wider than the sequence compute the same thing:
    for inputs small, ordinary and near float32's limit, they agree or all refuse alike."""
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(n, 4, generator=generator) * scale for _ in range(3))
    variants = {
        "plain": lambda: attention_torch(q, k, v),
        "chunked": lambda: chunked_attention_torch(q, k, v, chunk_size=2, query_chunk_size=3),
        "sliding": lambda: sliding_window_attention_torch(q, k, v, window=n),
    }
    answers = {}
    for name, variant in variants.items():
        try:
            answers[name] = variant()
        except ValueError as error:
            # What was refused, without the counts (rounding differs between variants).
            answers[name] = re.sub(r" \(\d+ NaN, \d+ inf\).*", "", str(error))
    kinds = {name: isinstance(a, str) for name, a in answers.items()}
    assert len(set(kinds.values())) == 1, f"some refused, some answered: {answers}"
    if kinds["plain"]:
        assert len(set(answers.values())) == 1, answers
    else:
        for name in ("chunked", "sliding"):
            torch.testing.assert_close(answers[name], answers["plain"], rtol=1e-4,
                                       atol=1e-5 * scale)


# --- sliding window ------------------------------------------------------------------------


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n, window", [(1, 1), (7, 1), (7, 2), (10, 3), (33, 8), (16, 16),
                                       (40, 100)])
def test_sliding_window_equals_attention_with_a_band_mask(n, window, causal):
    rng = np.random.default_rng(seed_for(n, window, causal))
    q, k, v = random_qkv(rng, (2,), n, n, 4, 3)
    local = sliding_window_attention_torch(q, k, v, window=window, causal=causal)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=band(n, window, causal))
    torch.testing.assert_close(local, expected, rtol=0, atol=ATOL_64)


@pytest.mark.parametrize("extra", [0, 1, 50])
def test_sliding_window_as_wide_as_the_sequence_is_full_attention(extra):
    rng = np.random.default_rng(seed_for("full", extra))
    n = 12
    q, k, v = random_qkv(rng, (3,), n, n, 5, 5)
    local = sliding_window_attention_torch(q, k, v, window=n + extra)
    torch.testing.assert_close(local, attention_torch(q, k, v), rtol=0, atol=ATOL_64)
    causal = sliding_window_attention_torch(q, k, v, window=n + extra, causal=True)
    torch.testing.assert_close(causal, F.scaled_dot_product_attention(q, k, v, is_causal=True),
                               rtol=0, atol=ATOL_64)


def test_sliding_window_is_not_full_attention_when_narrow():
    rng = np.random.default_rng(8)
    q, k, v = random_qkv(rng, (), 64, 64, 4, 4)
    local = sliding_window_attention_torch(q, k, v, window=4)
    assert (local - attention_torch(q, k, v)).abs().max() > 0.1


def test_sliding_window_output_ignores_keys_beyond_the_window():
    rng = np.random.default_rng(9)
    q, k, v = random_qkv(rng, (), 20, 20, 4, 4)
    before = sliding_window_attention_torch(q, k, v, window=3)
    k2, v2 = k.clone(), v.clone()
    k2[15:], v2[15:] = 100.0, 100.0  # far from queries 0..11
    after = sliding_window_attention_torch(q, k2, v2, window=3)
    torch.testing.assert_close(before[:12], after[:12], rtol=0, atol=0)


# --- errors --------------------------------------------------------------------------------

Q = torch.zeros(4, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"chunk_size": 0}, "chunk_size must be a positive integer: got 0"),
    ({"chunk_size": -3}, "chunk_size must be a positive integer: got -3"),
    ({"chunk_size": 2.5}, "chunk_size must be a positive integer: got 2.5"),
    ({"chunk_size": True}, "chunk_size must be a positive integer: got True"),
    ({"causal": 1}, "causal must be True or False: got 1"),
    ({"causal": True, "mask": torch.ones(4, 4, dtype=torch.bool)},
     "pass mask or causal=True, not both"),
    ({"mask": torch.zeros(4, 4, dtype=torch.bool)}, "mask row 0 has no True"),
    ({"k": torch.zeros(4, 2)}, "q and k must have the same feature size d"),
    ({"q": np.zeros((4, 3))}, "q must be a torch.Tensor"),
    ({"v": torch.full((4, 3), float("nan"))}, "v contains non-finite values"),
])
def test_chunked_errors(kwargs, message):
    args = {"q": Q, "k": Q, "v": Q, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        chunked_attention_torch(**args)


@pytest.mark.parametrize("kwargs, message", [
    ({"window": 0}, "window must be a positive integer: got 0"),
    ({"window": -1}, "window must be a positive integer: got -1"),
    ({"window": 1.5}, "window must be a positive integer: got 1.5"),
    ({"window": None}, "window must be a positive integer: got None"),
    ({"causal": "yes"}, "causal must be True or False: got 'yes'"),
    ({"k": torch.zeros(5, 3), "v": torch.zeros(5, 3)},
     "q and k must have the same number of positions n"),
    ({"q": torch.zeros(0, 3)}, "q must not be empty"),
    ({"v": torch.zeros(4, 3, dtype=torch.float64)}, "q and v must have the same dtype"),
])
def test_sliding_window_errors(kwargs, message):
    args = {"q": Q, "k": Q, "v": Q, "window": 2, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sliding_window_attention_torch(**args)


def test_overflow_is_an_error_not_nan():
    big = torch.full((3, 2), 3e38)
    with pytest.raises(ValueError, match="overflowed"):
        chunked_attention_torch(big, big, big, chunk_size=2)
    with pytest.raises(ValueError, match="overflowed"):
        sliding_window_attention_torch(big, big, big, window=2)
