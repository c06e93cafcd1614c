"""The one idea (O1), reused by the one-line version (L1): the dependency graphs of the
library's Elman RNN and attention, derived from the code, and their longest paths."""

from __future__ import annotations


def per_position_nodes(y) -> list | None:
    """The autograd nodes that made each position of y (n, d), if y was stacked from
    per-position results (as the RNN's states are); None if one operation made all rows."""
    node = y.grad_fn
    if type(node).__name__ == "StackBackward0" and node._saved_dim == 0:
        return [next_node for next_node, _ in node.next_functions]
    return None


def output_edges(y) -> set[tuple[int, int]]:
    """(s, t) when output t was computed directly from output s: walking back through the
    autograd graph from output t, the first per-position output met is s."""
    nodes = per_position_nodes(y)
    if nodes is None:
        return set()
    index = {node: t for t, node in enumerate(nodes)}
    edges = set()
    for t, start in enumerate(nodes):
        todo, seen = [n for n, _ in start.next_functions if n is not None], set()
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in index:  # an earlier output: a direct source; do not look past it
                edges.add((index[node], t))
                continue
            todo.extend(n for n, _ in node.next_functions if n is not None)
    return edges


def dependency_graph(model, x) -> dict:
    """The direct-dependency graph of a sequence model on input x (n, d).

    depends[t][s]: output t changes with input s (nonzero block of the autograd Jacobian).
    Edges: output -> output where the autograd graph shows one output computed from another;
    input s -> output t where t depends on s and no direct source output of t already does
    (that dependence arrives through the source). Longest path from input 0 to output n-1,
    as [kind, position] nodes ("x" an input, "y" an output), or None if there is none.
    """
    import torch

    n = x.shape[0]
    jacobian = torch.autograd.functional.jacobian(model, x)  # (n, d_out, n, d)
    depends = (jacobian.abs().amax(dim=(1, 3)) > 0).tolist()  # [t][s]
    y = model(x.detach().requires_grad_(True))
    between_outputs = output_edges(y)
    sources = {t: {s for s, u in between_outputs if u == t} for t in range(n)}
    from_inputs = {(s, t) for t in range(n) for s in range(n)
                   if depends[t][s] and not any(depends[u][s] for u in sources[t])}

    # Longest path, input 0 -> output n-1, over a graph that only points forward in time
    # or from inputs to outputs, so outputs in order is a valid topological order.
    best = {t: ([("x", 0), ("y", t)] if (0, t) in from_inputs else None) for t in range(n)}
    for t in range(n):
        for s in sorted(sources[t]):
            if best[s] is not None and (best[t] is None or len(best[s]) + 1 > len(best[t])):
                best[t] = best[s] + [("y", t)]
    return {"n": n, "depends": depends, "output_edges": sorted(between_outputs),
            "input_edges": sorted(from_inputs), "longest_path": best[n - 1]}


def models(n: int, d: int, seed: int):
    """The library's Elman RNN and self-attention (q = k = v = x) on one seeded input."""
    import torch

    from ..attention import attention_torch
    from ..rnn import elman_rnn_torch, init_elman_np

    weights = {k: torch.from_numpy(v) for k, v in init_elman_np(d, d, seed=seed).items()}
    x = torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return x, {
        "recurrence": lambda inp: elman_rnn_torch(inp, **weights),
        "attention": lambda inp: attention_torch(inp, inp, inp),
    }


def dependency_graphs(*, n: int, d: int, seed: int) -> dict:
    """Experiment: both dependency graphs on one seeded input of n positions, d features;
    edges as [source, target] pairs, longest paths as [kind, position] nodes."""
    x, named_models = models(n, d, seed)
    graphs = {}
    for name, model in named_models.items():
        graph = dependency_graph(model, x)
        graphs[name] = {
            "depends": graph["depends"],
            "output_edges": [list(edge) for edge in graph["output_edges"]],
            "input_edges": [list(edge) for edge in graph["input_edges"]],
            "longest_path": (None if graph["longest_path"] is None
                             else [list(node) for node in graph["longest_path"]]),
        }
    return {"n": n, "d": d, "seed": seed, "graphs": graphs}
