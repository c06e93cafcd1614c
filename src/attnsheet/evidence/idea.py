"""Evidence for the one idea (O1), reused by the one-line version (L1): the dependency graphs
of the library's Elman RNN and attention, derived from the code, and their longest paths."""

from __future__ import annotations

import json
from pathlib import Path

from .figures import figure_markdown, save_light_dark, write_fragment


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
    (that dependence arrives through the source). Longest path from input 0 to output n-1.
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


def path_text(path, output_letter: str) -> str:
    return " → ".join(f"{'x' if kind == 'x' else output_letter}{i}" for kind, i in path)


def dependency_figure(site_dir: Path, include_dir: Path, *, n: int, d: int,
                      seed: int) -> list[Path]:
    """Both dependency graphs, drawn from the code, with the longest path highlighted."""
    x, named_models = models(n, d, seed)
    graphs = {name: dependency_graph(model, x) for name, model in named_models.items()}
    letters = {"recurrence": "h", "attention": "y"}
    rnn, attn = graphs["recurrence"], graphs["attention"]
    rnn_steps, attn_steps = len(rnn["longest_path"]) - 1, len(attn["longest_path"]) - 1
    handoffs = len(rnn["longest_path"]) - 2  # edges between two states
    if (rnn_steps, handoffs, attn_steps) != (n, n - 1, 1):
        raise ValueError(f"unexpected longest paths: {rnn['longest_path']}, "
                         f"{attn['longest_path']}")

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes_row = plt.subplots(2, 1, figsize=(6.8, 5.4))
        for axes, (name, graph) in zip(axes_row, graphs.items()):
            letter = letters[name]
            on_path = set(zip(graph["longest_path"], graph["longest_path"][1:]))
            place = {("x", i): (i, 0.0) for i in range(n)}
            place.update({("y", i): (i, 1.0) for i in range(n)})
            edges = ([(("x", s), ("y", t)) for s, t in graph["input_edges"]]
                     + [(("y", s), ("y", t)) for s, t in graph["output_edges"]])
            for start, end in sorted(edges, key=lambda e: e in on_path):
                highlight = (start, end) in on_path
                (x0, y0), (x1, y1) = place[start], place[end]
                axes.annotate(
                    "", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "shrinkA": 13, "shrinkB": 13,
                                "color": colors["accent"] if highlight else colors["muted"],
                                "lw": 2.2 if highlight else 0.8,
                                "alpha": 1.0 if highlight else 0.75,
                                "mutation_scale": 12},
                )
            path_nodes = set(graph["longest_path"])
            for (kind, i), (px, py) in place.items():
                label = f"{'x' if kind == 'x' else letter}$_{{{i}}}$"
                axes.text(px, py, label, ha="center", va="center", fontsize=12,
                          color=colors["text"],
                          bbox={"boxstyle": "circle,pad=0.3", "facecolor": colors["grid"],
                                "edgecolor": colors["accent"] if (kind, i) in path_nodes
                                else colors["muted"],
                                "linewidth": 1.6 if (kind, i) in path_nodes else 0.8})
            steps = len(graph["longest_path"]) - 1
            axes.set_title(f"{name}: {len(edges)} edges, longest path {steps} "
                           f"edge{'s' if steps > 1 else ''}", fontsize=12)
            for row, text in ((0.0, "inputs"), (1.0, "outputs")):
                axes.text(-0.6, row, text, ha="right", va="center", fontsize=11,
                          color=colors["muted"])
            axes.set_xlim(-1.9, n - 0.5)
            axes.set_ylim(-0.25, 1.25)
            axes.axis("off")
        figure.tight_layout()
        return figure

    stem = "figures/idea/dependency-graphs"
    files = save_light_dark(draw, site_dir, stem)
    rnn_deps = sum(map(sum, rnn["depends"]))
    attn_deps = sum(map(sum, attn["depends"]))
    rnn_path, attn_path = path_text(rnn["longest_path"], "h"), path_text(attn["longest_path"], "y")
    alt = (
        f"Two dependency graphs over {n} positions, drawn from the library's code. Recurrence: "
        f"each state reads its own input and the state before it, so the longest path, "
        f"{rnn_path}, has {rnn_steps} edges, {handoffs} of them hand-offs from state to state. "
        f"Attention: every output reads every input directly, so the longest path, "
        f"{attn_path}, is {attn_steps} edge."
    )
    caption = (
        f"Derived, not drawn by hand: the autograd Jacobian of the library's Elman RNN and of "
        f"its attention on {n} positions says which inputs each output depends on "
        f"({rnn_deps} of {n * n} pairs for the RNN, the lower triangle; {attn_deps} of "
        f"{n * n} for attention), and autograd's record of the computation says which outputs "
        f"were computed from which. Highlighted, the longest path from the first input to the "
        f"last output: {rnn_path} for recurrence, {handoffs} hand-offs (n − 1) one after "
        f"another; {attn_path} for attention, one direct link."
    )
    data = site_dir / "data" / "idea" / "dependency-graphs.json"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(json.dumps(graphs, indent=1) + "\n", encoding="utf-8")
    fragment = write_fragment(include_dir, "figures/idea/dependency-graphs.md",
                              figure_markdown(stem, alt, caption))
    return files + [fragment, data]
