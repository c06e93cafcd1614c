"""Evidence for the cost page (C1-C4): counts, measurements and tables of attention's cost.

* `flop_check` (C1): the FLOP formula against operations counted by torch's FlopCounterMode;
* `time_sweep` (C1): plain attention's time over n, log-log, fitted exponent, achieved FLOP/s;
* `memory_sweep` (C2): its peak memory over n against the bytes of the n x n table;
* `context_table` (C3): table memory and FLOPs for a real model shape, 1k to 1M tokens, also
  written as JSON for the page's slider;
* `chunked_check`, `sliding_window_error`, `side_by_side` (C4): the cheaper variants of
  `attnsheet.efficient`, checked and measured beside plain attention and torch's SDPA.

The formulas below count a multiply-add as 2 FLOPs, the convention of FlopCounterMode.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path

from . import measure
from .figures import figure_markdown, save_light_dark, write_fragment
from .machine import machine_markdown

HEAD_SIZE = 64  # d of the measured single head: the size of one head in many models
MARKERS = ("o", "s", "^", "D")

# Llama 2 7B's published configuration (Touvron et al., 2023, "Llama 2: Open Foundation and
# Fine-Tuned Chat Models"; the released config.json): plain multi-head attention in every layer.
LLAMA2_7B = {"name": "Llama 2 7B", "layers": 32, "heads": 32, "head_size": 128,
             "d_model": 4096, "d_ff": 11008, "trained_context": 4096}


# --- formulas -------------------------------------------------------------------------------


def projection_flops(n: int, d_model: int) -> int:
    """x @ w_q, x @ w_k, x @ w_v and the output projection: 4 products of (n, d) @ (d, d)."""
    return 4 * 2 * n * d_model * d_model


def attention_flops(n: int, d_model: int) -> int:
    """q @ k^T (n x n scores) and weights @ v, summed over heads: the part that grows with n^2."""
    return 2 * (2 * n * n * d_model)


def table_bytes(n: int, bytes_per_entry: int) -> int:
    """One head's n x n score table."""
    return n * n * bytes_per_entry


def format_bytes(count: float) -> str:
    """Binary units, three significant digits: 2 MiB, 1.5 GiB, 512 GiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    value, unit = float(count), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{_three_digits(value)} {units[unit]}"


def format_flops(count: float) -> str:
    """Decimal units, three significant digits: 8.6 GFLOP, 1.2 PFLOP."""
    prefixes = ("", "k", "M", "G", "T", "P", "E")
    value, prefix = float(count), 0
    while value >= 1000 and prefix < len(prefixes) - 1:
        value, prefix = value / 1000, prefix + 1
    return f"{_three_digits(value)} {prefixes[prefix]}FLOP"


def _three_digits(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3g}" if seconds < 0.1 else f"{seconds * 1e3:,.0f}"


# --- shared pieces ----------------------------------------------------------------------------


def plain_attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v in a few torch operations: the library's attention_torch
    without its input checks, so that the time measured is attention's own."""
    import torch

    q = q / math.sqrt(q.shape[-1])  # scaling q, not the scores: n*d numbers instead of n^2
    return torch.softmax(q @ k.mT, dim=-1) @ v


def random_qkv(n: int, d: int = HEAD_SIZE, seed: int = 0):
    """q, k, v of shape (1, 1, n, d) in float32: batch 1, one head, as SDPA expects them."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.randn(3, 1, 1, n, d, generator=generator).unbind(0)


def _n_label(n: int) -> str:
    return f"{n // 1024}k" if n >= 1024 else str(n)


def _lengths_axis(axes, colors, lengths: list[int], ylabel: str, log_y: bool = True) -> None:
    """x: the lengths on a log-2 scale, labelled 512, 1k, 2k; y: log-10 or linear, plain
    numbers (no TeX-style powers, which also keeps matplotlib's slow math parser out)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axes.set_xscale("log", base=2)
    axes.set_xticks(lengths, [_n_label(n) for n in lengths])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("n (tokens)")
    if log_y:
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_ylabel(ylabel)
    axes.grid(True, which="major", color=colors["grid"], linewidth=0.6)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _legend(axes, colors, where: str = "best") -> None:
    legend = axes.legend(frameon=False, fontsize=9, loc=where)
    for text in legend.get_texts():
        text.set_color(colors["text"])


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """First column left-aligned (it names the row), the others right-aligned (numbers)."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- C1: the FLOP formula against counted operations ------------------------------------------


def flop_check(site_dir: Path, include_dir: Path, *, d_model: int, heads: int,
               lengths: list[int]) -> list[Path]:
    """Count the matrix-product FLOPs of the library's multi-head attention with torch's
    FlopCounterMode and compare them with the formulas, term by term (they must be equal)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..attention import multi_head_attention_torch

    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(4, d_model, d_model, generator=generator).unbind(0)
    rows = []
    for n in lengths:
        x = torch.randn(n, d_model, generator=generator)
        with FlopCounterMode(display=False) as counter:
            multi_head_attention_torch(x, *weights, n_heads=heads)
        counted = {str(op).removeprefix("aten."): flops
                   for op, flops in counter.get_flop_counts()["Global"].items()}
        expected = {"mm": projection_flops(n, d_model), "bmm": attention_flops(n, d_model)}
        if counted != expected:
            raise AssertionError(f"n={n}: counted {counted}, the formula says {expected}")
        share = expected["bmm"] / sum(expected.values())
        rows.append([f"{n:,}", f"{counted['mm']:,}", f"{counted['bmm']:,}", "equal",
                     f"{share:.0%}"])
    crossover = 2 * d_model  # 4 n^2 d = 8 n d^2
    table = _markdown_table(
        ["n", "projections (counted)", "scores + blend (counted)", "vs formula",
         "share of n² part"], rows)
    text = (
        f"The library's multi-head attention (model width d = {d_model}, {heads} heads) run "
        f"under `torch.utils.flop_counter.FlopCounterMode` at {len(lengths)} lengths. The "
        f"counter sees the projections as `mm` and the per-head score and blend products as "
        f"`bmm`; both equal the formulas exactly at every length. The n² part overtakes the "
        f"projections at n = 2d = {crossover:,}.\n\n" + table
    )
    return [write_fragment(include_dir, "figures/cost/flop-check.md", text)]


# --- C1: time over n ------------------------------------------------------------------------


def time_breakdown(n: int, repeats: int) -> dict[str, float]:
    """Median seconds of plain attention's three steps, each on its own, and of the whole."""
    import torch

    q, k, v = random_qkv(n)
    scaled_q = q / math.sqrt(q.shape[-1])
    scores = scaled_q @ k.mT
    weights = torch.softmax(scores, dim=-1)
    steps = {
        "scores": lambda: scaled_q @ k.mT,
        "softmax": lambda: torch.softmax(scores, dim=-1),
        "blend": lambda: weights @ v,
        "whole": lambda: plain_attention(q, k, v),
    }
    for step in steps.values():
        step()  # warm-up
    return measure.interleaved_medians(steps, dict.fromkeys(steps, repeats))


def time_sweep(site_dir: Path, include_dir: Path, *, lengths: list[int], repeats: int,
               repeats_long: int, long_from: int, fit_from_multiple: int, breakdown_n: int,
               threads: int) -> list[Path]:
    """Median time of plain attention over n, the fitted exponent where n >> d, the ratio for
    each doubling, and the achieved FLOP/s against this machine's matrix-multiply rate."""
    inputs = {n: random_qkv(n) for n in lengths}
    calls = {n: functools.partial(plain_attention, *inputs[n]) for n in lengths}
    with measure.measuring(threads):
        matmul_rate = measure.matmul_flops_per_second()
        for call in calls.values():
            call()  # warm-up
        medians = measure.interleaved_medians(
            calls, {n: repeats_long if n >= long_from else repeats for n in lengths})
        parts = time_breakdown(breakdown_n, repeats_long)
    load = os.getloadavg()[0]  # other work on the machine shows in the numbers: say how much
    seconds = [medians[n] for n in lengths]
    flops = [attention_flops(n, HEAD_SIZE) for n in lengths]
    rates = [f / s for f, s in zip(flops, seconds)]
    fit_from = fit_from_multiple * HEAD_SIZE
    fit = [(n, s) for n, s in zip(lengths, seconds) if n >= fit_from]
    exponent = measure.fitted_exponent(*zip(*fit))
    ratios = [later / earlier for earlier, later in zip(seconds, seconds[1:])]
    fit_steps = [(a, b, r) for a, b, r in zip(lengths, lengths[1:], ratios) if a >= fit_from]
    cache = measure.last_level_cache_bytes()
    # Softmax reads the scores and writes the weights: two tables, 8 n^2 bytes, in cache or not.
    cache_n = math.sqrt(cache / 8) if cache else None
    across = next(((a, b, r) for a, b, r in fit_steps if cache_n and a < cache_n <= b), None)

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.3))
        _lengths_axis(left, colors, lengths, "median time (ms)")
        left.axvspan(fit_from, lengths[-1], color=colors["grid"], alpha=0.35, linewidth=0)
        left.plot(lengths, [s * 1e3 for s in seconds], marker="o", color=colors["accent"],
                  label="measured")
        left.set_ylim(top=max(seconds) * 1e3 * 10)  # room for the legend above the data
        scale = fit[-1][1] / fit[-1][0] ** exponent
        left.plot([n for n, _ in fit], [scale * n**exponent * 1e3 for n, _ in fit], "--",
                  color=colors["series"][1], label=f"fit: n^{exponent:.2f}")
        if cache_n and lengths[0] < cache_n <= lengths[-1]:
            left.axvline(cache_n, linestyle=":", color=colors["muted"],
                         label=f"scores + weights = {format_bytes(cache)} cache")
        _legend(left, colors, "upper left")  # the data rise from lower left to upper right
        _lengths_axis(right, colors, lengths, "GFLOP/s", log_y=False)
        right.plot(lengths, [r / 1e9 for r in rates], marker="o", color=colors["accent"],
                   label="attention")
        right.axhline(matmul_rate / 1e9, linestyle="--", color=colors["series"][1],
                      label="large matrix product")
        right.set_ylim(0, max(matmul_rate, max(rates)) / 1e9 * 1.3)
        _legend(right, colors)
        figure.tight_layout()
        return figure

    stem = "figures/cost/time-sweep"
    files = save_light_dark(draw, site_dir, stem)
    doubling = ", ".join(f"{r:.1f}" for _, _, r in fit_steps)
    cache_text = ""
    if across and across[2] == max(r for _, _, r in fit_steps) and exponent > 2.1:
        cache_text = (
            f" The biggest step ({across[0]:,} → {across[1]:,}) crosses the dotted line, where "
            f"the scores and the weights outgrow the CPU's {format_bytes(cache)} cache: that "
            f"lifts the fit above 2."
        )
    counted = parts["scores"] + parts["softmax"] + parts["blend"]
    outside = max(0.0, 1 - counted / parts["whole"])
    verdict = (f" At n = {breakdown_n:,}, the two products and softmax account for "
               f"{min(1.0, counted / parts['whole']):.0%} of the time"
               + (": the cost is work on the n² scores, not overhead." if outside < 0.1
                  else "."))
    fraction = rates[-1] / matmul_rate
    alt = (
        f"Log-log plot of plain attention's median time against n from {lengths[0]:,} to "
        f"{lengths[-1]:,} tokens: over n at least {fit_from:,} the fitted exponent is "
        f"{exponent:.2f}, and each doubling of n multiplied the time by {doubling}. A second "
        f"panel shows the achieved rate: {rates[-1] / 1e9:.0f} GFLOP/s at n = "
        f"{lengths[-1]:,}, {fraction:.0%} of the machine's {matmul_rate / 1e9:.0f} GFLOP/s "
        f"for one large matrix product."
    )
    caption = (
        f"Plain attention, one head (d = {HEAD_SIZE}). Where n ≫ d (shaded), time grows like "
        f"n<sup>{exponent:.2f}</sup>, and each doubling of n multiplied it by "
        f"<strong>{doubling}</strong>.{cache_text} Right: counted FLOPs per second, "
        f"{rates[-1] / 1e9:.0f} GFLOP/s at n = {lengths[-1]:,}, {fraction:.0%} of this "
        f"machine's rate for one large matrix product.{verdict}"
    )
    rows = [[f"{n:,}", _ms(s), f"{r:.2f}" if i else "", f"{rate / 1e9:.1f}",
             f"{rate / matmul_rate:.0%}"]
            for i, (n, s, r, rate) in enumerate(zip(lengths, seconds, [0.0, *ratios], rates))]
    half = attention_flops(breakdown_n, HEAD_SIZE) / 2  # each product does half the FLOPs
    steps = [["q kᵀ (scores)", _ms(parts["scores"]), f"{half / parts['scores'] / 1e9:.1f}"],
             ["softmax", _ms(parts["softmax"]), "(no multiply-adds)"],
             ["weights v (blend)", _ms(parts["blend"]), f"{half / parts['blend'] / 1e9:.1f}"],
             ["the three in one call", _ms(parts["whole"]),
              f"{2 * half / parts['whole'] / 1e9:.1f}"]]
    details = (
        f"Float32 on {threads} thread{'s' if threads > 1 else ''}. Each length was called once "
        f"to warm up, then timed {repeats} times ({repeats_long} from n = {long_from:,}), the "
        f"lengths taking turns so that a burst of other work on the machine hits them alike; "
        f"the median is shown. The fit is a least-squares line through log time against log n "
        f"for n ≥ {fit_from_multiple} d = {fit_from:,}. The reference rate is the median of "
        f"one 1,024 × 1,024 float32 matrix product: "
        f"{matmul_rate / 1e9:.0f} GFLOP/s.\n\n"
        + _markdown_table(["n", "median ms", "× previous", "GFLOP/s", "of matmul rate"], rows)
        + f"\nWhere the time goes at n = {breakdown_n:,}, each step timed on its own:\n\n"
        + _markdown_table(["step", "median ms", "GFLOP/s"], steps)
    )
    fragment = figure_markdown(stem, alt, caption) + "\n" + machine_markdown(threads, load)
    data = {"lengths": lengths, "seconds": seconds, "flops": flops, "exponent": exponent,
            "fit_from": fit_from, "matmul_flops_per_second": matmul_rate, "threads": threads,
            "load_average": load, "breakdown": {"n": breakdown_n, **parts}}
    return files + [
        write_fragment(include_dir, "figures/cost/time-sweep.md", fragment),
        write_fragment(include_dir, "figures/cost/time-sweep-table.md", details),
        _write_json(site_dir, "data/cost/time-sweep.json", data),
    ]


# --- C2: memory over n ----------------------------------------------------------------------


def memory_sweep(site_dir: Path, include_dir: Path, *, lengths: list[int],
                 threads: int) -> list[Path]:
    """Peak extra memory of one plain-attention call over n, beside the n x n table's bytes."""
    peaks, tables = [], []
    with measure.measuring(threads):
        for n in lengths:
            q, k, v = random_qkv(n)
            plain_attention(q, k, v)  # warm-up
            peaks.append(measure.peak_bytes(lambda: plain_attention(q, k, v)))
            tables.append(table_bytes(n, 4))
            del q, k, v
    load = os.getloadavg()[0]
    ratios = [p / t for p, t in zip(peaks, tables)]
    exponent = measure.fitted_exponent(lengths, peaks)
    growth = [later / earlier for earlier, later in zip(peaks, peaks[1:])]

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(5.6, 3.4))
        _lengths_axis(axes, colors, lengths, "memory")
        axes.plot(lengths, peaks, marker="o", color=colors["accent"],
                  label="measured peak of one call")
        axes.plot(lengths, tables, "--", marker="s", color=colors["series"][1],
                  label="formula: one n × n table, 4n² bytes")
        ticks = [2**p for p in range(18, 32, 2)]
        axes.set_yticks(ticks, [format_bytes(t) for t in ticks])
        axes.set_ylim(min(tables) / 2, max(peaks) * 2)
        _legend(axes, colors)
        figure.tight_layout()
        return figure

    stem = "figures/cost/memory-sweep"
    files = save_light_dark(draw, site_dir, stem)
    alt = (
        f"Log-log plot of the peak memory of plain attention against n from {lengths[0]:,} to "
        f"{lengths[-1]:,}: the measured peak grows with exponent {exponent:.2f} and stays "
        f"{min(ratios):.1f} to {max(ratios):.1f} times the 4n² bytes of one score table, "
        f"reaching {format_bytes(peaks[-1])} at n = {lengths[-1]:,}."
    )
    caption = (
        f"Peak memory of one call of plain attention (one head, d = {HEAD_SIZE}, float32) "
        f"against the bytes of one n × n table. It grows like n<sup>{exponent:.2f}</sup>: each "
        f"doubling of n multiplied it by <strong>{', '.join(f'{g:.1f}' for g in growth)}</strong>"
        f". It stays {min(ratios):.1f} to {max(ratios):.1f} tables, because the scores and the "
        f"softmax weights are both full tables, alive at the same moment."
    )
    rows = [[f"{n:,}", format_bytes(t), format_bytes(p), f"{r:.2f}"]
            for n, t, p, r in zip(lengths, tables, peaks, ratios)]
    table = _markdown_table(["n", "one table (formula)", "measured peak", "peak / table"], rows)
    fragment = figure_markdown(stem, alt, caption) + "\n" + machine_markdown(threads, load)
    return files + [
        write_fragment(include_dir, "figures/cost/memory-sweep.md", fragment),
        write_fragment(include_dir, "figures/cost/memory-sweep-table.md", table),
    ]


# --- C3: why context windows exist ------------------------------------------------------------


def context_rows(model: dict, lengths: list[int], budget_bytes: float) -> list[dict]:
    """One row per context length: score-table bytes and FLOPs per layer for `model`."""
    d_model, heads = model["d_model"], model["heads"]
    rows = []
    for n in lengths:
        mlp = 3 * 2 * n * d_model * model["d_ff"]  # gate, up and down projections
        quadratic = attention_flops(n, d_model)
        total = projection_flops(n, d_model) + quadratic + mlp
        layer_fp16 = heads * table_bytes(n, 2)
        rows.append({
            "n": n,
            "head_fp16_bytes": table_bytes(n, 2),
            "head_fp32_bytes": table_bytes(n, 4),
            "layer_fp16_bytes": layer_fp16,
            "layer_flops": total,
            "quadratic_share": quadratic / total,
            "layer_fits": layer_fp16 <= budget_bytes,
            "head_fits": table_bytes(n, 2) <= budget_bytes,
        })
    return rows


def context_table(site_dir: Path, include_dir: Path, *, lengths: list[int],
                  budget_gb: int) -> list[Path]:
    """Table (page) and JSON (slider) of score-table memory and FLOPs, 1k to 1M tokens."""
    model = LLAMA2_7B
    budget = budget_gb * 10**9
    rows = context_rows(model, lengths, budget)
    for row in rows:  # the strings the page and the slider show, formatted in one place
        row["labels"] = {
            "n": f"{row['n']:,}",
            "head_fp16": format_bytes(row["head_fp16_bytes"]),
            "head_fp32": format_bytes(row["head_fp32_bytes"]),
            "layer_fp16": format_bytes(row["layer_fp16_bytes"]),
            "layer_flops": format_flops(row["layer_flops"]),
            "quadratic_share": f"{row['quadratic_share']:.0%}",
            "layer_fits": "yes" if row["layer_fits"] else "no",
        }
    first_layer_miss = next((r for r in rows if not r["layer_fits"]), None)
    first_head_miss = next((r for r in rows if not r["head_fits"]), None)
    heads = model["heads"]
    header = ["n", "1 head fp16", "1 head fp32", f"{heads} heads fp16", "FLOPs", "from n²"]
    table_rows = []
    for row in rows:
        cells = [row["labels"][key].replace(" ", "\u00a0")  # a number stays with its unit
                 for key in ("n", "head_fp16", "head_fp32", "layer_fp16", "layer_flops",
                             "quadratic_share")]
        if row is first_layer_miss or row is first_head_miss:
            cells = [f"**{cell}**" for cell in cells]
        table_rows.append(cells)

    misses = [f"the first length where {what} no longer {verb} in {budget_gb} GB "
              f"(n = {row['n']:,})"
              for row, what, verb in ((first_layer_miss, "one layer’s tables", "fit"),
                                      (first_head_miss, "a single head’s table", "fits"))
              if row]
    intro = (
        f"{model['name']}: {model['layers']} layers, each with {heads} heads of size "
        f"{model['head_size']} (model width {model['d_model']:,}, feed-forward width "
        f"{model['d_ff']:,}), trained with a {model['trained_context']:,}-token context. "
        f"Memory: one n × n table of scores per head and layer, if it were held whole as plain "
        f"attention holds it, at 2 bytes a score (fp16) or 4 (fp32). *FLOPs*: one layer's, "
        f"projections {_formula('8nd²')} + scores and blend {_formula('4n²d')} + feed-forward "
        f"{_formula('6nd·d_ff')}; *from n²*: the share of the scores and blend."
        + (f" In bold: {' and '.join(misses)}." if misses else "") + "\n\n"
    )
    data = {"model": model, "budget_gb": budget_gb, "rows": rows}
    start = next((i for i, row in enumerate(rows) if row["n"] == model["trained_context"]), 0)
    return [
        write_fragment(include_dir, "figures/cost/context-table.md",
                       intro + _markdown_table(header, table_rows)),
        write_fragment(include_dir, "figures/cost/context-slider.md",
                       slider_html(model, budget_gb, rows, start)),
        _write_json(site_dir, "data/cost/context-window.json", data),
    ]


def slider_html(model: dict, budget_gb: int, rows: list[dict], start: int) -> str:
    """The slider's markup, showing row `start`; javascripts/context-window.js brings it to
    life from the JSON (and unhides it: without JavaScript the table above says it all)."""
    labels = rows[start]["labels"]

    def field(name: str) -> str:
        return f'<strong data-field="{name}">{labels[name]}</strong>'

    return (
        '<div class="context-slider" data-context-slider hidden>\n'
        f'<label for="context-length">Context length for {model["name"]}: '
        f'{field("n")} tokens</label>\n'
        f'<input type="range" id="context-length" min="0" max="{len(rows) - 1}" step="1" '
        f'value="{start}" aria-valuetext="{labels["n"]} tokens">\n'
        '<ul aria-live="polite">\n'
        f'<li>One head’s score table in one layer: {field("head_fp16")} in fp16, '
        f'{field("head_fp32")} in fp32</li>\n'
        f'<li>All {model["heads"]} heads of one layer, fp16: {field("layer_fp16")}; fits in '
        f'{budget_gb} GB: {field("layer_fits")}</li>\n'
        f'<li>One layer’s FLOPs: {field("layer_flops")}, {field("quadratic_share")} of them '
        f'from the n² part</li>\n'
        '</ul>\n'
        '</div>\n'
    )


def _formula(text: str) -> str:
    return f"<code>{text}</code>"


def _write_json(site_dir: Path, name: str, data) -> Path:
    path = site_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


# --- C4: cheaper attention ------------------------------------------------------------------


def chunked_check(site_dir: Path, include_dir: Path, *, cases: list[dict],
                  tolerance: float) -> list[Path]:
    """Largest difference between chunked attention, the library's plain attention and SDPA,
    in float32, over shapes, chunk sizes and masks; fails the build beyond `tolerance`."""
    import torch
    import torch.nn.functional as F

    from ..attention import attention_torch
    from ..efficient import chunked_attention_torch

    generator = torch.Generator().manual_seed(0)
    rows, worst = [], 0.0
    for case in cases:
        n, chunk, kind = case["n"], case["chunk"], case["mask"]
        q, k, v = torch.randn(3, 2, n, HEAD_SIZE, generator=generator).unbind(0)
        if kind == "causal":
            mask = torch.ones(n, n, dtype=torch.bool).tril()
            chunked = chunked_attention_torch(q, k, v, chunk_size=chunk, causal=True)
        elif kind == "random":
            mask = torch.rand(n, n, generator=generator) < 0.5
            mask[:, 0] = True  # every query may attend somewhere
            chunked = chunked_attention_torch(q, k, v, mask, chunk_size=chunk)
        else:
            mask = None
            chunked = chunked_attention_torch(q, k, v, chunk_size=chunk)
        plain = attention_torch(q, k, v, mask)
        sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        errors = [float((chunked - plain).abs().max()), float((chunked - sdpa).abs().max())]
        worst = max(worst, *errors)
        rows.append([f"{n:,}", f"{chunk:,}", kind, f"{errors[0]:.1e}", f"{errors[1]:.1e}"])
    if worst > tolerance:
        raise AssertionError(f"chunked attention is off by {worst:.2e} > {tolerance:.0e}")
    text = (
        f"Chunked attention against the library's plain attention and against torch's "
        f"`scaled_dot_product_attention`, float32, batch of 2, d = {HEAD_SIZE}: the largest "
        f"difference over all cases is {worst:.1e}, within the {tolerance:.0e} the build "
        f"requires.\n\n"
        + _markdown_table(["n", "chunk", "mask", "largest difference from plain", "from SDPA"],
                          rows)
    )
    return [write_fragment(include_dir, "figures/cost/chunked-check.md", text)]


def smooth_sequence(n: int, d: int, correlation: float, generator):
    """Token vectors that drift slowly (each close to its neighbours): x_t = c x_{t-1} + noise."""
    import torch

    noise = torch.randn(n, d, generator=generator)
    x = torch.empty(n, d)
    x[0] = noise[0]
    spread = math.sqrt(1 - correlation**2)  # keeps every x_t at unit variance
    for t in range(1, n):
        x[t] = correlation * x[t - 1] + spread * noise[t]
    return x


def sliding_window_error(site_dir: Path, include_dir: Path, *, n: int, windows: list[int],
                         correlation: float) -> list[Path]:
    """How far sliding-window attention is from full attention, by window size, on random
    vectors and on a slowly drifting sequence (where nearby tokens matter most)."""
    import torch

    from ..attention import attention_torch
    from ..efficient import sliding_window_attention_torch

    generator = torch.Generator().manual_seed(0)
    drifting = smooth_sequence(n, HEAD_SIZE, correlation, generator)
    data = {  # name -> (q, k, v)
        "random": tuple(torch.randn(3, n, HEAD_SIZE, generator=generator).unbind(0)),
        "drifting": (drifting, drifting, drifting),
    }
    distance = (torch.arange(n)[:, None] - torch.arange(n)).abs()  # (n, n)
    results = {}
    for name, (q, k, v) in data.items():
        full, weights = attention_torch(q, k, v, return_weights=True)
        for window in windows:
            local = sliding_window_attention_torch(q, k, v, window=window)
            error = float((local - full).norm() / full.norm())
            dropped = float(weights.masked_fill(distance < window, 0).sum(dim=-1).mean())
            results[name, window] = (dropped, error)
    seen = {w: float((distance < w).sum(dim=-1).float().mean()) for w in windows}
    rows = [[f"{w:,}", f"{seen[w]:,.0f}"]
            + [f"{results[name, w][i]:.1%}" for name in data for i in (0, 1)]
            for w in windows]
    header = ["window", "keys per query", "weight dropped (random)", "error (random)",
              "weight dropped (drifting)", "error (drifting)"]
    small, whole = windows[0], windows[-1]
    text = (
        f"n = {n:,}, d = {HEAD_SIZE}. *Weight dropped*: the share of full attention's weight "
        f"that lies beyond the window. *Error*: ‖local − full‖ / ‖full‖. On random vectors, "
        f"where attention spreads everywhere, a {small}-token window drops "
        f"{results['random', small][0]:.0%} of the weight, and its answer is off by "
        f"{results['random', small][1]:.0%} of the full answer's size. On a slowly drifting "
        f"sequence (q = k = v, "
        f"each token correlated {correlation} with the one before), where the weight stays "
        f"near the diagonal, the same window is {results['drifting', small][1]:.0%} off. A "
        f"window of {whole:,} covers every token: error {results['random', whole][1]:.1%}, "
        f"full attention again.\n\n"
        + _markdown_table(header, rows)
    )
    return [write_fragment(include_dir, "figures/cost/sliding-window-error.md", text)]


METHODS = ("plain", "chunked", "sliding window", "SDPA")


def side_by_side(site_dir: Path, include_dir: Path, *, lengths: list[int], repeats: int,
                 chunk_size: int, window: int, threads: int) -> list[Path]:
    """Time and peak memory of plain, chunked, sliding-window and torch's SDPA over n."""
    import torch.nn.functional as F

    from ..efficient import chunked_attention_torch, sliding_window_attention_torch

    functions = {
        "plain": plain_attention,
        "chunked": lambda q, k, v: chunked_attention_torch(q, k, v, chunk_size=chunk_size),
        "sliding window": lambda q, k, v: sliding_window_attention_torch(q, k, v,
                                                                         window=window),
        "SDPA": F.scaled_dot_product_attention,
    }
    inputs = {n: random_qkv(n) for n in lengths}
    calls = {(method, n): functools.partial(function, *inputs[n])
             for n in lengths for method, function in functions.items()}
    with measure.measuring(threads):
        for method in METHODS:  # one-off set-up costs stay out of the first measurement
            calls[method, lengths[0]]()
        peak = {key: measure.peak_bytes(call) for key, call in calls.items()}  # warm-ups too
        median = measure.interleaved_medians(calls, dict.fromkeys(calls, repeats))
    load = os.getloadavg()[0]
    seconds = {m: [median[m, n] for n in lengths] for m in METHODS}
    peaks = {m: [peak[m, n] for n in lengths] for m in METHODS}
    labels = {
        "plain": "plain (n × n table)",
        "chunked": f"chunked ({chunk_size:,} keys a step)",
        "sliding window": f"sliding window ({window:,})",
        "SDPA": "torch SDPA",
    }

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.4))
        _lengths_axis(left, colors, lengths, "median time (ms)")
        _lengths_axis(right, colors, lengths, "peak memory")
        for i, method in enumerate(METHODS):
            style = {"marker": MARKERS[i], "color": colors["series"][i], "label": labels[method]}
            left.plot(lengths, [s * 1e3 for s in seconds[method]], **style)
            right.plot(lengths, peaks[method], **style)
        low = min(min(p) for p in peaks.values())
        high = max(max(p) for p in peaks.values())
        ticks = [2**e for e in range(10, 40, 2) if low / 4 <= 2**e <= high * 4]
        right.set_yticks(ticks, [format_bytes(t) for t in ticks])
        _legend(left, colors)
        figure.tight_layout()
        return figure

    stem = "figures/cost/side-by-side"
    files = save_light_dark(draw, site_dir, stem)

    def growth(values):
        return values[-1] / values[-2]

    last, before = lengths[-1], lengths[-2]
    # Whether torch's SDPA held the table depends on the kernel it picked: read it off.
    sdpa = ("Chunked attention and SDPA never hold the table" if growth(peaks["SDPA"]) < 3
            else "Chunked attention never holds the table (SDPA did, here)")
    at_last = "; ".join(
        f"{method} {_ms(seconds[method][-1])} ms, {format_bytes(peaks[method][-1])}"
        for method in METHODS)
    memory_growth = ", ".join(f"{m} {growth(peaks[m]):.1f}×" for m in METHODS)
    time_growth = ", ".join(f"{m} {growth(seconds[m]):.1f}×" for m in METHODS)
    alt = (
        f"Two log-log plots over n from {lengths[0]:,} to {last:,} for four attention methods. "
        f"From n = {before:,} to {last:,} peak memory grew {memory_growth}; time grew "
        f"{time_growth}. At n = {last:,}: {at_last}."
    )
    caption = (
        f"One run, one head (d = {HEAD_SIZE}). From n = {before:,} to {last:,}, memory grew "
        f"<strong>{memory_growth}</strong>, and time grew <strong>{time_growth}</strong>. "
        f"{sdpa}: their memory grows like n while the work still grows like n². The sliding "
        f"window's work and memory both grow like n, at the price of exactness."
    )
    rows = [[f"{n:,}"] + [f"{_ms(seconds[m][i])} ms, {format_bytes(peaks[m][i])}"
                          for m in METHODS]
            for i, n in enumerate(lengths)]
    details = (
        f"Float32 on {threads} thread{'s' if threads > 1 else ''}. Memory: the peak of each "
        f"method's first call at each length (its warm-up). Time: the median of {repeats} "
        f"further calls, all methods and lengths taking turns.\n\n"
        + _markdown_table(["n", *METHODS], rows)
    )
    fragment = figure_markdown(stem, alt, caption) + "\n" + machine_markdown(threads, load)
    return files + [
        write_fragment(include_dir, "figures/cost/side-by-side.md", fragment),
        write_fragment(include_dir, "figures/cost/side-by-side-table.md", details),
    ]
