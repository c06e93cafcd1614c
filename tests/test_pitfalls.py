"""Order and masks (P2): the block ignores order until positions are added, and a causal
mask is what makes it left-to-right."""

from __future__ import annotations

import runpy

import numpy as np
import pytest
import torch

from attnsheet import TransformerBlock, attention_np, causal_mask, sinusoidal_positions
from attnsheet.evidence.pitfalls import dependency_strength, permutation_gaps

from .helpers import SNIPPETS


def test_block_ignores_order_without_positions_only():
    gaps = permutation_gaps(n=6, d_model=16, n_heads=2, d_ff=32, seed=3)["gaps"]
    assert gaps["no positions"] < 1e-12
    assert gaps["sinusoidal positions added"] > 1e-3
    assert gaps["causal mask, no positions"] > 1e-3


def test_causal_mask_makes_dependencies_lower_triangular():
    torch.manual_seed(0)
    block = TransformerBlock(8, 2, 16).double().eval()
    x = torch.randn(6, 8, dtype=torch.float64)
    free = dependency_strength(block, x) > 0
    masked = dependency_strength(block, x, causal_mask(6)) > 0
    assert free.all()
    assert (masked == np.tril(np.ones((6, 6), dtype=bool))).all()


def test_sinusoidal_positions():
    pe = sinusoidal_positions(50, 16, dtype=torch.float64)
    assert pe.shape == (50, 16)
    assert torch.equal(pe[0, 0::2], torch.zeros(8)) and torch.equal(pe[0, 1::2], torch.ones(8))
    ones = torch.ones(50, 8, dtype=torch.float64)
    assert torch.allclose(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, ones)  # sin^2 + cos^2
    assert len({tuple(row) for row in pe.tolist()}) == 50  # every position differs
    with pytest.raises(ValueError, match="d_model must be even"):
        sinusoidal_positions(4, 5)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        sinusoidal_positions(0, 4)


def test_permutation_snippet_agrees_with_the_library():
    namespace = runpy.run_path(str(SNIPPETS / "pitfalls" / "permutation.py"))
    n, d = namespace["n"], namespace["d"]
    np.testing.assert_allclose(namespace["positions"](n, d),
                               sinusoidal_positions(n, d, dtype=torch.float64).numpy(),
                               rtol=0, atol=1e-12)
    x, w_q, w_k, w_v = (namespace[k] for k in ("x", "w_q", "w_k", "w_v"))
    expected = attention_np(x @ w_q, x @ w_k, x @ w_v)
    np.testing.assert_allclose(namespace["self_attention"](x), expected, rtol=0, atol=1e-12)
