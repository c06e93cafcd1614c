"""The transformer block (T1): equal to torch's encoder layer, its parts, its input checks;
and its code has no loop over positions (O2)."""

from __future__ import annotations

import runpy

import numpy as np
import pytest
import torch

from attnsheet import TransformerBlock, causal_mask, elman_rnn_torch, parameter_breakdown
from attnsheet.evidence.transformer import loops_reachable, sublayer_calls

from .helpers import SNIPPETS

TOLERANCE = 1e-5  # float32, library block vs torch's layer


@pytest.fixture(scope="module")
def layer_snippet():
    """The transformer page's script, run once in this process (it prints its table)."""
    return runpy.run_path(str(SNIPPETS / "transformer" / "layer.py"))


def seeded_block(d_model=32, n_heads=4, d_ff=64, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return TransformerBlock(d_model, n_heads, d_ff).to(dtype).eval()


# --- T1: the block is torch's encoder layer ---------------------------------------------------


@pytest.mark.parametrize("shape", [(7, 32), (3, 7, 32)], ids=["one sequence", "batch"])
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "causal"])
def test_block_equals_torch_encoder_layer(shape, masked):
    block = seeded_block()
    layer = block.to_torch_layer()
    assert isinstance(layer, torch.nn.TransformerEncoderLayer) and layer.norm_first
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    mask = causal_mask(shape[-2]) if masked else None
    with torch.no_grad():
        ours = block(x, mask)
        # torch's boolean src_mask means "blocked", the opposite of ours.
        theirs = layer(x, src_mask=None if mask is None else ~mask)
    assert ours.shape == x.shape
    assert (ours - theirs).abs().max().item() < TOLERANCE


def test_block_matches_torch_with_gradients_on():
    # With autograd on, torch's layer takes its slow (non-fused) path: check that one too.
    block = seeded_block(dtype=torch.float64)
    x = torch.randn(5, 32, dtype=torch.float64, requires_grad=True)
    gap = (block(x) - block.to_torch_layer()(x)).abs().max().item()
    assert gap < 1e-12


def test_snippet_block_equals_the_library_block(layer_snippet):
    snippet_block = layer_snippet["block"]
    library_block = TransformerBlock(64, 4, 256).eval()
    # Same parameter names on both sides, so strict loading proves the same architecture.
    library_block.load_state_dict(snippet_block.state_dict(), strict=True)
    x = torch.randn(2, 9, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        gap = (snippet_block(x) - library_block(x)).abs().max().item()
    assert gap < 1e-6
    assert layer_snippet["gap"] < TOLERANCE  # the snippet's own check against torch


def test_parameter_breakdown_follows_the_formulas():
    d_model, d_ff = 48, 96
    counts = parameter_breakdown(TransformerBlock(d_model, 6, d_ff))
    assert counts == {
        "attention projections": 4 * (d_model * d_model + d_model),  # w_q, w_k, w_v, w_o
        "feed-forward": d_model * d_ff + d_ff + d_ff * d_model + d_model,
        "layer norms": 2 * 2 * d_model,  # a scale and a shift each
    }


def test_snippet_counts_agree_with_the_library(layer_snippet):
    library = parameter_breakdown(TransformerBlock(64, 4, 256))
    assert list(layer_snippet["counts"].values()) == list(library.values())


def test_block_rejects_bad_input():
    block = seeded_block()
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        TransformerBlock(30, 4, 64)
    with pytest.raises(ValueError, match="d_ff must be a positive integer"):
        TransformerBlock(32, 4, 0)
    with pytest.raises(ValueError, match=r"last dim must be d_model=32: got x.shape=\(5, 16\)"):
        block(torch.randn(5, 16))
    with pytest.raises(ValueError, match="must have at least 2 dims"):
        block(torch.randn(32))
    with pytest.raises(ValueError, match="must be \\(n, d_model\\) or \\(batch, n, d_model\\)"):
        block(torch.randn(2, 2, 5, 32))
    with pytest.raises(ValueError, match="same dtype"):
        block(torch.randn(5, 32, dtype=torch.float64))
    with pytest.raises(ValueError, match="must be a torch.Tensor"):
        block(np.zeros((5, 32)))
    with pytest.raises(ValueError, match="non-finite"):
        block(torch.full((5, 32), float("nan")))
    with pytest.raises(ValueError, match="must be a bool array"):
        block(torch.randn(5, 32), torch.ones(5, 5))
    with pytest.raises(ValueError, match=r"shape \(n_q, n_k\)"):
        block(torch.randn(5, 32), causal_mask(4))
    with pytest.raises(ValueError, match="row 2 has no True"):
        mask = causal_mask(5)
        mask[2] = False
        block(torch.randn(5, 32), mask)


# --- O2: no loop over positions, all positions from one call ----------------------------------


def test_block_code_has_no_loops():
    report = loops_reachable(TransformerBlock.forward, TransformerBlock)
    inspected = report["inspected"]
    # The walk reaches the attention arithmetic, not only forward itself...
    assert {"attnsheet.transformer.TransformerBlock.forward",
            "attnsheet.transformer.TransformerBlock.attention",
            "attnsheet.transformer.TransformerBlock.feed_forward",
            "attnsheet.attention._attend_torch"} <= set(inspected)
    assert all(loops == [] for loops in inspected.values()), inspected
    assert {"w_q", "w_k", "w_v", "w_o", "ff_in", "ff_out"} <= set(report["torch_layers"])


def test_loop_check_finds_the_rnn_loop():
    # A check that can find nothing proves nothing: it must see the RNN's loop over time.
    loops = [loop for found in loops_reachable(elman_rnn_torch)["inspected"].values()
             for loop in found]
    assert any(loop.endswith("for t in range(n)") for loop in loops), loops


def test_one_call_runs_every_sublayer_once_on_all_positions():
    block, n = seeded_block(), 11
    with torch.no_grad():
        calls = sublayer_calls(block, torch.randn(n, 32))
    assert set(calls) == {name for name, _ in block.named_modules() if name}
    assert all(positions == [n] for positions in calls.values()), calls
