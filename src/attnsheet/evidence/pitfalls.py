"""Evidence for the pitfalls page (P2): order is invisible to attention until positions are
added, and reading left to right is a mask someone chose."""

from __future__ import annotations

import json
from pathlib import Path

from .figures import figure_markdown, save_light_dark, write_fragment


def _block(seed: int, d_model: int, n_heads: int, d_ff: int):
    import torch

    from ..transformer import TransformerBlock

    torch.manual_seed(seed)
    return TransformerBlock(d_model, n_heads, d_ff).double().eval()


def permutation_gaps(*, n: int, d_model: int, n_heads: int, d_ff: int, seed: int) -> dict:
    """Shuffle the tokens, run the library's block, un-shuffle the outputs: the largest
    change, without positions, with sinusoidal positions, and with a causal mask."""
    import torch

    from ..transformer import causal_mask, sinusoidal_positions

    block = _block(seed, d_model, n_heads, d_ff)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d_model, dtype=torch.float64, generator=generator)  # (n, d_model)
    order = torch.randperm(n, generator=generator)  # a shuffled word order...
    while (order == torch.arange(n)).any():  # ...in which every token moves
        order = torch.randperm(n, generator=generator)
    positions = sinusoidal_positions(n, d_model, dtype=torch.float64)  # (n, d_model)
    mask = causal_mask(n)
    with torch.no_grad():
        gaps = {
            # Shuffled input vs shuffled output: equal when the block ignores order.
            "no positions": block(x[order]) - block(x)[order],
            # Positions belong to slots, not tokens: slot i always gets positions[i].
            "sinusoidal positions added": (block(x[order] + positions)
                                           - block(x + positions)[order]),
            "causal mask, no positions": block(x[order], mask) - block(x, mask)[order],
        }
    return {"order": order.tolist(),
            "gaps": {case: gap.abs().max().item() for case, gap in gaps.items()}}


def positions_check(site_dir: Path, include_dir: Path, *, n: int, d_model: int, n_heads: int,
                    d_ff: int, seed: int, tolerance: float) -> list[Path]:
    """P2 (i, ii): the block is permutation-equivariant without positions, not with them."""
    result = permutation_gaps(n=n, d_model=d_model, n_heads=n_heads, d_ff=d_ff, seed=seed)
    gaps = result["gaps"]
    equivariant = {case: gap <= tolerance for case, gap in gaps.items()}
    expected = {"no positions": True, "sinusoidal positions added": False,
                "causal mask, no positions": False}
    if equivariant != expected:
        raise ValueError(f"permutation check gave {gaps}, expected equivariance {expected}")
    rows = ["| Input | Largest change after un-shuffling | Order ignored? |", "|---|---:|---|"]
    rows += [f"| {case} | {gap:.1e} | {'yes' if equivariant[case] else 'no'} |"
             for case, gap in gaps.items()]
    fragment = (
        f"The same test on the library's transformer block ({n} tokens, d_model {d_model}, "
        f"{n_heads} heads, float64), shuffled into the order {result['order']}. A change "
        f"below {tolerance:.0e} is rounding: the outputs are the old ones, shuffled.\n\n"
        + "\n".join(rows) + "\n"
    )
    data = site_dir / "data" / "pitfalls" / "positions-check.json"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(json.dumps({**result, "tolerance": tolerance, "equivariant": equivariant},
                               indent=1) + "\n", encoding="utf-8")
    return [write_fragment(include_dir, "figures/pitfalls/positions-check.md", fragment), data]


def dependency_strength(block, x, mask=None):
    """(n, n) array: entry [t, s] is the size of d output_t / d input_s (Frobenius norm of
    that d_model x d_model block of the autograd Jacobian)."""
    import torch

    jacobian = torch.autograd.functional.jacobian(lambda inp: block(inp, mask), x)
    # (n, d_model, n, d_model) -> (n, n): one number per (output, input) pair
    return jacobian.pow(2).sum(dim=(1, 3)).sqrt().numpy()


def causal_figure(site_dir: Path, include_dir: Path, *, n: int, d_model: int, n_heads: int,
                  d_ff: int, seed: int) -> list[Path]:
    """P2 (iii): which outputs depend on which inputs, without and with a causal mask."""
    import numpy as np
    import torch

    from ..transformer import causal_mask

    block = _block(seed, d_model, n_heads, d_ff)
    x = torch.randn(n, d_model, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(seed))
    panels = {
        "no mask (encoder)": dependency_strength(block, x),
        "causal mask": dependency_strength(block, x, causal_mask(n)),
    }
    depends = {name: strength > 0 for name, strength in panels.items()}
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    free, masked = depends.values()
    if not free.all() or masked[upper].any() or not masked[~upper].all():
        raise ValueError(f"unexpected dependency patterns: {depends}")

    def draw(colors):
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        figure, axes_row = plt.subplots(1, 2, figsize=(7.6, 3.9))
        cmap = ListedColormap([colors["grid"], colors["accent"]])
        for axes, (name, pattern) in zip(axes_row, depends.items()):
            axes.imshow(pattern, cmap=cmap, vmin=0, vmax=1)
            for t in range(n):
                for s in range(n):
                    if not pattern[t, s]:
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
            axes.set_title(f"{name}: {int(pattern.sum())} of {n * n} depend", fontsize=10)
        figure.tight_layout()
        return figure

    stem = "figures/pitfalls/causal-dependencies"
    files = save_light_dark(draw, site_dir, stem)
    counts = {name: int(pattern.sum()) for name, pattern in depends.items()}
    free_count, mask_count = counts.values()
    smallest = min(strength[strength > 0].min() for strength in panels.values())
    alt = (
        f"Two {n} by {n} grids of which output depends on which input in the library's "
        f"transformer block: without a mask all {free_count} pairs depend; with a causal mask "
        f"{mask_count}, the lower triangle, and every output ignores the inputs after it."
    )
    caption = (
        f"Read off the autograd Jacobian of the library's block ({n} positions, d_model "
        f"{d_model}): a filled cell means output <em>t</em> changes when input <em>s</em> "
        f"does (the smallest such effect is {smallest:.1e}), a 0 means the derivative is "
        f"exactly zero. Without a mask every output reads every input, in both directions. "
        f"The causal mask leaves {mask_count} of {free_count} pairs: output <em>t</em> reads "
        "inputs 0 to <em>t</em> only, which is all that makes the model left-to-right."
    )
    fragment = write_fragment(include_dir, "figures/pitfalls/causal-dependencies.md",
                              figure_markdown(stem, alt, caption))
    return files + [fragment]
