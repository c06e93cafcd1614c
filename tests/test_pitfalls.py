"""Order and masks (P2): the block ignores order until positions are added, and a causal
mask is what makes it left-to-right; the P2 and P3 verdicts."""

from __future__ import annotations

import runpy

import numpy as np
import pytest
import torch

from attnsheet import TransformerBlock, attention_np, causal_mask, sinusoidal_positions
from attnsheet.evidence.render.pitfalls import causal_figure, positions_check as positions_text
from attnsheet.evidence.sections.pitfalls import (
    POSITIONS_TOLERANCE,
    linear_majority,
    order_and_mask,
)
from attnsheet.evidence.spec import HOLDS, CriterionFailed
from attnsheet.experiments.pitfalls import (
    causal_dependencies,
    dependency_strength,
    permutation_gaps,
    positions_check,
)

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


# --- the experiments, their rendering and the P2 verdict --------------------------------------


@pytest.fixture(scope="module")
def p2_data():
    return {
        "p2-positions-check": positions_check(n=5, d_model=8, n_heads=2, d_ff=16, seed=1,
                                              tolerance=POSITIONS_TOLERANCE),
        "p2-causal-dependencies": causal_dependencies(n=5, d_model=8, n_heads=2, d_ff=16,
                                                      seed=1),
    }


def test_p2_holds_on_the_library_block(p2_data):
    verdict = order_and_mask(p2_data)
    assert verdict.status == HOLDS and verdict.numbers["nonzero above the diagonal"] == 0


def test_p2_renderings_read_the_data(p2_data):
    check = p2_data["p2-positions-check"]
    text = positions_text(check).parts[""][0]
    assert f"shuffled into the order {check['order']}" in text
    assert "(5 tokens, d_model 8, 2 heads, float64)" in text
    assert [line.rsplit("|", 2)[1].strip() for line in text.splitlines()[-3:]] == \
        ["yes", "no", "no"]
    figure = causal_figure(p2_data["p2-causal-dependencies"]).parts[""][0]
    assert "without a mask all 25 pairs depend; with a causal mask 15, the lower triangle" \
        in figure.alt
    assert "The causal mask leaves 15 of 25 pairs: output <em>t</em> reads inputs 0 to" \
        in figure.caption


def small_p2(no_positions=1e-16, positions=0.5, causal=0.5, above=0.0, free_zero=False):
    masked = [[0.3, above], [0.2, 0.4]]
    free = [[0.3, 0.0 if free_zero else 0.1], [0.2, 0.4]]
    return {"p2-positions-check": {"cases": [
                {"case": "no positions", "gap": no_positions},
                {"case": "sinusoidal positions added", "gap": positions},
                {"case": "causal mask, no positions", "gap": causal}]},
            "p2-causal-dependencies": {"panels": [
                {"name": "no mask (encoder)", "strength": free},
                {"name": "causal mask", "strength": masked}]}}


def test_p2_holds_on_agreeing_data():
    assert order_and_mask(small_p2()).status == HOLDS


@pytest.mark.parametrize("changes, message", [
    ({"no_positions": 1e-3}, "permutation check gave"),
    ({"positions": 0.0}, "permutation check gave"),
    ({"causal": 1e-12}, "permutation check gave"),
    ({"above": 1e-300}, "depends on a later input"),
    ({"free_zero": True}, "without a mask some output does not depend"),
], ids=["order seen without positions", "positions ignored", "mask ignored",
        "mask leaks the future", "encoder blind to an input"])
def test_p2_fails_on_contrary_data(changes, message):
    with pytest.raises(CriterionFailed, match=message):
        order_and_mask(small_p2(**changes))


# --- P3: most parameters sit in linear layers ---------------------------------------------------


def small_breakdown(in_linear, norms=8, total=100):
    return {"t1-param-breakdown": {"parts": [{"part": "layer norms", "parameters": norms}],
                                   "total": total, "in_linear_layers": in_linear}}


def test_p3_holds_when_linear_layers_hold_most():
    verdict = linear_majority(small_breakdown(92))
    assert verdict.status == HOLDS and verdict.numbers["share in linear layers"] == 0.92


@pytest.mark.parametrize("in_linear, norms, message", [
    (40, 60, "only 40 of 100 parameters sit in linear layers"),
    (90, 8, "10 parameters sit outside linear layers, not the layer norms' 8"),
], ids=["a minority", "something else outside"])
def test_p3_fails_on_contrary_data(in_linear, norms, message):
    with pytest.raises(CriterionFailed, match=message):
        linear_majority(small_breakdown(in_linear, norms))
