"""The transformer block (T1): equal to torch's encoder layer, its parts, its input checks;
its code has no loop over positions (O2); its key/value cache gives the causal forward's
result, fed in any pieces. The page's experiments, their rendering and the T1 verdict."""

from __future__ import annotations

import copy
import runpy

import numpy as np
import pytest
import torch

from attnsheet import TransformerBlock, causal_mask, elman_rnn_torch, parameter_breakdown
from attnsheet.transformer import KVCache
from attnsheet.evidence.render.transformer import block_check as block_check_text
from attnsheet.evidence.render.transformer import block_parity as parity_text
from attnsheet.evidence.render.transformer import (layer_diagram, layer_positions, linear_share,
                                                   param_breakdown)
from attnsheet.evidence.sections.transformer import PARITY_TOLERANCE, block_parts
from attnsheet.evidence.spec import HOLDS, CriterionFailed, Figure
from attnsheet.experiments import transformer as experiments
from attnsheet.experiments.transformer import loops_reachable, sublayer_calls

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


def test_block_check_experiment_finds_no_loop_and_one_call():
    data = experiments.block_check(n=7, d_model=16, n_heads=2, d_ff=32, seed=0)
    assert data["config"] == {"n": 7, "d_model": 16, "n_heads": 2, "d_ff": 32, "seed": 0}
    assert all(loops == [] for loops in data["block"]["inspected"].values())
    position_loops = data["rnn_control"]["position_loops"]
    assert any(loop.endswith("for t in range(n)") for loop in position_loops)
    assert data["one_call"]["output_shape"] == [7, 16]
    text = block_check_text(data).parts[""][0]
    assert "found 0 loops: no `for`, `while` or comprehension" in text
    assert "finds its loop over time steps" in text
    assert "ran each of its 8 sub-layers exactly once, on all 7 positions together" in text


# --- the page's experiments, their rendering, the T1 verdict ----------------------------------


@pytest.fixture(scope="module")
def parity():
    return experiments.block_parity(seed=0, tolerance=PARITY_TOLERANCE, d_model=32, n_heads=4,
                                    d_ff=64, n=6, batch=3)


@pytest.fixture(scope="module")
def breakdown():
    return experiments.param_breakdown(d_model=48, n_heads=6, d_ff=96)


def test_parity_experiment_covers_both_dtypes_and_echoes_its_parameters(parity):
    assert parity["config"] == {"d_model": 32, "n_heads": 4, "d_ff": 64, "n": 6, "batch": 3,
                                "seed": 0}
    assert [case["setting"] for case in parity["cases"]] == [
        f"{kind}, {setting}" for kind in ("float32", "float64")
        for setting in ("batch of 3", "one sequence", "causal mask")]
    assert max(case["max_abs_difference"] for case in parity["cases"]) < TOLERANCE
    text = parity_text(parity).parts[""][0]
    assert "d_model 32, 4 heads" in text and "in 6 settings" in text
    assert "within the 1e-05 the test allows" in text


def test_breakdown_experiment_counts_parts_and_linear_layers(breakdown):
    counts = {row["part"]: row["parameters"] for row in breakdown["parts"]}
    assert counts == parameter_breakdown(TransformerBlock(48, 6, 96))
    assert [row["modules"] for row in breakdown["parts"]][1] == ["ff_in", "ff_out"]
    assert breakdown["total"] == sum(counts.values())
    assert breakdown["in_linear_layers"] == breakdown["total"] - counts["layer norms"]


def test_breakdown_rendering_reads_every_number_from_the_data(breakdown):
    figure, text = param_breakdown(breakdown).parts[""]
    assert isinstance(figure, Figure)
    total, in_linear = breakdown["total"], breakdown["in_linear_layers"]
    assert f"(d_model 48, 6 heads, feed-forward width 96)" in figure.caption
    assert f"{in_linear:,} of the {total:,} parameters ({in_linear / total:.2%})" in text
    share = linear_share(breakdown).parts[""][0]
    assert f"{in_linear / total:.2%} of its {total:,} parameters" in share
    assert f"the other {total - in_linear:,} are the layer norms' scales and shifts" in share


@pytest.fixture(scope="module")
def graph():
    return experiments.layer_graph(n=5, d_model=8, n_heads=2, d_ff=16, seed=0)


def test_layer_graph_is_read_off_one_call(graph):
    """Every submodule with weights appears once, by name; the residual adds take the
    layer's input and the first add's result; nothing is drawn from the parameters."""
    labels = [n["label"] for n in graph["nodes"]]
    assert graph["nodes"][0] == {"id": 0, "label": "x", "kind": "input"}
    assert sorted(n["label"] for n in graph["nodes"] if n["kind"] in ("Linear", "LayerNorm")) \
        == sorted(name for name, m in TransformerBlock(8, 2, 16).named_children())
    assert labels.count("+") == 2 and labels.count("matmul") == 2
    first, second = [n["id"] for n in graph["nodes"] if n["kind"] == "add"]
    into = lambda node: {s for s, t in graph["edges"] if t == node}  # noqa: E731
    assert 0 in into(first) and first in into(second)
    assert all(s < t for s, t in graph["edges"])  # listed in a topological order
    assert graph["output_shape"] == [5, 8]


def test_layer_diagram_lays_out_and_captions_the_graph(graph):
    where = layer_positions(graph)
    rows = {label: where[n["id"]][1] for n in graph["nodes"] for label in [n["label"]]}
    assert rows["x"] == 0 and rows["norm_attention"] == 1
    assert {where[n["id"]][1] for n in graph["nodes"] if n["label"] in ("w_q", "w_k", "w_v")} \
        == {2}
    [figure] = layer_diagram(graph).parts[""]
    assert "8 submodules with learned weights" in figure.caption
    assert "5 fixed operations" in figure.caption and "2 residual additions" in figure.caption
    assert figure.alt.startswith("Diagram of one transformer layer, top to bottom: the input x;")
    assert "w_k and w_q and w_v side by side" in figure.alt


def test_t1_holds_on_the_block(parity, breakdown, graph):
    verdict = block_parts({"t1-block-parity": parity, "t1-param-breakdown": breakdown,
                           "t1-layer-graph": graph})
    assert verdict.status == HOLDS and verdict.numbers["settings"] == 6


def hand_made(worst=1e-7, ff=None, d=4, d_ff=8, graph=None):
    parts = {"attention projections": 4 * (d * d + d), "layer norms": 4 * d,
             "feed-forward": 2 * d * d_ff + d_ff + d if ff is None else ff}
    return {"t1-block-parity": {"cases": [{"setting": "float32", "max_abs_difference": worst}]},
            "t1-param-breakdown": {"config": {"d_model": d, "d_ff": d_ff},
                                   "parts": [{"part": p, "parameters": c}
                                             for p, c in parts.items()],
                                   "total": sum(parts.values())},
            "t1-layer-graph": graph or experiments.layer_graph(n=3, d_model=d, n_heads=2,
                                                               d_ff=d_ff, seed=0)}


def without_second_residual(graph):
    """The same graph with the feed-forward result no longer added back."""
    graph = copy.deepcopy(graph)
    first, second = [n["id"] for n in graph["nodes"] if n["kind"] == "add"]
    graph["edges"] = [e for e in graph["edges"] if e != [first, second]]
    return graph


def test_t1_holds_on_agreeing_data():
    assert block_parts(hand_made()).status == HOLDS


@pytest.mark.parametrize("changes, message", [
    ({"worst": 3e-4}, "differ by 3.0e-04"),
    ({"ff": 10}, "the parameters split as"),
    ({"graph": without_second_residual(experiments.layer_graph(
        n=3, d_model=4, n_heads=2, d_ff=8, seed=0))}, "does not add"),
], ids=["not torch's layer", "parts off the formulas", "a residual missing"])
def test_t1_fails_on_contrary_data(changes, message):
    with pytest.raises(CriterionFailed, match=message):
        block_parts(hand_made(**changes))


# --- the key/value cache: new positions only, same result as the causal forward ---------------


def fed_in_pieces(block, x, sizes):
    """forward_cached on consecutive slices of x (..., n, d_model) of the given sizes."""
    assert sum(sizes) == x.shape[-2]
    outs, cache, start = [], None, 0
    for size in sizes:
        out, cache = block.forward_cached(x[..., start:start + size, :], cache)
        assert out.shape == x[..., start:start + size, :].shape
        assert cache.length == start + size
        outs.append(out)
        start += size
    return torch.cat(outs, dim=-2), cache


@pytest.mark.parametrize("shape", [(12, 32), (3, 12, 32)], ids=["one sequence", "batch"])
@pytest.mark.parametrize("sizes", [[1] * 12, [5, 1, 3, 2, 1], [12]],
                         ids=["token by token", "mixed chunks", "all at once"])
def test_cached_pieces_equal_the_causal_forward(shape, sizes):
    block = seeded_block()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = block(x, causal_mask(shape[-2]))
        pieces, cache = fed_in_pieces(block, x, sizes)
        q, k, v = block.project_heads(block.norm_attention(x))
    assert (pieces - full).abs().max().item() < TOLERANCE
    # The cache holds exactly the keys and values of every position, in order.
    assert cache.keys.shape == (*shape[:-2], 4, shape[-2], 8)
    assert (cache.keys - k).abs().max().item() < TOLERANCE
    assert (cache.values - v).abs().max().item() < TOLERANCE


def test_cache_is_what_makes_it_causal():
    # Without the past in the cache, the last position sees only itself: a different answer.
    # So the equality above needs the cached keys and values, not just the new position.
    block, x = seeded_block(), torch.randn(6, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = block(x, causal_mask(6))
        alone, _ = block.forward_cached(x[-1:])
        unmasked = block(x)  # every position sees the future too
        in_two, _ = fed_in_pieces(block, x, [3, 3])
    assert (alone - full[-1:]).abs().max().item() > 1e-3
    # ...and the chunk's own mask matters: the unmasked forward differs before the last row.
    assert (unmasked[:-1] - full[:-1]).abs().max().item() > 1e-3
    assert (in_two - full).abs().max().item() < TOLERANCE


def test_forward_cached_computes_projections_for_new_positions_only():
    block, n_past = seeded_block(), 9
    x = torch.randn(n_past + 1, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _, cache = block.forward_cached(x[:n_past])
        seen: dict[str, list[int]] = {}  # sub-layer -> positions each of its calls saw

        def record(module, args, name):  # a pre-hook returning None leaves the input alone
            seen.setdefault(name, []).append(int(args[0].shape[-2]))

        handles = [module.register_forward_pre_hook(
                       lambda module, args, name=name: record(module, args, name))
                   for name, module in block.named_modules() if name]
        try:
            block.forward_cached(x[n_past:], cache)
        finally:
            for handle in handles:
                handle.remove()
    assert set(seen) == {name for name, _ in block.named_modules() if name}
    assert all(calls == [1] for calls in seen.values()), seen  # one position, not ten


def test_forward_cached_rejects_bad_input():
    block = seeded_block()
    x = torch.randn(2, 5, 32)
    with torch.no_grad():
        _, cache = block.forward_cached(x)
    with pytest.raises(ValueError, match=r"x_new's last dim must be d_model=32"):
        block.forward_cached(torch.randn(2, 1, 16), cache)
    with pytest.raises(ValueError, match=r"x_new must not be empty"):
        block.forward_cached(torch.randn(2, 0, 32), cache)
    with pytest.raises(ValueError, match=r"x_new must be \(n_new, d_model\) or"):
        block.forward_cached(torch.randn(1, 2, 1, 32))
    with pytest.raises(ValueError, match="cache must be a KVCache or None: got tuple"):
        block.forward_cached(x[:, :1], (cache.keys, cache.values))
    with pytest.raises(ValueError, match=r"cache.keys must have shape \(3, 4, 'n_past', 8\)"
                                         r".*another batch"):
        block.forward_cached(torch.randn(3, 1, 32), cache)  # batch 3, cache made for 2
    with pytest.raises(ValueError, match=r"cache.keys must have shape \(4, 'n_past', 8\)"):
        block.forward_cached(torch.randn(1, 32), cache)  # one sequence, batched cache
    with pytest.raises(ValueError, match=r"cache.keys must have shape .*another block"):
        other = seeded_block(d_model=32, n_heads=2, d_ff=64)  # 2 heads of 16, not 4 of 8
        other.forward_cached(x[:, :1], cache)
    with pytest.raises(ValueError, match="cache.keys and cache.values must have the same dtype"):
        block.forward_cached(x[:, :1], KVCache(cache.keys.double(), cache.values))
    with pytest.raises(ValueError, match="cache.keys and cache.values must have the same shape"):
        block.forward_cached(x[:, :1], KVCache(cache.keys, cache.values[:, :, :2]))
    with pytest.raises(ValueError, match="x_new contains non-finite"):
        block.forward_cached(torch.full((2, 1, 32), float("inf")), cache)
