"""The transformer page's experiments: the library's block against torch's layer (T1), where
its parameters sit (T1, P3), and its code has no loop over positions (O2)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

# Input validation only: its loops run over argument names and shape dims, never over data.
CHECK_PREFIX = "_check"  # functions and methods that validate inputs, like SKIPPED_MODULES
SKIPPED_MODULES = ("attnsheet._checks",)
POSITION_LOOP = "range(n)"  # how the library's code loops over the n positions of a sequence


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
    [loops]}, "skipped": [...], "torch_layers": [...]}. Input checks (the functions of
    SKIPPED_MODULES, and functions and methods named CHECK_PREFIX...) are listed as skipped,
    not read, for the block and the RNN alike; "position_loops" are the loops over the n positions.
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
                if _ours(method) and callee.attr.startswith(CHECK_PREFIX):
                    # The block's own input checks, skipped like the RNN's (SKIPPED_MODULES).
                    skipped.add(f"{method.__module__}.{method.__qualname__}")
                elif _ours(method):
                    todo.append((method, cls))
                elif method is None:  # an instance attribute: a torch sub-layer
                    torch_layers.add(callee.attr)
            elif isinstance(callee, ast.Name):
                target = fn.__globals__.get(callee.id)
                if _ours(target):
                    if (target.__module__ in SKIPPED_MODULES
                            or callee.id.startswith(CHECK_PREFIX)):
                        skipped.add(f"{target.__module__}.{target.__qualname__}")
                    else:
                        todo.append((target, None))
    return {"inspected": dict(sorted(inspected.items())), "skipped": sorted(skipped),
            "torch_layers": sorted(torch_layers),
            "position_loops": sorted(loop for found in inspected.values() for loop in found
                                     if POSITION_LOOP in loop)}


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


def block_check(*, n: int, d_model: int, n_heads: int, d_ff: int, seed: int) -> dict:
    """Experiment (O2): the loops found in the block's forward (and everything of ours it
    calls), and in the Elman RNN's code by the same check, as a control; then one call of
    the block on n positions, with how many positions each sub-layer's calls saw."""
    import torch

    from ..rnn import elman_rnn_torch
    from ..transformer import TransformerBlock

    torch.manual_seed(seed)
    block = TransformerBlock(d_model, n_heads, d_ff).eval()
    x = torch.randn(n, d_model)  # (n, d_model)
    with torch.no_grad():
        calls = sublayer_calls(block, x)
        y = block(x)
    return {
        "config": {"n": n, "d_model": d_model, "n_heads": n_heads, "d_ff": d_ff, "seed": seed},
        "block": loops_reachable(TransformerBlock.forward, TransformerBlock),
        "rnn_control": loops_reachable(elman_rnn_torch),
        "one_call": {"n": n, "output_shape": list(y.shape), "sublayer_calls": calls},
    }


# --- T1: the block equals torch's layer -----------------------------------------------------


def block_parity(*, seed: int, tolerance: float, d_model: int, n_heads: int, d_ff: int,
                 n: int, batch: int) -> dict:
    """Experiment (T1): the largest |library block - torch layer| with the same weights, in
    float32 and float64, on a batch, one sequence and with a causal mask. Echoes
    `tolerance`, the bound the claim holds it to."""
    import torch

    from ..transformer import TransformerBlock, causal_mask

    cases = []
    for dtype in (torch.float32, torch.float64):
        torch.manual_seed(seed)
        block = TransformerBlock(d_model, n_heads, d_ff).to(dtype).eval()
        layer = block.to_torch_layer()
        x = torch.randn(batch, n, d_model, dtype=dtype)  # (batch, n, d_model)
        mask = causal_mask(n)
        kind = str(dtype).removeprefix("torch.")
        with torch.no_grad():
            cases += [
                (f"{kind}, batch of {batch}", (block(x) - layer(x)).abs().max().item()),
                (f"{kind}, one sequence", (block(x[0]) - layer(x[0])).abs().max().item()),
                # torch's boolean src_mask means "blocked": the opposite of ours.
                (f"{kind}, causal mask",
                 (block(x, mask) - layer(x, src_mask=~mask)).abs().max().item()),
            ]
    return {"config": {"d_model": d_model, "n_heads": n_heads, "d_ff": d_ff, "n": n,
                       "batch": batch, "seed": seed},
            "tolerance": tolerance,
            "cases": [{"setting": s, "max_abs_difference": g} for s, g in cases]}


# --- T1, P3: where the parameters sit -------------------------------------------------------


def param_breakdown(*, d_model: int, n_heads: int, d_ff: int) -> dict:
    """Experiment (T1, P3): parameter count of one block by part (in the library's order,
    with the modules of each part), the total, and how many sit in `torch.nn.Linear`
    layers, counted by module type."""
    import torch

    from ..transformer import PARTS, TransformerBlock, parameter_breakdown

    block = TransformerBlock(d_model, n_heads, d_ff)
    counts = parameter_breakdown(block)
    in_linear = sum(p.numel() for m in block.modules() if isinstance(m, torch.nn.Linear)
                    for p in m.parameters())
    return {"config": {"d_model": d_model, "n_heads": n_heads, "d_ff": d_ff},
            "parts": [{"part": part, "modules": list(PARTS[part]), "parameters": count}
                      for part, count in counts.items()],
            "total": sum(p.numel() for p in block.parameters()),
            "in_linear_layers": in_linear}


# --- T1: the layer's diagram, read off one forward call ---------------------------------------

# Autograd nodes the diagram shows, by their class name (the others, reshapes and views, are
# passed through): label shown, kind.
SHOWN_OPERATIONS = {"AddBackward0": ("+", "add"), "ReluBackward0": ("ReLU", "operation"),
                    "SoftmaxBackward0": ("softmax", "operation"),
                    "BmmBackward0": ("matmul", "operation"),
                    "MulBackward0": ("÷ √d_head", "operation")}


def layer_graph(*, n: int, d_model: int, n_heads: int, d_ff: int, seed: int) -> dict:
    """T1: the data flow of one TransformerBlock call, from the autograd graph its output
    carries: the input, every submodule's output (named by forward hooks) and the shown
    operations, with an edge from each to the nearest shown nodes it was computed from
    (parameters left out). Nodes in a topological order, the input first."""
    import torch

    from ..transformer import TransformerBlock

    torch.manual_seed(seed)
    block = TransformerBlock(d_model, n_heads, d_ff)
    x = torch.randn(n, d_model, requires_grad=True)  # (n, d_model)
    modules: dict[object, tuple[str, str]] = {}  # grad_fn -> (submodule name, its class)

    def named(module, args, out, name):
        modules[out.grad_fn] = (name, type(module).__name__)

    handles = [module.register_forward_hook(lambda m, a, o, name=name: named(m, a, o, name))
               for name, module in block.named_modules() if name]
    try:
        y = block(x)  # (n, d_model)
    finally:
        for handle in handles:
            handle.remove()

    def shown(fn) -> tuple[str, str] | None:
        if fn in modules:
            return modules[fn]
        if getattr(fn, "variable", None) is x:
            return ("x", "input")
        return SHOWN_OPERATIONS.get(type(fn).__name__)

    def sources(fn) -> list:
        """The nearest shown nodes `fn` was computed from, through the others."""
        found, stack = [], [nxt for nxt, _ in fn.next_functions if nxt is not None]
        while stack:
            node = stack.pop()
            if shown(node) is not None:
                found.append(node)
            elif not hasattr(node, "variable"):  # a parameter's leaf: not data flow
                stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
        return found

    inputs: dict = {}  # shown node -> its sources, in a topological order (dicts keep order)

    def visit(fn):
        if fn in inputs:
            return
        found = sources(fn)
        for source in found:
            visit(source)
        inputs[fn] = found

    visit(y.grad_fn)
    ids = {fn: i for i, fn in enumerate(inputs)}
    nodes = [{"id": ids[fn], "label": shown(fn)[0], "kind": shown(fn)[1]} for fn in inputs]
    edges = sorted({(ids[s], ids[fn]) for fn, found in inputs.items() for s in found})
    return {"config": {"n": n, "d_model": d_model, "n_heads": n_heads, "d_ff": d_ff,
                       "seed": seed},
            "nodes": nodes, "edges": [list(e) for e in edges],
            "output_shape": list(y.shape)}
