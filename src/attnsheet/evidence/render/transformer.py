"""Renderers of the transformer page's evidence: the block against torch's layer (T1), where
its parameters sit (T1, and the share of linear layers on the pitfalls page, P3), its code
without a loop over positions (O2) and the link to the recurrence evidence (T3)."""

from __future__ import annotations

from ..spec import Figure, Rendered
from .common import markdown_table, path_code

# --- T1: the block equals torch's layer -----------------------------------------------------


def block_parity(data) -> Rendered:
    """The largest difference per setting, and the worst against the tolerance."""
    config, tolerance = data["config"], data["tolerance"]
    cases = data["cases"]
    worst = max(case["max_abs_difference"] for case in cases)
    table = markdown_table(["Setting", "Largest difference"],
                           [[case["setting"], f"{case['max_abs_difference']:.1e}"]
                            for case in cases])
    text = (
        f"The library's block (`attnsheet.TransformerBlock`, d_model {config['d_model']}, "
        f"{config['n_heads']} heads) against "
        "`torch.nn.TransformerEncoderLayer(norm_first=True, dropout=0.0, batch_first=True)` "
        f"holding the same weights, on random input: the largest difference in {len(cases)} "
        f"settings is {worst:.1e}, {'within' if worst <= tolerance else 'above'} the "
        f"{tolerance:.0e} the test allows.\n\n" + table
    )
    return Rendered(parts={"": [text]})


# --- T1, P3: where the parameters sit -------------------------------------------------------


def _counts(data) -> tuple[dict[str, int], int, int]:
    """{part: parameters} in the library's order, the total, those in linear layers."""
    counts = {row["part"]: row["parameters"] for row in data["parts"]}
    return counts, data["total"], data["in_linear_layers"]


def param_breakdown(data) -> Rendered:
    """Parameter count of one block by part, as a bar chart and a table; the share held by
    linear layers, counted by module type."""
    config = data["config"]
    counts, total, in_linear = _counts(data)
    share = in_linear / total
    parts = list(counts)

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7.2, 2.4))
        order = parts[::-1]  # first part on top
        values = [counts[p] for p in order]
        bars = axes.barh(order, values, color=colors["accent"])
        axes.bar_label(bars, [f"{v:,} ({v / total:.2%})" for v in values], padding=4,
                       color=colors["text"])
        axes.set_xlim(0, max(values) * 1.45)
        axes.set_xlabel("parameters")
        axes.xaxis.set_major_formatter(lambda v, _: f"{v / 1e6:g}M" if v else "0")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.set_title(f"One layer, d_model {config['d_model']}, {config['n_heads']} heads, "
                       f"d_ff {config['d_ff']}: {total:,} parameters", fontsize=10)
        return figure

    ranked = sorted(counts, key=counts.get, reverse=True)
    alt = (
        f"Bar chart of the {total:,} parameters of one transformer layer: "
        + ", ".join(f"{p} {counts[p]:,} ({counts[p] / total:.2%})" for p in ranked)
        + f"; {share:.2%} sit in linear layers."
    )
    smallest = ranked[-1]
    caption = (
        f"Parameters of one layer the size of the original transformer's (d_model "
        f"{config['d_model']}, {config['n_heads']} heads, feed-forward width "
        f"{config['d_ff']}), counted from the library's block. "
        f"The {ranked[0]} holds the most, {counts[ranked[0]] / counts[ranked[1]]:.1f} times "
        f"the {ranked[1]}"
        + (f"; the {smallest} are too small to see." if counts[smallest] / total < 0.01
           else ".")
    )
    table = markdown_table(
        ["Part", "Modules", "Parameters", "Share"],
        [[row["part"], ", ".join(f"`{m}`" for m in row["modules"]),
          f"{row['parameters']:,}", f"{row['parameters'] / total:.2%}"]
         for row in data["parts"]] + [["**total**", "", f"**{total:,}**", "100%"]])
    text = (
        f"{table}\nCounted by module type, {in_linear:,} of the {total:,} parameters "
        f"({share:.2%}) belong to `torch.nn.Linear` layers: plain weighted sums.\n"
    )
    return Rendered(parts={"": [Figure(draw, alt, caption), text]})


def linear_share(data) -> Rendered:
    """One sentence for the pitfalls page: the share of one layer's parameters in linear
    layers, and what the rest are."""
    counts, total, in_linear = _counts(data)
    rest = total - in_linear
    others = ("the layer norms' scales and shifts" if rest == counts.get("layer norms")
              else "outside linear layers")
    text = (
        f"In a layer the size of the original transformer's, {in_linear / total:.2%} of its "
        f"{total:,} parameters sit in plain linear layers (weighted sums); the other "
        f"{rest:,} are {others}.\n"
    )
    return Rendered(parts={"": [text]})


# --- O2: no loop over positions -------------------------------------------------------------


def _short_name(name: str) -> str:
    return name.removeprefix("attnsheet.")


def block_check(data) -> Rendered:
    """The loops found per function read (the RNN's for contrast), and what one call of the
    block did."""
    block, rnn, one_call = data["block"], data["rnn_control"], data["one_call"]
    block_loops = sum(len(v) for v in block["inspected"].values())
    n, calls = one_call["n"], one_call["sublayer_calls"]
    rows = [[f"`{_short_name(name)}`", str(len(loops))]
            for name, loops in block["inspected"].items()]
    rows += [[f"`{_short_name(name)}` (for contrast)",
              f"{len(loops)}: " + "<br>".join(f"`{loop}`" for loop in loops)]
             for name, loops in rnn["inspected"].items()]
    layers = ", ".join(f"`{name}`" for name in block["torch_layers"])
    checks = ", ".join(f"`{name.rsplit('.', 1)[-1]}`" for name in block["skipped"])
    every_once = all(positions == [n] for positions in calls.values())
    shape = "(" + ", ".join(str(s) for s in one_call["output_shape"]) + ")"
    text = (
        f"The check read {len(block['inspected'])} functions of the block's code and "
        f"found {block_loops} loops"
        + (": no `for`, `while` or comprehension anywhere on the path from `forward` to the "
           "attention arithmetic" if block_loops == 0 else "")
        + f". The sub-layers it calls ({layers}) are single torch operations over all "
        f"positions; the input checks it calls ({checks}) are not read, since they only look "
        "at shapes and values. The same check on the library's Elman RNN finds "
        + ("its loop over time steps" if rnn["position_loops"]
           else "no loop over time steps")
        + ".\n\n" + markdown_table(["Function read", "Loops found"], rows) + "\n"
        f"One call of the block on {n} positions ran each of its {len(calls)} sub-layers "
        + (f"exactly once, on all {n} positions together" if every_once
           else f"with these positions per call: {calls}")
        + f", and returned an output of shape {shape}.\n"
    )
    return Rendered(parts={"": [text]})


# --- T3: the page links to the recurrence evidence -----------------------------------------


def section_links(data) -> Rendered:
    """One line: the links a section must have, checked at build, and the code each target
    shows. (Also the pitfalls page's pointers to the mechanics, P4.)"""
    shown = "; ".join(
        f"[{link['label']}]({link['to']}) shows "
        + ", ".join(path_code(f"snippets/{code}") for code in link["code"])
        for link in data["links"])
    if data["problems"]:
        text = ("Checked at build, and broken: " + "; ".join(data["problems"])
                + (f". Found: {shown}." if shown else "."))
    elif len(data["links"]) == 1:
        text = f"Checked at build: this section links to a section that shows code: {shown}."
    else:
        text = (f"Checked at build: this section links to the {len(data['links'])} sections "
                f"it points to, and each shows code: {shown}.")
    return Rendered(parts={"": [text + "\n{ .build-check }\n"]})


# --- T1: the layer as a diagram ---------------------------------------------------------------

WEIGHTED = ("Linear", "LayerNorm")  # node kinds that hold learned weights
SIDE_BY_SIDE = 1.15  # distance between the centres of nodes on one row (layout units)


def sources_of(graph) -> dict[int, list[int]]:
    """Each node's id -> the ids of the nodes it was computed from (the edges, reversed)."""
    sources: dict[int, list[int]] = {node["id"]: [] for node in graph["nodes"]}
    for source, target in graph["edges"]:
        sources[target].append(source)
    return sources


def layer_positions(data) -> dict[int, tuple[float, int]]:
    """(x, row) of every node: row = the longest path from the input (edges go one or more
    rows down); a row's several nodes side by side; a lone node in the middle unless its one
    parent on the row above sits to the side, as the scaling of the queries does."""
    nodes, parents = data["nodes"], sources_of(data)
    row: dict[int, int] = {}
    for node in nodes:  # topological order: parents first
        row[node["id"]] = 1 + max((row[p] for p in parents[node["id"]]), default=-1)
    by_row: dict[int, list[int]] = {}
    for node in nodes:
        by_row.setdefault(row[node["id"]], []).append(node["id"])
    x: dict[int, float] = {}
    for r in sorted(by_row):
        members = sorted(by_row[r], reverse=True)  # later-created first: queries, keys, values
        if len(members) > 1:
            for i, node in enumerate(members):
                x[node] = SIDE_BY_SIDE * (i - (len(members) - 1) / 2)
            continue
        [node] = members
        near = [p for p in parents[node] if row[p] == r - 1]
        x[node] = x[near[0]] if len(near) == 1 and len(parents[node]) == 1 else 0.0
    return {node: (x[node], row[node]) for node in x}


def layer_diagram(data) -> Rendered:
    """One TransformerBlock call's data flow (experiments.transformer.layer_graph) drawn as
    boxes and arrows: submodules with weights, fixed operations, residual additions."""
    nodes = {n["id"]: n for n in data["nodes"]}
    edges = data["edges"]
    where = layer_positions(data)
    config = data["config"]
    rows = max(r for _, r in where.values()) + 1

    def draw(colors):
        import matplotlib.pyplot as plt
        from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

        step, box = 1.15, 0.36  # vertical distance between rows; half a box's height
        inch = 0.82  # per unit of the layout: boxes large enough for 9-point labels
        residual_x = min(x for x, _ in where.values()) - 0.8
        left, right = residual_x - 0.15, SIDE_BY_SIDE + 0.6
        figure, axes = plt.subplots(figsize=((right - left) * inch, (rows * step + 0.2) * inch))
        shared = {r for _, r in where.values() if sum(rr == r for _, rr in where.values()) > 1}
        half = {}
        for node_id, (x, r) in where.items():
            node, y = nodes[node_id], -r * step
            if node["kind"] == "add":
                axes.add_patch(Circle((x, y), 0.22, facecolor="none", edgecolor=colors["text"],
                                      linewidth=1.2))
                axes.text(x, y, "+", ha="center", va="center", fontsize=13,
                          color=colors["text"])
                half[node_id] = (0.22, 0.22)
                continue
            # off the middle column narrower; the middle ones clear of the side columns
            w = 0.53 if r in shared or x else 0.85
            if node["kind"] == "input":
                text, face = "input x", "none"
            elif node["kind"] in WEIGHTED:
                text, face = f"{node['label']}\n{node['kind']}", colors["series"][0]
            else:
                text, face = node["label"], colors["series"][2]
            axes.add_patch(FancyBboxPatch(
                (x - w, y - box), 2 * w, 2 * box, boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=face, alpha=0.25 if face != "none" else 1, edgecolor=colors["text"],
                linewidth=0.8))
            axes.text(x, y, text, ha="center", va="center", fontsize=9,
                      color=colors["text"], linespacing=1.15)
            half[node_id] = (w, box)
        occupied = set(where.values())
        line = dict(color=colors["muted"], linewidth=1.1)
        arrow = dict(arrowstyle="-|>", mutation_scale=10, shrinkA=0, shrinkB=0, **line)
        residuals = 0
        for source, target in edges:
            (x0, r0), (x1, r1) = where[source], where[target]
            y0, y1 = -r0 * step, -r1 * step
            start, end = (x0, y0 - half[source][1]), (x1, y1 + half[target][1])
            if x0 == x1 and any((x0, r) in occupied for r in range(r0 + 1, r1)):
                # a residual: out to the left, down past the boxes, back in
                side = residual_x + 0.25 * (residuals % 2)  # two in a row stay apart
                residuals += 1
                axes.plot([x0 - half[source][0], side, side], [y0, y0, y1], **line)
                axes.add_patch(FancyArrowPatch((side, y1), (x1 - half[target][0], y1),
                                               **arrow))
            elif r1 - r0 > 1 and x0 != x1:  # down its own column, then across
                bend = (x0, y1 + step * 0.75)
                axes.plot([start[0], bend[0]], [start[1], bend[1]], **line)
                axes.add_patch(FancyArrowPatch(bend, end, **arrow))
            else:
                axes.add_patch(FancyArrowPatch(start, end, **arrow))
        axes.set_xlim(left, right)
        axes.set_ylim(-(rows - 1) * step - 0.5, 0.5)
        axes.set_aspect("equal")
        axes.axis("off")
        return figure

    modules = [n for n in data["nodes"] if n["kind"] in WEIGHTED]
    operations = [n for n in data["nodes"] if n["kind"] == "operation"]
    adds = [n for n in data["nodes"] if n["kind"] == "add"]
    by_row: dict[int, list[str]] = {}
    for node in data["nodes"]:
        label = {"input": "the input x", "add": "an addition"}.get(node["kind"], node["label"])
        by_row.setdefault(where[node["id"]][1], []).append(label)
    alt = (
        "Diagram of one transformer layer, top to bottom: "
        + "; ".join(" and ".join(sorted(labels)) + (" side by side" if len(labels) > 1 else "")
                    for _, labels in sorted(by_row.items()))
        + f". {len(adds)} residual additions: the first adds the layer's input to the "
        "attention step's output, the second adds that sum to the feed-forward output."
    )
    caption = (
        f"One layer of the library's <code>TransformerBlock</code>, read off the autograd "
        f"graph of one call on {config['n']} tokens: {len(modules)} submodules with learned "
        f"weights (blue), {len(operations)} fixed operations (green) and {len(adds)} residual "
        f"additions (the lines on the left); reshapes are left out. Every token goes through "
        f"the same boxes at once: nothing loops over positions."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})
