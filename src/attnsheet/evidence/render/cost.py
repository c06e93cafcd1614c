"""Renderings of the cost page's data (C1-C4): figures, captions, tables and the slider.

Every number shown is read from the experiments' data (`attnsheet.experiments.cost`),
parameters included; nothing here measures or imports torch.
"""

from __future__ import annotations

from ..figures import MARKERS
from ..spec import Figure, MachineLine, Rendered
from .common import (format_bytes, format_flops, legend, lengths_axis, markdown_table, ms,
                     three_digits)


def _growth(values: list[float]) -> list[float]:
    """Each value over the one before: the factor per doubling of n."""
    return [later / earlier for earlier, later in zip(values, values[1:])]


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


def _byte_ticks(axes, low: float, high: float) -> None:
    """Powers of 4 bytes (1 KiB, 4 KiB, ...) as y ticks, a little beyond the data."""
    ticks = [2**e for e in range(10, 50, 2) if low / 4 <= 2**e <= high * 4]
    axes.set_yticks(ticks, [format_bytes(t) for t in ticks])


# --- C1 -------------------------------------------------------------------------------------


def flop_check(data: dict) -> Rendered:
    """The counted FLOPs beside the formulas, length by length."""
    rows = []
    for row in data["rows"]:
        counted, formula = row["counted"], row["formula"]
        share = formula["bmm"] / sum(formula.values())
        rows.append([f"{row['n']:,}", f"{counted.get('mm', 0):,}", f"{counted.get('bmm', 0):,}",
                     "equal" if counted == formula else "differs", f"{share:.0%}"])
    every = all(row["counted"] == row["formula"] for row in data["rows"])
    table = markdown_table(
        ["n", "projections (counted)", "scores + blend (counted)", "vs formula",
         "share of n² part"], rows)
    text = (
        f"The library's multi-head attention (model width d = {data['d_model']}, "
        f"{data['heads']} heads) run under `torch.utils.flop_counter.FlopCounterMode` at "
        f"{len(data['lengths'])} lengths. The counter sees the projections as `mm` and the "
        f"per-head score and blend products as `bmm`; "
        + ("both equal the formulas exactly at every length. " if every
           else "they do not equal the formulas at every length (see the table). ")
        + f"The n² part overtakes the projections at n = 2d = {data['crossover']:,}.\n\n"
        + table
    )
    return Rendered(parts={"": [text]})


def time_sweep(data: dict) -> Rendered:
    """Log-log time over n with the fit, the achieved rate, and every timing in a table."""
    lengths, seconds = data["lengths"], data["seconds"]
    exponent, fit_from = data["exponent"], data["fit_from"]
    matmul_rate = data["matmul_flops_per_second"]
    rates = [f / s for f, s in zip(data["flops"], seconds)]
    ratios = _growth(seconds)
    fit = [(n, s) for n, s in zip(lengths, seconds) if n >= fit_from]
    fit_steps = [(a, b, r) for a, b, r in zip(lengths, lengths[1:], ratios) if a >= fit_from]
    cache, cache_n = data["cache_bytes"], data["tables_fill_cache_at"]
    cache_shown = bool(cache_n) and lengths[0] < cache_n <= lengths[-1]

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.3))
        lengths_axis(left, colors, lengths, "median time (ms)")
        left.axvspan(fit_from, lengths[-1], color=colors["grid"], alpha=0.35, linewidth=0)
        left.plot(lengths, [s * 1e3 for s in seconds], marker="o", color=colors["accent"],
                  label="measured")
        left.set_ylim(top=max(seconds) * 1e3 * 10)  # room for the legend above the data
        scale = fit[-1][1] / fit[-1][0] ** exponent
        left.plot([n for n, _ in fit], [scale * n**exponent * 1e3 for n, _ in fit], "--",
                  color=colors["series"][1], label=f"fit: n^{exponent:.2f}")
        if cache_shown:
            left.axvline(cache_n, linestyle=":", color=colors["muted"],
                         label=f"scores + weights = {format_bytes(cache)} (cache size)")
        legend(left, colors, "upper left")  # the data rise from lower left to upper right
        lengths_axis(right, colors, lengths, "GFLOP/s", log_y=False)
        right.plot(lengths, [r / 1e9 for r in rates], marker="o", color=colors["accent"],
                   label="attention")
        right.axhline(matmul_rate / 1e9, linestyle="--", color=colors["series"][1],
                      label="large matrix product")
        right.set_ylim(0, max(matmul_rate, max(rates)) / 1e9 * 1.3)
        legend(right, colors)
        figure.tight_layout()
        return figure

    doubling = ", ".join(f"{r:.1f}" for _, _, r in fit_steps)
    # Where the biggest step sits beside the cache is shown; that the cache causes it is not
    # measured here (no cache-miss counts), so the caption does not say so.
    biggest = max(fit_steps, key=lambda step: step[2]) if fit_steps else None
    cache_text = ""
    if cache_shown and biggest and biggest[0] < cache_n <= biggest[1]:
        cache_text = (
            f" The biggest step ({biggest[0]:,} → {biggest[1]:,}) crosses the dotted line, "
            f"where the scores and the weights together outgrow the CPU's "
            f"{format_bytes(cache)} last-level cache; this build does not measure cache "
            f"misses, so it shows where the step is, not what causes it."
        )
    parts = data["breakdown"]
    breakdown_n = parts["n"]
    counted = parts["scores"] + parts["softmax"] + parts["blend"]
    outside = max(0.0, 1 - counted / parts["whole"])
    softmax_share = parts["softmax"] / counted
    verdict = (f" At n = {breakdown_n:,}, timed on their own, the two products and softmax "
               f"add up to {min(1.0, counted / parts['whole']):.0%} of the whole"
               + (", so the time goes to the n × n table, not to overhead" if outside < 0.1
                  else "")
               + (f"; the softmax, which multiplies nothing, takes {softmax_share:.0%} of it: "
                  f"much of the cost is moving the table through memory." if softmax_share >= 0.2
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
        f"Plain attention, one head (d = {data['head_size']}). Where n ≫ d (shaded), time grows "
        f"like n<sup>{exponent:.2f}</sup>, and each doubling of n multiplied it by "
        f"<strong>{doubling}</strong>.{cache_text} Right: counted FLOPs per second, "
        f"{rates[-1] / 1e9:.0f} GFLOP/s at n = {lengths[-1]:,}, {fraction:.0%} of this "
        f"machine's rate for one large matrix product.{verdict}"
    )
    rows = [[f"{n:,}", ms(s), f"{r:.2f}" if i else "", f"{rate / 1e9:.1f}",
             f"{rate / matmul_rate:.0%}"]
            for i, (n, s, r, rate) in enumerate(zip(lengths, seconds, [0.0, *ratios], rates))]
    half = parts["flops"] / 2  # each product does half the FLOPs
    steps = [["q kᵀ (scores)", ms(parts["scores"]), f"{half / parts['scores'] / 1e9:.1f}"],
             ["softmax", ms(parts["softmax"]), "(no multiply-adds)"],
             ["weights v (blend)", ms(parts["blend"]), f"{half / parts['blend'] / 1e9:.1f}"],
             ["the three in one call", ms(parts["whole"]),
              f"{parts['flops'] / parts['whole'] / 1e9:.1f}"]]
    size = data["matmul_size"]
    details = (
        f"Float32 on {_threads(data['threads'])}. Each length was called once to warm up, then "
        f"timed {data['repeats']} times ({data['repeats_long']} from n = "
        f"{data['long_from']:,}), the lengths taking turns so that a burst of other work on "
        f"the machine hits them alike; the median is shown. The fit is a least-squares line "
        f"through log time against log n for n ≥ {data['fit_from_multiple']} d = "
        f"{fit_from:,}. The reference rate is the median of one {size:,} × {size:,} float32 "
        f"matrix product: {matmul_rate / 1e9:.0f} GFLOP/s.\n\n"
        + markdown_table(["n", "median", "× previous", "GFLOP/s", "of matmul rate"], rows)
        + f"\nWhere the time goes at n = {breakdown_n:,}, each step timed on its own:\n\n"
        + markdown_table(["step", "median", "GFLOP/s"], steps)
    )
    # The heading says what the data shows: the count's 4x, and the time's own factors here
    # (one doubling may cost far more, when the table stops fitting a cache).
    # Short enough for a phone's line: the range the factors come from is in the caption.
    steps = [r for _, _, r in fit_steps] or ratios
    heading = (f"## Work ×4 per doubling; time ×{min(steps):.1f} to ×{max(steps):.1f} here "
               f"{{#the-work}}\n")
    return Rendered(parts={"": [heading, Figure(draw, alt, caption), MachineLine(data["machine"])],
                           "table": [details]})


# --- C2 -------------------------------------------------------------------------------------


def memory_sweep(data: dict) -> Rendered:
    """Measured peak memory over n beside the formula's one table, and every measurement."""
    lengths, peaks, tables = data["lengths"], data["peak_bytes"], data["table_bytes"]
    exponent = data["exponent"]
    ratios = [p / t for p, t in zip(peaks, tables)]
    growth = _growth(peaks)

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(5.6, 3.4))
        lengths_axis(axes, colors, lengths, "memory")
        axes.plot(lengths, peaks, marker="o", color=colors["accent"],
                  label="measured peak of one call")
        axes.plot(lengths, tables, "--", marker="s", color=colors["series"][1],
                  label="formula: one n × n table, 4n² bytes")
        _byte_ticks(axes, min(tables), max(peaks))
        axes.set_ylim(min(tables) / 2, max(peaks) * 2)
        legend(axes, colors)
        figure.tight_layout()
        return figure

    alt = (
        f"Log-log plot of the peak memory of plain attention against n from {lengths[0]:,} to "
        f"{lengths[-1]:,}: the measured peak grows with exponent {exponent:.2f} and stays "
        f"{min(ratios):.1f} to {max(ratios):.1f} times the 4n² bytes of one score table, "
        f"reaching {format_bytes(peaks[-1])} at n = {lengths[-1]:,}."
    )
    caption = (
        f"Peak memory of one call of plain attention (one head, d = {data['head_size']}, "
        f"float32) against the bytes of one n × n table. Fitted over every length, "
        f"{lengths[0]:,} to {lengths[-1]:,}, it grows like n<sup>{exponent:.2f}</sup>: each "
        f"doubling of n multiplied it by "
        f"<strong>{', '.join(f'{g:.1f}' for g in growth)}</strong>. It stays "
        f"{min(ratios):.1f} to {max(ratios):.1f} tables, because the scores and the softmax "
        f"weights are both full tables, alive at the same moment."
    )
    rows = [[f"{n:,}", format_bytes(t), format_bytes(p), f"{r:.2f}"]
            for n, t, p, r in zip(lengths, tables, peaks, ratios)]
    table = (
        markdown_table(["n", "one table (formula)", "measured peak", "peak / table"], rows)
        + f"\nOver n ≥ {data['fit_from']:,}, where fixed costs weigh little, the peak grows "
        f"like n<sup>{data['exponent_large']:.2f}</sup>.\n"
    )
    return Rendered(parts={"": [Figure(draw, alt, caption), MachineLine(data["machine"])],
                           "table": [table]})


# --- C3 -------------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """A compute time as a reader says it: 3.1 ms, 2.4 s, 3.5 min, 1.2 h."""
    if seconds < 1:
        return ms(seconds)
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{three_digits(seconds / size)} {unit}"
    return f"{three_digits(seconds)} s"


def context_labels(row: dict, names: tuple[str, str]) -> dict[str, str]:
    """The strings the page and the slider show for one row, formatted in one place:
    `names` = (the model with a key/value pair per head, the one with shared pairs)."""
    mha, gqa = (row["models"][name] for name in names)
    return {
        "n": f"{row['n']:,}",
        "flops": format_flops(gqa["flops"]),
        "quadratic_share": (f"{gqa['quadratic_share']:.0%} "
                            f"({gqa['quadratic_share_causal']:.0%})"),
        "seconds": duration(gqa["seconds_at_peak"]),
        "kv_mha": format_bytes(mha["kv_cache_bytes"]),
        "kv_gqa": format_bytes(gqa["kv_cache_bytes"]),
        "table": format_bytes(gqa["layer_table_bytes"]),
    }


_CONTEXT_HEADER = ("n", "FLOPs, one pass", "from n² (causal)", "at A100 peak", "KV cache, {mha}",
                   "KV cache, {gqa}", "one layer's score tables")
_CONTEXT_FIELDS = ("n", "flops", "quadratic_share", "seconds", "kv_mha", "kv_gqa", "table")


def context_table(data: dict, *, src: str) -> Rendered:
    """The slider (part ""), the same numbers as a table (part "table"), and the slider's
    JSON; `src` is the site-root-relative path the JSON is published at."""
    mha, gqa = data["models"]
    names = (mha["name"], gqa["name"])
    device = data["device"]
    rows = [{"n": row["n"], "labels": context_labels(row, names)} for row in data["rows"]]
    header = [h.format(mha=mha["name"], gqa=gqa["name"]) for h in _CONTEXT_HEADER]
    table_rows = [[row["labels"][key].replace(" ", "\u00a0") for key in _CONTEXT_FIELDS]
                  for row in rows]  # a number stays with its unit
    ratio = (mha["heads"] // mha["kv_heads"], gqa["heads"] // gqa["kv_heads"])
    intro = (
        f"Published configurations: {mha['name']} ({mha['layers']} layers, {mha['heads']} heads "
        f"of size {mha['head_size']}, a key/value pair per head, trained on "
        f"{mha['trained_context']:,}-token sequences) and {gqa['name']} (the same width, "
        f"{gqa['kv_heads']} key/value heads shared by {gqa['heads']} query heads, "
        f"{ratio[1]} per pair, trained on {gqa['trained_context']:,}). *FLOPs*: one forward pass "
        f"of {gqa['name']} over n tokens, every layer: projections, scores and blend "
        f"<code>4n²d</code>, feed-forward, counting the whole n × n table; *from n²*: the "
        f"share of the scores and blend, and in brackets the share when the half of the table "
        f"that a causal mask hides is skipped, as causal kernels do. "
        f"*At A100 peak*: those FLOPs at {device['peak_flops'] / 1e12:.0f} TFLOP/s, a lower "
        f"bound no real run reaches. *KV cache*: keys and values of n tokens in fp16, kept for "
        f"generation. *Score tables*: one layer's n × n tables, all heads, fp16, if held whole "
        f"(chunked attention never holds them).\n\n"
    )
    start = next((i for i, row in enumerate(rows) if row["n"] == gqa["trained_context"]), 0)
    return Rendered(
        parts={"": [slider_html(data, rows, start, src)],
               "table": [intro + markdown_table(header, table_rows)]},
        scripts={"": {"models": data["models"], "device": device, "rows": rows}},
    )


def slider_html(data: dict, rows: list[dict], start: int, src: str) -> str:
    """The slider's markup, showing row `start`; javascripts/context-window.js brings it to
    life from the JSON at `data-src` (and unhides it: without JavaScript the table says it
    all)."""
    mha, gqa = data["models"]
    labels = rows[start]["labels"]

    def field(name: str) -> str:
        return f'<strong data-field="{name}">{labels[name]}</strong>'

    return (
        f'<div class="context-slider" data-context-slider data-src="{src}" hidden>\n'
        f'<label for="context-length">Context length: {field("n")} tokens</label>\n'
        f'<input type="range" id="context-length" min="0" max="{len(rows) - 1}" step="1" '
        f'value="{start}" aria-valuetext="{labels["n"]} tokens">\n'
        '<ul aria-live="polite">\n'
        f'<li>Compute, one pass of {gqa["name"]}: {field("flops")}, {field("quadratic_share")} '
        f'of it from the n² part (in brackets: skipping the causal mask\u2019s half); '
        f'{field("seconds")} at an A100\u2019s peak rate</li>\n'
        f'<li>Key/value cache: {field("kv_mha")} for {mha["name"]} (a pair per head), '
        f'{field("kv_gqa")} for {gqa["name"]} (shared pairs)</li>\n'
        f'<li>One layer\u2019s score tables, if held whole: {field("table")} '
        f'(avoidable: see below)</li>\n'
        '</ul>\n'
        '</div>\n'
    )


def training_cost(data: dict) -> Rendered:
    """Per-token training compute of the two published models at multiples of their
    pretraining lengths, relative to the pretraining length."""
    costs = data["training_cost"]
    names = list(costs)
    multiples = [row["multiple"] for row in costs[names[0]]]
    header = ["length, × pretraining"] + [f"{name} (n, cost per token)" for name in names]
    rows = [[f"{k}×"] + [f"{costs[name][i]['n']:,}: {costs[name][i]['relative']:.2f}×"
                         for name in names]
            for i, k in enumerate(multiples)]
    longest = {name: costs[name][-1] for name in names}
    text = (
        "What training on longer sequences costs per token, from the same FLOP formula "
        "(causal, the masked half skipped; the backward pass costs about twice the forward for "
        "both parts, so the ratio is also the training cost's). Pretraining lengths: "
        + ", ".join(f"{name} {costs[name][0]['n']:,}" for name in names) + ". At "
        f"{multiples[-1]}× the pretraining length each token costs "
        + " and ".join(f"{longest[name]['relative']:.1f}× as much ({name})" for name in names)
        + ": the n² part makes every added position dearer than the last.\n\n"
        + markdown_table(header, rows)
    )
    return Rendered(parts={"": [text]})


def trained_length(data: dict) -> Rendered:
    """Loss by position of the model trained at one length, scored past it."""
    losses, trained = data["loss_by_position"], data["trained"]
    inside = sum(losses[trained // 2:trained]) / (trained - trained // 2)
    past = sum(losses[trained:]) / (len(losses) - trained)
    positions = list(range(1, len(losses) + 1))

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.4, 3.2))
        axes.plot(positions, losses, color=colors["series"][0], marker=MARKERS[0],
                  markersize=2.5, label="model trained on sequences of "
                                        f"{trained} tokens")
        axes.axvline(trained + 0.5, color=colors["muted"], linestyle="--")
        axes.axhline(data["entropy_rate"], color=colors["series"][2], linestyle=":",
                     label="the best any model can do")
        axes.axhline(data["uniform_loss"], color=colors["series"][1], linestyle="-.",
                     label=f"guessing among {data['vocab']} symbols")
        axes.set_xlabel("position in the sequence")
        axes.set_ylabel("next-token loss (nats)")
        axes.grid(color=colors["grid"], linewidth=0.6)
        legend(axes, colors, "lower right")  # clear of both lines and of the curve
        figure.tight_layout()
        return figure

    alt = (f"Next-token loss by position, 1 to {len(losses)}, for a model trained on "
           f"{trained}-token sequences: about {inside:.2f} nats up to position {trained}, "
           f"then {past:.2f} past it, above the {data['uniform_loss']:.2f} of guessing.")
    caption = (
        f"A {data['model']['layers']}-layer causal transformer built from the library's "
        f"blocks, with sinusoidal positions, trained here for {data['steps']} steps on "
        f"{trained}-token sequences from a random order-2 Markov source, then scored on "
        f"sequences {len(losses) // trained} times as long. Inside its training length its "
        f"loss is {inside:.2f} nats (the source allows {data['entropy_rate']:.2f}); past it, "
        f"<strong>{past:.2f}</strong>, worse than guessing ({data['uniform_loss']:.2f}). "
        f"Past position {trained} it meets positions, and spans of attention, that it never "
        f"saw in training; for this small model with sinusoidal positions, the length it was "
        f"trained at is its working window."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


# --- C4 -------------------------------------------------------------------------------------


def chunked_check(data: dict) -> Rendered:
    """The largest differences of chunked attention from plain attention and from SDPA."""
    rows = [[f"{r['n']:,}", f"{r['chunk']:,}", r["mask"], f"{r['from_plain']:.1e}",
             f"{r['from_sdpa']:.1e}"] for r in data["rows"]]
    worst, tolerance = data["worst"], data["tolerance"]
    within = "within" if worst <= tolerance else "beyond"
    text = (
        f"Chunked attention against the library's plain attention and against torch's "
        f"`scaled_dot_product_attention`, float32, batch of {data['batch']}, d = "
        f"{data['head_size']}: the largest difference over all cases is {worst:.1e}, "
        f"{within} the {tolerance:.0e} the build requires.\n\n"
        + markdown_table(["n", "chunk", "mask", "largest difference from plain", "from SDPA"],
                         rows)
    )
    return Rendered(parts={"": [text]})


def sliding_window_error(data: dict) -> Rendered:
    """Weight dropped and error of sliding-window attention, by window size."""
    windows, n = data["windows"], data["n"]
    results = data["sequences"]
    names = data["sequence_names"]
    rows = [[f"{w:,}", f"{data['keys_per_query'][i]:,.0f}"]
            + [f"{results[name][key][i]:.1%}" for name in names
               for key in ("weight_dropped", "error")]
            for i, w in enumerate(windows)]
    header = ["window", "keys per query"] + [f"{what} ({name})" for name in names
                                             for what in ("weight dropped", "error")]
    small, whole = windows[0], windows[-1]
    random, drifting = results["random"], results["drifting"]
    full = (f" A window of {whole:,} covers every token: error {random['error'][-1]:.1%}, "
            f"full attention again." if whole >= n else "")
    text = (
        f"n = {n:,}, d = {data['head_size']}. *Weight dropped*: the share of full attention's "
        f"weight that lies beyond the window. *Error*: ‖local − full‖ / ‖full‖. On random "
        f"vectors, where attention spreads everywhere, a {small}-token window drops "
        f"{random['weight_dropped'][0]:.0%} of the weight, and its answer is off by "
        f"{random['error'][0]:.0%} of the full answer's size (more than 100 %: full "
        f"attention averages random values into a short vector, while a few nearby keys "
        f"give a long one). On a slowly drifting sequence "
        f"(q = k = v, each token correlated {data['correlation']} with the one before), where "
        f"the weight stays near the diagonal, the same window is {drifting['error'][0]:.0%} "
        f"off.{full}\n\n"
        + markdown_table(header, rows)
    )
    return Rendered(parts={"": [text]})


def side_by_side(data: dict) -> Rendered:
    """Time and peak memory of the four methods over n, and every measurement."""
    lengths, methods = data["lengths"], data["methods"]
    seconds, peaks = data["seconds"], data["peak_bytes"]
    labels = {
        "plain": "plain (n × n table)",
        "chunked": f"chunked ({data['query_chunk_size']:,} × {data['chunk_size']:,} tiles)",
        "sliding window": f"sliding window ({data['window']:,})",
        "SDPA": "torch SDPA",
    }

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(7.4, 3.4))
        lengths_axis(left, colors, lengths, "median time (ms)")
        lengths_axis(right, colors, lengths, "peak memory")
        for i, method in enumerate(methods):
            style = {"marker": MARKERS[i], "color": colors["series"][i],
                     "label": labels[method]}
            left.plot(lengths, [s * 1e3 for s in seconds[method]], **style)
            right.plot(lengths, peaks[method], **style)
        _byte_ticks(right, min(min(p) for p in peaks.values()),
                    max(max(p) for p in peaks.values()))
        legend(left, colors)
        figure.tight_layout()
        return figure

    def last_growth(values):
        return values[-1] / values[-2]

    last, before = lengths[-1], lengths[-2]
    # Whether torch's SDPA held the table depends on the kernel it picked: read it off.
    sdpa = ("Chunked attention and SDPA never hold the table"
            if last_growth(peaks["SDPA"]) < 3
            else "Chunked attention never holds the table (SDPA did, here)")
    at_last = "; ".join(f"{m} {ms(seconds[m][-1])}, {format_bytes(peaks[m][-1])}"
                        for m in methods)
    memory_growth = ", ".join(f"{m} {last_growth(peaks[m]):.1f}×" for m in methods)
    time_growth = ", ".join(f"{m} {last_growth(seconds[m]):.1f}×" for m in methods)
    alt = (
        f"Two log-log plots over n from {lengths[0]:,} to {last:,} for four attention methods. "
        f"From n = {before:,} to {last:,} peak memory grew {memory_growth}; time grew "
        f"{time_growth}. At n = {last:,}: {at_last}."
    )
    caption = (
        f"One run, one head (d = {data['head_size']}). From n = {before:,} to {last:,}, "
        f"memory grew <strong>{memory_growth}</strong>, and time grew "
        f"<strong>{time_growth}</strong>. {sdpa}: their memory grows like n while the work "
        f"still grows like n². The sliding window's work and memory both grow like n, at the "
        f"price of exactness."
    )
    rows = [[f"{n:,}"] + [f"{ms(seconds[m][i])}, {format_bytes(peaks[m][i])}"
                          for m in methods]
            for i, n in enumerate(lengths)]
    exponents = ", ".join(f"{m} n<sup>{data['memory_exponent'][m]:.2f}</sup>"
                          for m in methods)
    details = (
        f"Float32 on {_threads(data['threads'])}. Memory: the peak of each method's first call "
        f"at each length (its warm-up). Time: the median of {data['repeats']} further calls, "
        f"all methods and lengths taking turns. Peak memory fitted over this table's lengths, "
        f"{lengths[0]:,} to {lengths[-1]:,} (a different run, and range, from the memory "
        f"sweep's): {exponents}.\n\n"
        + markdown_table(["n", *methods], rows)
    )
    return Rendered(parts={"": [Figure(draw, alt, caption), MachineLine(data["machine"])],
                           "table": [details]})
