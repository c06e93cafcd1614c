"""The dependency graphs of the one-idea page (O1), derived from the library's models."""

from __future__ import annotations

import torch

from attnsheet import attention_torch, causal_mask, elman_rnn_torch, init_elman_np
from attnsheet.evidence.idea import dependency_graph


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
