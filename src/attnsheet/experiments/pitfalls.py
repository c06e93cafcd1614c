"""The pitfalls page's experiments (P2): order is invisible to the library's block until
positions are added, and reading left to right is a mask someone chose."""

from __future__ import annotations


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


def positions_check(*, n: int, d_model: int, n_heads: int, d_ff: int, seed: int,
                    tolerance: float) -> dict:
    """Experiment (P2): the permutation gaps of the library's block (float64), in the order
    no positions, sinusoidal positions, causal mask. Echoes `tolerance`, the largest change
    the claim counts as rounding."""
    result = permutation_gaps(n=n, d_model=d_model, n_heads=n_heads, d_ff=d_ff, seed=seed)
    return {"config": {"n": n, "d_model": d_model, "n_heads": n_heads, "d_ff": d_ff,
                       "seed": seed},
            "tolerance": tolerance, "order": result["order"],
            "cases": [{"case": case, "gap": gap} for case, gap in result["gaps"].items()]}


def dependency_strength(block, x, mask=None):
    """(n, n) array: entry [t, s] is the size of d output_t / d input_s (Frobenius norm of
    that d_model x d_model block of the autograd Jacobian)."""
    import torch

    jacobian = torch.autograd.functional.jacobian(lambda inp: block(inp, mask), x)
    # (n, d_model, n, d_model) -> (n, n): one number per (output, input) pair
    return jacobian.pow(2).sum(dim=(1, 3)).sqrt().numpy()


def causal_dependencies(*, n: int, d_model: int, n_heads: int, d_ff: int, seed: int) -> dict:
    """Experiment (P2): which outputs depend on which inputs, without and with a causal
    mask: per panel, the (n, n) table of |d output_t / d input_s| (exactly 0 where the
    output cannot see the input)."""
    import torch

    from ..transformer import causal_mask

    block = _block(seed, d_model, n_heads, d_ff)
    x = torch.randn(n, d_model, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(seed))
    panels = {"no mask (encoder)": dependency_strength(block, x),
              "causal mask": dependency_strength(block, x, causal_mask(n))}
    return {"config": {"n": n, "d_model": d_model, "n_heads": n_heads, "d_ff": d_ff,
                       "seed": seed},
            "panels": [{"name": name, "strength": strength.tolist()}
                       for name, strength in panels.items()]}
