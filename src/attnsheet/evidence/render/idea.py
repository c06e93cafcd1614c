"""Renderers of the one idea's evidence (O1), reused by the one-line version (L1): the two
dependency graphs with their longest paths highlighted."""

from __future__ import annotations

from ..spec import Figure, Rendered

LETTERS = {"recurrence": "h", "attention": "y"}  # each model's outputs, in drawing order


# A reading shared with the claims' predicates (sections/idea.py), as on the other pages.
def hand_offs(path) -> int:
    """Edges of a path that carry information from one position to another (an input
    entering its own position's state is not one)."""
    return sum(1 for (_, i), (_, j) in zip(path, path[1:]) if int(i) != int(j))


def _node(node) -> tuple[str, int]:
    kind, i = node
    return kind, int(i)


def path_text(path, output_letter: str) -> str:
    return " → ".join(f"{'x' if kind == 'x' else output_letter}{i}" for kind, i in path)


def _draw(graphs: dict, n: int):
    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes_row = plt.subplots(2, 1, figsize=(6.8, 5.4))
        for axes, (name, letter) in zip(axes_row, LETTERS.items()):
            graph = graphs[name]
            path = [_node(node) for node in graph["longest_path"] or []]
            on_path = set(zip(path, path[1:]))
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
            path_nodes = set(path)
            for (kind, i), (px, py) in place.items():
                label = f"{'x' if kind == 'x' else letter}$_{{{i}}}$"
                axes.text(px, py, label, ha="center", va="center", fontsize=12,
                          color=colors["text"],
                          bbox={"boxstyle": "circle,pad=0.3", "facecolor": colors["grid"],
                                "edgecolor": colors["accent"] if (kind, i) in path_nodes
                                else colors["muted"],
                                "linewidth": 1.6 if (kind, i) in path_nodes else 0.8})
            between = hand_offs(path)
            axes.set_title(f"{name}: longest path, {between} hand-off"
                           f"{'s' if between != 1 else ''} between positions", fontsize=12)
            for row, text in ((0.0, "inputs"), (1.0, "outputs")):
                axes.text(-0.6, row, text, ha="right", va="center", fontsize=11,
                          color=colors["muted"])
            axes.set_xlim(-1.9, n - 0.5)
            axes.set_ylim(-0.25, 1.25)
            axes.axis("off")
        figure.tight_layout()
        return figure

    return draw


def dependency_figure(data) -> Rendered:
    """Both dependency graphs, drawn from the code, with the longest path highlighted."""
    n, graphs = data["n"], data["graphs"]
    rnn, attn = graphs["recurrence"], graphs["attention"]
    rnn_longest, attn_longest = rnn["longest_path"] or [], attn["longest_path"] or []
    handoffs, attn_handoffs = hand_offs(rnn_longest), hand_offs(attn_longest)
    rnn_deps = sum(map(sum, rnn["depends"]))
    attn_deps = sum(map(sum, attn["depends"]))
    rnn_path, attn_path = path_text(rnn_longest, "h"), path_text(attn_longest, "y")
    alt = (
        f"Two dependency graphs over {n} positions, drawn from the library's code. Recurrence: "
        f"each state reads its own input and the state before it, so the longest path, "
        f"{rnn_path}, passes {handoffs} hand-offs between positions. "
        f"Attention: every output reads every input directly, so the longest path, "
        f"{attn_path}, is {attn_handoffs} hand-off{'s' if attn_handoffs != 1 else ''}."
    )
    caption = (
        f"Derived, not drawn by hand: the autograd Jacobian of the library's Elman RNN and of "
        f"its attention on {n} positions says which inputs each output depends on "
        f"({rnn_deps} of {n * n} pairs for the RNN, the lower triangle; {attn_deps} of "
        f"{n * n} for attention), and autograd's record of the computation says which outputs "
        f"were computed from which. Highlighted, the longest path from the first input to the "
        f"last output: {rnn_path} for recurrence, {handoffs} hand-offs between positions "
        f"(n − 1) one after another; {attn_path} for attention, {attn_handoffs} hand-off."
    )
    return Rendered(parts={"": [Figure(_draw(graphs, n), alt, caption)]})
