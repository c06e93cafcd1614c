"""Renderers of the transformer page's evidence: the block against torch's layer (T1), where
its parameters sit (T1, and the share of linear layers on the pitfalls page, P3), its code
without a loop over positions (O2) and the link to the recurrence evidence (T3)."""

from __future__ import annotations

from ..spec import Figure, Rendered
from .common import markdown_table

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
        + ", ".join(f"`snippets/{code}`" for code in link["code"])
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
