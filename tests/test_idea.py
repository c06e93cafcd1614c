"""The dependency graphs of the one-idea page (O1), derived from the library's models; the
O1 and O2 verdicts."""

from __future__ import annotations

import pytest
import torch

from attnsheet import attention_torch, causal_mask, elman_rnn_torch, init_elman_np
from attnsheet.evidence.render.idea import dependency_figure
from attnsheet.evidence.sections.idea import no_loop_one_call, path_counts
from attnsheet.evidence.spec import HOLDS, CriterionFailed, Figure
from attnsheet.experiments.idea import dependency_graph, dependency_graphs


def test_dependency_graphs_of_rnn_and_attention():
    n, d = 5, 3
    x = torch.randn(n, d, dtype=torch.float64)
    weights = {k: torch.from_numpy(v) for k, v in init_elman_np(d, d, seed=0).items()}
    rnn = dependency_graph(lambda inp: elman_rnn_torch(inp, **weights), x)
    assert rnn["output_edges"] == [(t - 1, t) for t in range(1, n)]  # state to state
    assert rnn["input_edges"] == [(t, t) for t in range(n)]  # each state reads its own input
    assert len(rnn["longest_path"]) - 2 == n - 1  # hand-offs between states

    attn = dependency_graph(lambda inp: attention_torch(inp, inp, inp), x)
    assert attn["output_edges"] == [] and len(attn["input_edges"]) == n * n
    assert len(attn["longest_path"]) - 1 == 1


def test_dependency_graph_tells_a_chain_from_a_causal_mask():
    # Causal attention has the RNN's lower-triangular Jacobian, but no chain: the graph must
    # come from the computation, not from the Jacobian alone.
    n = 5
    x = torch.randn(n, 3, dtype=torch.float64)
    graph = dependency_graph(lambda inp: attention_torch(inp, inp, inp, causal_mask(n)), x)
    assert graph["output_edges"] == []
    assert len(graph["input_edges"]) == n * (n + 1) // 2
    assert len(graph["longest_path"]) - 1 == 1


# --- the experiment, its rendering and the O1 verdict ----------------------------------------


@pytest.fixture(scope="module")
def graphs():
    return dependency_graphs(n=4, d=3, seed=0)


def test_experiment_returns_plain_data_and_echoes_its_parameters(graphs):
    assert (graphs["n"], graphs["d"], graphs["seed"]) == (4, 3, 0)
    rnn = graphs["graphs"]["recurrence"]
    assert rnn["longest_path"] == [["x", 0], ["y", 0], ["y", 1], ["y", 2], ["y", 3]]
    assert rnn["output_edges"] == [[0, 1], [1, 2], [2, 3]]
    assert graphs["graphs"]["attention"]["longest_path"] == [["x", 0], ["y", 3]]


def test_figure_caption_reads_the_counts_from_the_data(graphs):
    figure = dependency_figure(graphs).parts[""][0]
    assert isinstance(figure, Figure)
    assert ("x0 → h0 → h1 → h2 → h3 for recurrence, 3 hand-offs between positions (n − 1)"
            in figure.caption)
    assert "(10 of 16 pairs for the RNN, the lower triangle; 16 of 16 for attention)" \
        in figure.caption
    assert "x0 → y3, is 1 hand-off." in figure.alt


def test_o1_holds_on_the_models_graphs(graphs):
    verdict = path_counts({"o1-dependency-graphs": graphs})
    assert verdict.status == HOLDS
    assert verdict.numbers == {"n": 4, "rnn hand-offs": 3, "attention hand-offs": 1}


def small_graphs(rnn_path, attn_path, n=3):
    lower = [[s <= t for s in range(n)] for t in range(n)]
    full = [[True] * n for _ in range(n)]
    return {"o1-dependency-graphs": {"n": n, "graphs": {
        "recurrence": {"depends": lower, "longest_path": rnn_path},
        "attention": {"depends": full, "longest_path": attn_path}}}}


CHAIN = [["x", 0], ["y", 0], ["y", 1], ["y", 2]]


def test_o1_holds_on_a_chain_and_a_direct_link():
    assert path_counts(small_graphs(CHAIN, [["x", 0], ["y", 2]])).status == HOLDS


@pytest.mark.parametrize("rnn_path, attn_path, message", [
    ([["x", 0], ["y", 2]], [["x", 0], ["y", 2]], "hand-offs between positions"),  # no chain
    (CHAIN, [["x", 0], ["y", 1], ["y", 2]], "attention's longest path has 2 hand-offs"),
    (CHAIN, None, "does not run from input 0"),
], ids=["rnn without a chain", "attention with a chain", "no path"])
def test_o1_fails_on_contrary_paths(rnn_path, attn_path, message):
    with pytest.raises(CriterionFailed, match=message):
        path_counts(small_graphs(rnn_path, attn_path))


def test_o1_fails_when_the_rnn_depends_on_later_inputs():
    data = small_graphs(CHAIN, [["x", 0], ["y", 2]])
    data["o1-dependency-graphs"]["graphs"]["recurrence"]["depends"][0][2] = True
    with pytest.raises(CriterionFailed, match="up to their position"):
        path_counts(data)


# --- O2: no loop, one call -------------------------------------------------------------------


def block_check_data(block_loops=(), rnn_position_loops=("rnn.py:89 for t in range(n)",),
                     calls=None, n=4):
    calls = {"w_q": [n], "ff_in": [n]} if calls is None else calls
    return {"o2-block-check": {
        "config": {"n": n, "d_model": 8},
        "block": {"inspected": {"transformer.TransformerBlock.forward": list(block_loops)}},
        "rnn_control": {"inspected": {"rnn.elman_rnn_torch": list(rnn_position_loops)},
                        "position_loops": list(rnn_position_loops)},
        "one_call": {"n": n, "output_shape": [n, 8], "sublayer_calls": calls}}}


def test_o2_holds_without_a_loop_and_with_one_call():
    verdict = no_loop_one_call(block_check_data())
    assert verdict.status == HOLDS and verdict.numbers["sub-layers"] == 2


@pytest.mark.parametrize("changes, message", [
    ({"block_loops": ["transformer.py:1 for t in range(n)"]}, "the block's code has loops"),
    ({"rnn_position_loops": []}, "missed the RNN's loop"),
    ({"calls": {"w_q": [1, 1, 1, 1], "ff_in": [4]}}, "did not handle all 4 positions"),
], ids=["a loop in the block", "a blind check", "a call per position"])
def test_o2_fails_on_contrary_data(changes, message):
    with pytest.raises(CriterionFailed, match=message):
        no_loop_one_call(block_check_data(**changes))


def test_o2_holds_on_the_library_block():
    from attnsheet.experiments.transformer import block_check

    data = block_check(n=5, d_model=16, n_heads=2, d_ff=32, seed=0)
    assert no_loop_one_call({"o2-block-check": data}).status == HOLDS
