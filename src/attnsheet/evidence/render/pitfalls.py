"""Renderers of the pitfalls page's evidence: order is invisible to the block until positions
are added, a causal mask is what makes it left-to-right (P2), and the notebooks the page
points to (P4)."""

from __future__ import annotations

from ..spec import Figure, Rendered
from .common import markdown_table

# --- P2: order is not built in --------------------------------------------------------------


def positions_check(data) -> Rendered:
    """The permutation gaps per input, against the tolerance that counts as rounding."""
    config, tolerance = data["config"], data["tolerance"]
    table = markdown_table(
        ["Input", "Largest change after un-shuffling", "Order ignored?"],
        [[case["case"], f"{case['gap']:.1e}", "yes" if case["gap"] <= tolerance else "no"]
         for case in data["cases"]])
    text = (
        f"The same test on the library's transformer block ({config['n']} tokens, d_model "
        f"{config['d_model']}, {config['n_heads']} heads, float64), shuffled into the order "
        f"{data['order']}. A change below {tolerance:.0e} is rounding: the outputs are the old "
        "ones, shuffled.\n\n" + table
    )
    return Rendered(parts={"": [text]})


def causal_figure(data) -> Rendered:
    """Which outputs depend on which inputs, without and with a causal mask."""
    config = data["config"]
    n = config["n"]
    depends = {panel["name"]: [[value > 0 for value in row] for row in panel["strength"]]
               for panel in data["panels"]}
    counts = {name: sum(map(sum, pattern)) for name, pattern in depends.items()}
    (free_name, free_count), (mask_name, mask_count) = counts.items()
    smallest = min(value for panel in data["panels"] for row in panel["strength"]
                   for value in row if value > 0)
    ignores_later = all(not depends[mask_name][t][s] for t in range(n) for s in range(t + 1, n))

    def draw(colors):
        import matplotlib.pyplot as plt
        import numpy as np
        from matplotlib.colors import ListedColormap

        figure, axes_row = plt.subplots(1, 2, figsize=(7.6, 3.9))
        cmap = ListedColormap([colors["grid"], colors["accent"]])
        for axes, (name, pattern) in zip(axes_row, depends.items()):
            axes.imshow(np.array(pattern), cmap=cmap, vmin=0, vmax=1)
            for t in range(n):
                for s in range(n):
                    if not pattern[t][s]:
                        axes.text(s, t, "0", ha="center", va="center", fontsize=9,
                                  color=colors["muted"])
            axes.set_xticks(range(n), [str(s) for s in range(n)])
            axes.set_yticks(range(n), [str(t) for t in range(n)])
            axes.set_xticks(np.arange(-0.5, n), minor=True)
            axes.set_yticks(np.arange(-0.5, n), minor=True)
            axes.grid(which="minor", color=colors["muted"], linewidth=0.6)
            axes.tick_params(which="minor", length=0)
            axes.set_xlabel("input position s")
            axes.set_ylabel("output position t")
            axes.set_title(f"{name}: {counts[name]} of {n * n} depend", fontsize=10)
        figure.tight_layout()
        return figure

    alt = (
        f"Two {n} by {n} grids of which output depends on which input in the library's "
        f"transformer block: without a mask {'all ' if free_count == n * n else ''}"
        f"{free_count} pairs depend; with a causal mask {mask_count}"
        + (", the lower triangle, and every output ignores the inputs after it."
           if ignores_later and mask_count == n * (n + 1) // 2 else ".")
    )
    caption = (
        f"Read off the autograd Jacobian of the library's block ({n} positions, d_model "
        f"{config['d_model']}): a filled cell means output <em>t</em> changes when input "
        f"<em>s</em> does (the smallest such effect is {smallest:.1e}), a 0 means the "
        f"derivative is exactly zero. "
        + ("Without a mask every output reads every input, in both directions. "
           if free_count == n * n else "")
        + f"The causal mask leaves {mask_count} of {free_count} pairs"
        + (": output <em>t</em> reads inputs 0 to <em>t</em> only, which is all that makes "
           "the model left-to-right." if ignores_later else ".")
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


# --- P4: the notebooks ----------------------------------------------------------------------


def notebooks(data) -> Rendered:
    """The notebooks in reading order, each with the pages it deepens and its code cells;
    then what the link check found."""
    deepens = data["deepens"]
    rows = []
    for summary in data["notebooks"]:
        name = summary["name"]
        pages = sorted({where.partition("#")[0] for where, names in deepens.items()
                        if name in names})
        rows.append([f"[{summary['title']}](notebooks/{name}.ipynb)",
                     ", ".join(f"[{p.removesuffix('.md')}]({p})" for p in pages),
                     str(summary["code_cells"])])
    table = markdown_table(["Notebook", "Deepens", "Code cells"], rows)
    pages = sorted({where.partition("#")[0].removesuffix(".md") for where in deepens})
    named = ", ".join(pages[:-1]) + " and " + pages[-1] if len(pages) > 1 else "".join(pages)
    if data["problems"]:
        check = "Checked at build, and broken: " + "; ".join(data["problems"]) + "."
    else:
        check = (f"Checked at build: this section links to all {len(data['notebooks'])} "
                 f"notebooks, and the {named} pages link to the ones that deepen them.")
    return Rendered(parts={"": [table, check + "\n{ .build-check }\n"]})
