"""Evidence for the transformer page: the library's block against torch's layer (T1), where
its parameters sit (T1, P3), and its code has no loop over positions (O2)."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from pathlib import Path

from .figures import figure_markdown, save_light_dark, write_fragment

# Input validation only: its loops run over argument names and shape dims, never over data.
SKIPPED_MODULES = ("attnsheet._checks",)


def _write_json(site_dir: Path, name: str, payload) -> Path:
    path = site_dir / "data" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


# --- O2: no loop over positions ------------------------------------------------------------


def _loops(tree: ast.AST, file: str) -> list[str]:
    """Every loop in a syntax tree (for, while, comprehensions), as `file:N for ... in ...`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            found.append((node.lineno,
                          f"for {ast.unparse(node.target)} in {ast.unparse(node.iter)}"))
        elif isinstance(node, ast.While):
            found.append((node.lineno, f"while {ast.unparse(node.test)}"))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for part in node.generators:
                found.append((node.lineno, f"for {ast.unparse(part.target)} in "
                                           f"{ast.unparse(part.iter)} (comprehension)"))
    return [f"{file}:{line} {_short(text)}" for line, text in sorted(found)]


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _ours(obj) -> bool:
    return inspect.isfunction(obj) and obj.__module__.startswith("attnsheet")


def loops_reachable(function, owner: type | None = None) -> dict:
    """Read the source of `function` and of every attnsheet function it calls, transitively,
    and list the loops in each.

    Calls `self.<name>(...)` resolve to methods of `owner` (sub-layers such as
    `self.w_q(x)` are torch modules, listed under "torch_layers"); plain names resolve to
    attnsheet functions in the function's module. Returns {"inspected": {qualified name:
    [loops]}, "skipped": [...], "torch_layers": [...]}. Input checks (SKIPPED_MODULES) are
    listed as skipped, not read.
    """
    inspected: dict[str, list[str]] = {}
    skipped: set[str] = set()
    torch_layers: set[str] = set()
    todo = [(function, owner)]
    while todo:
        fn, cls = todo.pop()
        name = f"{fn.__module__}.{fn.__qualname__}"
        if name in inspected:
            continue
        lines, first_line = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
        ast.increment_lineno(tree, first_line - 1)  # line numbers as in the file
        inspected[name] = _loops(tree, Path(inspect.getsourcefile(fn)).name)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if (isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name)
                    and callee.value.id == "self" and cls is not None):
                method = getattr(cls, callee.attr, None)
                if _ours(method):
                    todo.append((method, cls))
                elif method is None:  # an instance attribute: a torch sub-layer
                    torch_layers.add(callee.attr)
            elif isinstance(callee, ast.Name):
                target = fn.__globals__.get(callee.id)
                if _ours(target):
                    if target.__module__ in SKIPPED_MODULES:
                        skipped.add(f"{target.__module__}.{target.__qualname__}")
                    else:
                        todo.append((target, None))
    return {"inspected": dict(sorted(inspected.items())), "skipped": sorted(skipped),
            "torch_layers": sorted(torch_layers)}


def sublayer_calls(block, x, mask=None) -> dict[str, list[int]]:
    """Run block(x) once; for each sub-layer, the number of positions each of its calls saw."""
    seen: dict[str, list[int]] = {}
    handles = []
    for name, module in block.named_modules():
        if name:
            def record(module, args, name=name):
                seen.setdefault(name, []).append(int(args[0].shape[-2]))
            handles.append(module.register_forward_pre_hook(record))
    try:
        block(x, mask)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def block_check(site_dir: Path, include_dir: Path, *, n: int, d_model: int, n_heads: int,
                d_ff: int, seed: int) -> list[Path]:
    """O2: read the block's forward (and everything of ours it calls) for loops; run it once
    and record how many positions each sub-layer saw. The Elman RNN is read as a control."""
    import torch

    from ..rnn import elman_rnn_torch
    from ..transformer import TransformerBlock

    block_report = loops_reachable(TransformerBlock.forward, TransformerBlock)
    rnn_report = loops_reachable(elman_rnn_torch)
    block_loops = sum(len(v) for v in block_report["inspected"].values())
    rnn_loops = [loop for v in rnn_report["inspected"].values() for loop in v]
    if block_loops:
        raise ValueError(f"the transformer block's code has loops: {block_report['inspected']}")
    if not any("range(n)" in loop for loop in rnn_loops):
        raise ValueError(f"the check missed the RNN's loop over positions: {rnn_loops}")

    torch.manual_seed(seed)
    block = TransformerBlock(d_model, n_heads, d_ff).eval()
    x = torch.randn(n, d_model)  # (n, d_model)
    with torch.no_grad():
        calls = sublayer_calls(block, x)
        y = block(x)
    if tuple(y.shape) != (n, d_model) or any(c != [n] for c in calls.values()):
        raise ValueError(f"one call did not handle all {n} positions at once: {calls}")

    rows = ["| Function read | Loops found |", "|---|---|"]
    for name, loops in block_report["inspected"].items():
        rows.append(f"| `{name.removeprefix('attnsheet.')}` | {len(loops)} |")
    for name, loops in rnn_report["inspected"].items():
        shown = "<br>".join(f"`{loop}`" for loop in loops)
        rows.append(f"| `{name.removeprefix('attnsheet.')}` (for contrast) | "
                    f"{len(loops)}: {shown} |")
    layers = ", ".join(f"`{name}`" for name in block_report["torch_layers"])
    checks = ", ".join(f"`{name.rsplit('.', 1)[-1]}`" for name in block_report["skipped"])
    fragment = (
        f"The check read {len(block_report['inspected'])} functions of the block's code and "
        f"found {block_loops} loops: no `for`, `while` or comprehension anywhere on the path "
        f"from `forward` to the attention arithmetic. The sub-layers it calls ({layers}) are "
        f"single torch operations over all positions; the input checks it calls ({checks}) "
        "are not read, since they only look at shapes and values. The same check on the "
        "library's Elman RNN finds its loop over time steps.\n\n"
        + "\n".join(rows) + "\n\n"
        f"One call of the block on {n} positions ran each of its {len(calls)} sub-layers "
        f"exactly once, on all {n} positions together, and returned an output of shape "
        f"{tuple(y.shape)}.\n"
    )
    payload = {"block": block_report, "rnn_control": rnn_report,
               "one_call": {"n": n, "output_shape": list(y.shape), "sublayer_calls": calls}}
    return [
        write_fragment(include_dir, "figures/transformer/block-check.md", fragment),
        _write_json(site_dir, "transformer/block-check", payload),
    ]


# --- T1: the block equals torch's layer -----------------------------------------------------


def parity_cases(seed: int) -> list[tuple[str, float]]:
    """(setting, largest |library block - torch layer|) over a few settings, same weights."""
    import torch

    from ..transformer import TransformerBlock, causal_mask

    cases = []
    for dtype in (torch.float32, torch.float64):
        torch.manual_seed(seed)
        block = TransformerBlock(64, 4, 256).to(dtype).eval()
        layer = block.to_torch_layer()
        x = torch.randn(2, 10, 64, dtype=dtype)  # (batch, n, d_model)
        mask = causal_mask(10)
        kind = str(dtype).removeprefix("torch.")
        with torch.no_grad():
            cases += [
                (f"{kind}, batch of 2", (block(x) - layer(x)).abs().max().item()),
                (f"{kind}, one sequence", (block(x[0]) - layer(x[0])).abs().max().item()),
                # torch's boolean src_mask means "blocked": the opposite of ours.
                (f"{kind}, causal mask",
                 (block(x, mask) - layer(x, src_mask=~mask)).abs().max().item()),
            ]
    return cases


def block_parity(site_dir: Path, include_dir: Path, *, seed: int, tolerance: float) -> list[Path]:
    """T1: the library block against torch.nn.TransformerEncoderLayer with the same weights."""
    cases = parity_cases(seed)
    worst = max(gap for _, gap in cases)
    if worst > tolerance:
        raise ValueError(f"library block and torch's layer differ by {worst:.2e}: {cases}")
    rows = ["| Setting | Largest difference |", "|---|---|"]
    rows += [f"| {setting} | {gap:.1e} |" for setting, gap in cases]
    fragment = (
        "The library's block (`attnsheet.TransformerBlock`, d_model 64, 4 heads) against "
        "`torch.nn.TransformerEncoderLayer(norm_first=True, dropout=0.0, batch_first=True)` "
        f"holding the same weights, on random input: the largest difference in {len(cases)} "
        f"settings is {worst:.1e}, within the {tolerance:.0e} the test allows.\n\n"
        + "\n".join(rows) + "\n"
    )
    return [
        write_fragment(include_dir, "figures/transformer/block-parity.md", fragment),
        _write_json(site_dir, "transformer/block-parity",
                    [{"setting": s, "max_abs_difference": g} for s, g in cases]),
    ]


# --- T1, P3: where the parameters sit -------------------------------------------------------


def param_breakdown(site_dir: Path, include_dir: Path, *, d_model: int, n_heads: int,
                    d_ff: int) -> list[Path]:
    """Parameter count of one block by part, as a bar chart and a table; the share held by
    linear layers, counted by module type."""
    import torch

    from ..transformer import PARTS, TransformerBlock, parameter_breakdown

    block = TransformerBlock(d_model, n_heads, d_ff)
    counts = parameter_breakdown(block)
    total = sum(counts.values())
    in_linear = sum(p.numel() for m in block.modules() if isinstance(m, torch.nn.Linear)
                    for p in m.parameters())
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
        axes.set_title(f"One layer, d_model {d_model}, {n_heads} heads, d_ff {d_ff}: "
                       f"{total:,} parameters", fontsize=10)
        return figure

    stem = "figures/transformer/parameters"
    files = save_light_dark(draw, site_dir, stem)
    ranked = sorted(counts, key=counts.get, reverse=True)
    alt = (
        f"Bar chart of the {total:,} parameters of one transformer layer: "
        + ", ".join(f"{p} {counts[p]:,} ({counts[p] / total:.2%})" for p in ranked)
        + f"; {share:.2%} sit in linear layers."
    )
    caption = (
        f"Parameters of one layer the size of the original transformer's (d_model {d_model}, "
        f"{n_heads} heads, feed-forward width {d_ff}), counted from the library's block. "
        f"The {ranked[0]} holds the most, {counts[ranked[0]] / counts[ranked[1]]:.1f} times "
        f"the {ranked[1]}; the layer norms are too small to see."
    )
    table = ["| Part | Modules | Parameters | Share |", "|---|---|---:|---:|"]
    table += [f"| {p} | {', '.join(f'`{m}`' for m in PARTS[p])} | {counts[p]:,} | "
              f"{counts[p] / total:.2%} |" for p in parts]
    table.append(f"| **total** | | **{total:,}** | 100% |")
    fragment = (
        figure_markdown(stem, alt, caption) + "\n" + "\n".join(table) + "\n\n"
        f"Counted by module type, {in_linear:,} of the {total:,} parameters ({share:.2%}) "
        "belong to `torch.nn.Linear` layers: plain weighted sums.\n"
    )
    if total - in_linear != counts["layer norms"]:
        raise ValueError(f"expected only layer norms outside linear layers: {counts}")
    share_line = (
        f"In a layer the size of the original transformer's, {share:.2%} of its {total:,} "
        f"parameters sit in plain linear layers (weighted sums); the other {total - in_linear:,} "
        "are the layer norms' scales and shifts.\n"
    )
    payload = {"config": {"d_model": d_model, "n_heads": n_heads, "d_ff": d_ff},
               "parts": counts, "total": total, "in_linear_layers": in_linear}
    return files + [
        write_fragment(include_dir, "figures/transformer/parameters.md", fragment),
        write_fragment(include_dir, "figures/transformer/linear-share.md", share_line),
        _write_json(site_dir, "transformer/parameters", payload),
    ]
