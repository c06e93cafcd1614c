"""Evidence for the recurrence page (R1–R4, T2): measured at build, captions read off the data.

One measurement feeds several figures through the registry's `inputs`: the forward timings
(R1) also give the thread speedups (R2), the recall experiment (R3b) also gives the trained
models' gradients (R3a), and the one-cause table (R4) and the epoch times (T2) quote them.
Each builder writes its data as JSON into the site (`data/recurrence/`), so the numbers
behind every figure can be downloaded.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path

from .figures import figure_markdown, save_light_dark, write_fragment

DATA = "data/recurrence"
FIGURES = "figures/recurrence"
FORWARD_TIMES = f"{DATA}/forward-times.json"
RECALL = f"{DATA}/recall.json"
GRADIENTS = f"{DATA}/gradients.json"
EPOCH_TIMES = f"{DATA}/epoch-times.json"

# Okabe–Ito colours, a lighter variant for the dark theme; each series also has its own
# marker and line style, so colour is never the only way to tell the lines apart.
STYLE = {
    "elman-loop": {"light": "#d55e00", "dark": "#ff9e6d", "marker": "o", "ls": "-",
                   "label": "Elman RNN, Python loop (library)"},
    "torch-rnn": {"light": "#cc79a7", "dark": "#f0a8d2", "marker": "s", "ls": "--",
                  "label": "Elman RNN, torch.nn.RNN (C++ loop)"},
    "attention": {"light": "#0072b2", "dark": "#6cc0ff", "marker": "^", "ls": "-",
                  "label": "attention (library)"},
    "elman": {"light": "#d55e00", "dark": "#ff9e6d", "marker": "o", "ls": "-",
              "label": "Elman RNN"},
    "lstm": {"light": "#009e73", "dark": "#4fd8a8", "marker": "s", "ls": "--",
             "label": "LSTM (gated RNN)"},
}
SCALE_STYLES = (":", "-.", "--", "-")  # recurrent-weight scales at initialisation, small to large
NAMES = {"elman-loop": "the Python-loop RNN", "torch-rnn": "torch.nn.RNN",
         "attention": "attention", "elman": "the Elman RNN", "lstm": "the LSTM"}


# --- small helpers ------------------------------------------------------------------------


def _rounded(value, digits: int = 6):
    """Floats to `digits` significant digits, recursively: short, stable JSON."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {key: _rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item, digits) for item in value]
    return value


def _write_json(site_dir: Path, name: str, data) -> Path:
    path = site_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_rounded(data), indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def _read_json(site_dir: Path, name: str):
    return json.loads((site_dir / name).read_text(encoding="utf-8"))


def _ms(seconds: float) -> str:
    """A duration in ms with 2 significant digits at least (0.31 ms, 4.2 ms, 230 ms)."""
    ms = seconds * 1e3
    return f"{ms:.2g} ms" if ms < 10 else f"{ms:.0f} ms"


def _times(value: float) -> str:
    return f"{value:.1f}×" if value < 10 else f"{value:.0f}×"


def _sci(value: float) -> str:
    """1.2 × 10<sup>-5</sup> style for HTML captions; plain for 0.01 … 1000."""
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 1000:
        return f"{value:.2g}"
    exponent = math.floor(math.log10(abs(value)))
    return f"{value / 10 ** exponent:.1f} × 10<sup>{exponent}</sup>"


def _sci_plain(value: float) -> str:
    """The same, for alt text (no markup)."""
    if 0.01 <= abs(value) < 1000 or value == 0:
        return f"{value:.2g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def _slope(xs, ys) -> float:
    """Least-squares slope of log y against log x: the exponent of a power law."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


WINDOW = 16  # positions averaged at each end of a sensitivity curve


def window_ratio(curve: list[float], parts: bool = False):
    """Geometric mean of the last WINDOW values over that of values 1 … WINDOW (0 is the
    input itself): how much a sensitivity fell with distance. With parts, the two means."""
    def mean(values):
        return math.exp(statistics.fmean(math.log(v) for v in values))

    early, late = mean(curve[1:WINDOW + 1]), mean(curve[-WINDOW:])
    return (early, late) if parts else late / early


# --- R1: wall time and chain length against n ------------------------------------------------


def _series(rows, forward: str, threads: int) -> tuple[list[int], list[float]]:
    chosen = sorted((r["n"], r["seconds"]) for r in rows
                    if r["forward"] == forward and r["threads"] == threads)
    return [n for n, _ in chosen], [s for _, s in chosen]


def forward_times(site_dir: Path, include_dir: Path, *, lengths: list[int], d: int,
                  seed: int) -> list[Path]:
    """R1: time each forward against n (one thread), log–log, next to its chain length.

    One thread, so that the times compare steps rather than cores (R2 adds the cores). The
    same run also measures all threads, for R2 (`threads_figure`).
    """
    import torch

    from ..speed import FORWARDS, SLOW_S, measure_forwards

    all_threads = torch.get_num_threads()
    thread_counts = sorted({1, all_threads}, reverse=True)
    load_before = os.getloadavg()[0]
    rows = measure_forwards(lengths, d, thread_counts, seed=seed)
    data = {"d": d, "lengths": lengths, "threads": thread_counts, "cpu_count": os.cpu_count(),
            "load_average": [load_before, os.getloadavg()[0]], "rows": rows}
    data_file = _write_json(site_dir, FORWARD_TIMES, data)

    def chain(forward):
        return [next(r["critical_path"] for r in rows if r["forward"] == forward and r["n"] == n)
                for n in lengths]

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(9.2, 3.8))
        for forward in FORWARDS:
            style = STYLE[forward]
            ns, seconds = _series(rows, forward, 1)
            left.plot(ns, [s * 1e3 for s in seconds], marker=style["marker"], ls=style["ls"],
                      color=style[colors["name"]], label=style["label"], markersize=4)
        for forward, label in (("elman-loop", "RNN (either loop)"), ("attention", "attention")):
            style = STYLE[forward]
            right.plot(lengths, chain(forward), marker=style["marker"], ls=style["ls"],
                       color=style[colors["name"]], label=label, markersize=4)
        left.set_ylabel("forward time, ms (median, 1 thread)")
        right.set_ylabel("longest chain of dependent operations")
        for axes in (left, right):
            axes.set_xscale("log", base=2)
            axes.set_yscale("log")
            axes.set_xlabel("sequence length n (tokens)")
            axes.grid(True, which="major", color=colors["grid"], linewidth=0.6)
            axes.legend(frameon=False, fontsize=8)
        left.set_title("Wall time", fontsize=10)
        right.set_title("Sequential steps (critical path)", fontsize=10)
        figure.tight_layout()
        return figure

    stem = f"{FIGURES}/forward-time"
    files = save_light_dark(_themed(draw), site_dir, stem)

    n0, n1 = lengths[0], lengths[-1]
    times = {f: dict(zip(*_series(rows, f, 1))) for f in FORWARDS}
    rnn_chain, att_chain = chain("elman-loop"), chain("attention")
    per_token = rnn_chain[-1] / n1
    upper = [n for n in lengths if n >= lengths[len(lengths) // 2]]
    slopes = {f: _slope(upper, [times[f][n] for n in upper]) for f in FORWARDS}
    faster = [n for n in lengths
              if times["attention"][n] < min(times["torch-rnn"][n], times["elman-loop"][n])]
    # The longest run of lengths, from the shortest, at which attention beats both RNNs.
    beats_up_to = None
    for n in lengths:
        if n not in faster:
            break
        beats_up_to = n
    growth = {f: times[f][n1] / times[f][n0] for f in FORWARDS}

    per_step = {f: times[f][n1] / n1 for f in ("elman-loop", "torch-rnn")}
    steps_text = (
        f"Over the longer half of the range the RNNs' times grow like "
        f"n<sup>{slopes['torch-rnn']:.1f}</sup> (torch.nn.RNN) and "
        f"n<sup>{slopes['elman-loop']:.1f}</sup> (Python loop): a fixed cost for each step of "
        f"the chain, {per_step['torch-rnn'] * 1e6:.0f} µs and "
        f"{per_step['elman-loop'] * 1e6:.0f} µs per step at n = {n1}. Attention's grows like n<sup>{slopes['attention']:.1f}</sup>: "
        f"that is not waiting but work, its n × n score table (the subject of "
        f"<a href=\"../cost/\">The catch: not free</a>), and work can be shared out (next "
        f"figure)."
    )
    if beats_up_to == n1:
        crossing = (f"Attention is the fastest at every length measured: at n = {n1} it takes "
                    f"{_ms(times['attention'][n1])}, against {_ms(times['torch-rnn'][n1])} for "
                    f"torch.nn.RNN.")
    elif beats_up_to is not None:
        m = beats_up_to
        crossing = (
            f"Up to n = {m}, where its table is still small, attention is faster than both "
            f"RNNs (at n = {m}: {_ms(times['attention'][m])}, against "
            f"{_ms(times['torch-rnn'][m])} for torch.nn.RNN and {_ms(times['elman-loop'][m])} "
            f"for the Python loop); at n = {n1} the table has taken over: "
            f"{_ms(times['attention'][n1])} against {_ms(times['torch-rnn'][n1])}."
        )
    else:
        crossing = (
            f"On this machine torch.nn.RNN's C++ loop is as fast as attention or faster from the "
            f"shortest length up (at n = {n1}: {_ms(times['torch-rnn'][n1])} against "
            f"{_ms(times['attention'][n1])}): with a width of {d}, each of its steps is tiny."
        )
    alt = (
        f"Two log-log plots against sequence length n from {n0} to {n1}. Left: forward time. "
        f"The Python-loop RNN goes from {_ms(times['elman-loop'][n0])} to "
        f"{_ms(times['elman-loop'][n1])}, torch.nn.RNN from {_ms(times['torch-rnn'][n0])} to "
        f"{_ms(times['torch-rnn'][n1])}, attention from {_ms(times['attention'][n0])} to "
        f"{_ms(times['attention'][n1])}. Right: the RNN's chain of dependent operations grows "
        f"from {rnn_chain[0]} to {rnn_chain[-1]}, {per_token:.0f} per token; attention's stays "
        f"at {att_chain[-1]}."
    )
    counts = sorted({r["rounds"] for r in rows}, reverse=True)
    rounds_text = (f"{counts[0]} runs" if len(counts) == 1 else
                   f"{counts[0]} runs ({counts[-1]} for calls slower than {_ms(SLOW_S)})")
    chain_text = (
        f"at every length" if len(set(att_chain)) == 1
        else f"between {min(att_chain)} and {max(att_chain)} whatever n"
    )
    caption = (
        f"<strong>The RNN's chain grows with n; attention's does not.</strong> Right: read off "
        f"each forward's autograd graph, the longest chain of operations that must run one "
        f"after another is {rnn_chain[-1]:,} for the RNN at n = {n1} ({per_token:.0f} per token: "
        f"step t cannot start before step t − 1 ends) and {att_chain[-1]} for attention "
        f"{chain_text}. Left: median wall time of {rounds_text} on one thread (the next "
        f"figure adds threads), width d = {d}, warm-up calls excluded, load average "
        f"{max(data['load_average']):.1f} on {data['cpu_count']} cores while measured. "
        f"From n = {n0} to n = {n1} ({n1 // n0}× longer) the "
        f"Python-loop RNN's time grows {_times(growth['elman-loop'])}, torch.nn.RNN's "
        f"{_times(growth['torch-rnn'])} and attention's {_times(growth['attention'])}. "
        f"{steps_text} {crossing} "
        f"<a href=\"../{data_file.relative_to(site_dir).as_posix()}\">Data (JSON)</a>."
    )
    fragment = write_fragment(include_dir, f"{stem}.md", figure_markdown(stem, alt, caption))
    return files + [data_file, fragment]


def _themed(draw):
    """Pass the theme's name along with its colours, so each series picks its variant."""
    from .figures import THEMES

    def wrapped(colors):
        name = next(name for name, theme in THEMES.items() if theme == colors)
        return draw({**colors, "name": name})

    return wrapped


# --- R2: one thread against all threads -------------------------------------------------------


def threads_figure(site_dir: Path, include_dir: Path) -> list[Path]:
    """R2: speedup of each forward from 1 thread to all threads, against n (from R1's data)."""
    from ..speed import FORWARDS

    data = _read_json(site_dir, FORWARD_TIMES)
    rows, lengths, threads = data["rows"], data["lengths"], data["threads"]
    most = max(threads)
    speedup = {}
    for forward in FORWARDS:
        one = dict(zip(*_series(rows, forward, 1)))
        many = dict(zip(*_series(rows, forward, most)))
        speedup[forward] = [one[n] / many[n] for n in lengths]

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.8, 3.8))
        for forward in FORWARDS:
            style = STYLE[forward]
            axes.plot(lengths, speedup[forward], marker=style["marker"], ls=style["ls"],
                      color=style[colors["name"]], label=style["label"], markersize=4)
        axes.axhline(1, color=colors["muted"], lw=1, ls=":")
        axes.axhline(most, color=colors["muted"], lw=1, ls=":")
        axes.text(lengths[0], 1, " no gain", va="bottom", fontsize=8, color=colors["muted"])
        axes.text(lengths[0], most, f" ideal: {most}× with {most} threads", va="bottom",
                  fontsize=8, color=colors["muted"])
        axes.set_xscale("log", base=2)
        axes.set_xlabel("sequence length n (tokens)")
        axes.set_ylabel(f"speedup, 1 thread → {most} threads")
        top = max(max(max(v) for v in speedup.values()), most)
        axes.set_ylim(0, top * 1.15)
        axes.grid(True, color=colors["grid"], linewidth=0.6)
        # Below the axes: wherever the measured lines fall, they stay visible.
        axes.legend(frameon=False, fontsize=8, loc="upper center", ncol=2,
                    bbox_to_anchor=(0.5, -0.16))
        figure.tight_layout()
        return figure

    stem = f"{FIGURES}/threads"
    files = save_light_dark(_themed(draw), site_dir, stem)

    n1 = lengths[-1]
    last = {f: speedup[f][-1] for f in FORWARDS}
    long_half = [i for i, n in enumerate(lengths) if n >= lengths[len(lengths) // 2]]
    median_long = {f: statistics.median(speedup[f][i] for i in long_half) for f in FORWARDS}
    cores = data["cpu_count"]
    load = max(data["load_average"])
    best_rnn = max(median_long["elman-loop"], median_long["torch-rnn"])
    # Judged at the longest n, where attention has the most work to share out.
    attention_gains = last["attention"] > max(1.2, last["elman-loop"] + 0.2,
                                              last["torch-rnn"] + 0.2)
    busy = load >= cores  # other work already kept every core busy while this ran
    if most == 1:
        title = "No second thread to compare with."
        verdict = ("This machine gives torch a single thread, so there is nothing to spread "
                   "the work over: the comparison needs two or more cores.")
    else:
        title = ("Extra threads help attention, not the chain." if attention_gains else
                 "Here extra threads did not help attention either.")
        verdict = (
            f"From n = {lengths[long_half[0]]} up, the median speedup is "
            f"{median_long['attention']:.2f}× for attention and {best_rnn:.2f}× at best for "
            f"the RNNs. "
            + (f"At n = {n1} attention gains clearly more: its n × n products split across "
               f"threads, while the RNN can only split each step's small product, never the "
               f"chain of steps."
               if attention_gains else
               "That is weaker than the textbook story. "
               + (f"It most likely says more about the machine than about attention: its load "
                  f"average was {load:.1f} on {cores} cores while this ran, so other work "
                  f"already occupied the cores and a second thread mostly waited for one."
                  if busy else
                  f"The machine was not especially busy (load average {load:.1f} on {cores} "
                  f"cores), so on this hardware that is what {most} threads bring.")
               + " The RNN's chain could not be split in any case.")
            + (f" At n = {n1} the Python-loop RNN ran slower with {most} threads than with 1 "
               f"({last['elman-loop']:.2f}×)." if last["elman-loop"] < 1 else "")
        )
    alt = (
        f"Speedup from 1 to {most} threads against n, from {lengths[0]} to {n1}: at n = {n1}, "
        f"attention {last['attention']:.2f}×, torch.nn.RNN {last['torch-rnn']:.2f}×, the "
        f"Python-loop RNN {last['elman-loop']:.2f}×."
    )
    caption = (
        f"<strong>{title}</strong> The same forwards as "
        f"above, timed with 1 thread and with {most} (torch's default here); each point is "
        f"time with 1 thread divided by time with {most}. At n = {n1}: attention "
        f"{last['attention']:.2f}×, torch.nn.RNN {last['torch-rnn']:.2f}×, the Python-loop RNN "
        f"{last['elman-loop']:.2f}×. {verdict} This machine has only {cores} cores, so "
        f"{most}× is the ceiling for anything"
        + ("." if busy and not attention_gains else
           f"; its load average was {load:.1f} while this was measured.")
    )
    fragment = write_fragment(include_dir, f"{stem}.md", figure_markdown(stem, alt, caption))
    return files + [fragment]


# --- R3b: recall accuracy against distance ----------------------------------------------------


def recall_figure(site_dir: Path, include_dir: Path, **config) -> list[Path]:
    """R3b: held-out accuracy against k for the three models, seeds' median and range."""
    from ..recall import MODELS, RecallConfig, run

    config = RecallConfig(**{**config, "seeds": tuple(config["seeds"])})
    result = run(config)
    data_file = _write_json(site_dir, RECALL, result)
    ks = list(range(1, config.n_ctx + 1))
    chance = 1 / config.vocab

    def per_k(name):
        """(median, lowest, highest) accuracy over seeds, for each k."""
        by_seed = result["accuracy"][name]
        columns = list(zip(*by_seed))
        return ([statistics.median(c) for c in columns], [min(c) for c in columns],
                [max(c) for c in columns])

    summary = {name: per_k(name) for name in MODELS}

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.8, 3.9))
        for name in MODELS:
            style = STYLE[name]
            colour = style[colors["name"]]
            median, low, high = summary[name]
            axes.fill_between(ks, low, high, color=colour, alpha=0.22, linewidth=0)
            axes.plot(ks, median, marker=style["marker"], ls=style["ls"], color=colour,
                      markersize=3.5, label=f"{style['label']}, "
                                            f"{result['parameters'][name]:,} parameters")
        axes.axhline(chance, color=colors["muted"], lw=1, ls=":")
        axes.text(ks[0], chance, f" chance (1/{config.vocab})", ha="left", va="bottom",
                  fontsize=8, color=colors["muted"])
        axes.set_xscale("log", base=2)
        axes.set_xticks([k for k in ks if k & (k - 1) == 0],
                        [str(k) for k in ks if k & (k - 1) == 0])
        axes.set_ylim(0, 1.04)
        axes.set_xlabel("k: how many steps back the asked-for token was")
        axes.set_ylabel("held-out accuracy")
        axes.grid(True, color=colors["grid"], linewidth=0.6)
        axes.legend(frameon=False, fontsize=8, loc="center right")
        figure.tight_layout()
        return figure

    stem = f"{FIGURES}/recall"
    files = save_light_dark(_themed(draw), site_dir, stem)

    n = config.n_ctx
    seeds = len(config.seeds)
    steps = config.epochs * -(-config.train_size // config.batch)

    def at(name, k):
        median, low, high = summary[name]
        return median[k - 1], low[k - 1], high[k - 1]

    def reach(name):
        """Largest k up to which the median accuracy stays at or above one half."""
        median = summary[name][0]
        k = 0
        while k < n and median[k] >= 0.5:
            k += 1
        return k

    def quote(name, k):
        median, low, high = at(name, k)
        spread = f" ({_percent(low)}–{_percent(high)})" if high - low >= 0.005 else ""
        return f"{_percent(median)}{spread}"

    # "Above chance" means more than two standard errors of a guesser's accuracy above it.
    margin = 2 * math.sqrt(chance * (1 - chance) / config.test_size)

    def chance_from(name):
        """First k from which the median accuracy stays within the margin of chance."""
        median = summary[name][0]
        above = [k for k in ks if median[k - 1] > chance + margin]
        return None if above and above[-1] == n else (above[-1] + 1 if above else 1)

    parts = []
    for name in ("elman", "lstm"):
        k0 = chance_from(name)
        parts.append(
            f"{NAMES[name]} is still above chance at k = {n} with "
            f"{100 * summary[name][0][-1]:.1f}%" if k0 is None else
            f"{NAMES[name]} is at chance from k = {k0} on")
    chance_text = (f" {parts[0][0].upper()}{parts[0][1:]}, and {parts[1]} (above chance "
                   f"means over {100 * (chance + margin):.1f}%, two standard errors above a "
                   f"guesser). ")
    mean_accuracy = {name: statistics.fmean(summary[name][0]) for name in MODELS}
    lstm_better = mean_accuracy["lstm"] > mean_accuracy["elman"] + 0.01
    # How much the last epoch still lowered each model's training loss (first seed).
    fell = {name: 1 - result["loss"][name][0][-1] / result["loss"][name][0][-2]
            for name in MODELS}
    settled = max(fell["elman"], fell["lstm"]) < 0.05
    attention_holds = min(summary["attention"][0]) >= 0.95
    title = ("The RNNs remember the last few tokens; attention recalls any of them."
             if attention_holds and max(reach("elman"), reach("lstm")) < n else
             "Held-out recall against distance, as measured.")
    alt = (
        f"Held-out accuracy against k from 1 to {n}, median of {seeds} seeds. Attention: "
        f"{_percent(at('attention', 1)[0])} at k = 1 and {_percent(at('attention', n)[0])} at "
        f"k = {n}. LSTM: {_percent(at('lstm', 1)[0])} falling to {_percent(at('lstm', n)[0])}. "
        f"Elman RNN: {_percent(at('elman', 1)[0])} falling to {_percent(at('elman', n)[0])}; "
        f"chance is 1 in {config.vocab}."
    )
    caption = (
        f"<strong>{title}</strong> "
        f"Each model read {n} random tokens (vocabulary of {config.vocab}) and was then asked "
        f"for the token seen k steps back, for every k. Median over {seeds} seeds, band from "
        f"lowest to highest; {config.test_size} held-out sequences "
        f"({result['test_in_train']} of them occur in any training set). At k = 1: Elman "
        f"{quote('elman', 1)}, LSTM {quote('lstm', 1)}, attention {quote('attention', 1)}. At "
        f"k = {n}: Elman {quote('elman', n)}, LSTM {quote('lstm', n)}, attention "
        f"{quote('attention', n)}, against 1 in {config.vocab} for guessing. The median stays "
        f"at or above 50% up to k = {reach('elman')} for the Elman RNN, {reach('lstm')} for "
        f"the LSTM and {reach('attention')} for attention. Same budget for all: about "
        f"{statistics.fmean(result['parameters'].values()):,.0f} parameters each (Elman RNN "
        f"with {result['hidden']['elman']} hidden units, LSTM with {result['hidden']['lstm']}, "
        f"attention of width {config.width}), "
        f"{config.epochs} epochs ({steps} steps of {config.batch} sequences), Adam at "
        f"{config.lr} decaying to 0. In fairness to recurrence: the gated LSTM "
        + (f"does better than the Elman RNN (mean accuracy over all k "
           f"{_percent(mean_accuracy['lstm'])} against {_percent(mean_accuracy['elman'])})."
           if lstm_better else "does no better than the Elman RNN here.")
        + chance_text
        + (f"The budget is small, but the last epoch lowered their training loss by only "
           f"{_percent(fell['elman'])} and "
           f"{_percent(fell['lstm'])}: this is about as far as this budget and schedule take "
           f"them, and a larger budget is not tested here. " if settled else
           f"Their training loss was still falling (by {_percent(fell['elman'])} and "
           f"{_percent(fell['lstm'])} in the last epoch), so more training would move their "
           f"curves to the right. ")
        + f"<a href=\"../{data_file.relative_to(site_dir).as_posix()}\">Data (JSON)</a>."
    )
    fragment = write_fragment(include_dir, f"{stem}.md", figure_markdown(stem, alt, caption))
    return files + [data_file, fragment]


# --- R3a: the gradient reaching back ----------------------------------------------------------


def gradient_figure(site_dir: Path, include_dir: Path, *, n: int, d: int, scales: list[float],
                    seed: int) -> list[Path]:
    """R3a: ‖∂h_t/∂x_0‖ against t at initialisation (RNN scales vs attention), and the
    trained models' sensitivity to the token k back (from the R3b run)."""
    from ..forgetting import attention_sensitivity, rnn_sensitivity
    from ..recall import MODELS
    from ..speed import num_threads

    with num_threads(1):  # tiny products: one thread is fastest, and deterministic
        rnn = {str(scale): rnn_sensitivity(n, d, scale, seed=seed) for scale in scales}
        attention = attention_sensitivity(n, d, seed=seed)
    recall = _read_json(site_dir, RECALL)
    trained = recall["sensitivity"]
    ks = list(range(1, len(trained["attention"]) + 1))
    data_file = _write_json(site_dir, GRADIENTS, {
        "n": n, "d": d, "seed": seed, "rnn_at_init": rnn, "attention_at_init": attention,
        "trained": trained, "trained_at_init": recall["sensitivity_at_init"]})
    ts = list(range(n))

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(9.2, 3.9))
        rnn_colour = STYLE["elman"][colors["name"]]
        for scale, ls in zip(scales, SCALE_STYLES):
            left.plot(ts, rnn[str(scale)], ls=ls, color=rnn_colour,
                      label=f"tanh RNN, recurrent scale {scale:g}")
        left.plot(ts, attention, ls="-", marker="^", markevery=max(1, n // 12),
                  markersize=4, color=STYLE["attention"][colors["name"]],
                  label="self-attention, output t")
        left.set_xlabel("t: steps after input 0")
        left.set_ylabel("‖∂ state t / ∂ input 0‖")
        left.set_title(f"At initialisation (width {d})", fontsize=10)
        for name in MODELS:
            style = STYLE[name]
            right.plot(ks, trained[name], marker=style["marker"], ls=style["ls"],
                       markersize=3.5, color=style[colors["name"]], label=style["label"])
        right.set_xlabel("k: steps back to the asked-for token")
        right.set_ylabel("‖∂ answer / ∂ token k back‖")
        right.set_title("After training on the recall task", fontsize=10)
        for axes in (left, right):
            axes.set_yscale("log")
            axes.grid(True, which="major", color=colors["grid"], linewidth=0.6)
            axes.legend(frameon=False, fontsize=7.5)
        figure.tight_layout()
        return figure

    stem = f"{FIGURES}/gradient"
    files = save_light_dark(_themed(draw), site_dir, stem)

    t_end = n - 1
    ratio = {scale: rnn[str(scale)][t_end] / rnn[str(scale)][0] for scale in scales}
    beyond = attention[1:]
    early, late = window_ratio(attention, parts=True)
    k_end = ks[-1]
    trained_ratio = {name: trained[name][-1] / trained[name][0] for name in MODELS}
    spread = max(trained["attention"]) / min(trained["attention"])
    fading = [s for s in scales if ratio[s] < 0.1]
    lasting = [s for s in scales if ratio[s] >= 0.1]
    scale_text = "; ".join(f"scale {s:g}: {_sci(ratio[s])}" for s in scales)
    honest = ""
    if lasting:
        honest = (
            f" At scale {', '.join(f'{s:g}' for s in lasting)} it did not fade within {n} steps "
            f"(it ended at {', '.join(_sci(ratio[s]) for s in lasting)} times its start): large "
            f"recurrent weights trade vanishing gradients for the opposite risk, gradients that "
            f"grow. Training did not leave the Elman RNN there: its gradient falls with "
            f"distance (right)."
        )
    title = ("Through the chain, the first input's influence shrinks step by step; through "
             "attention it does not depend on distance."
             if fading and 0.1 < late / early < 10 else
             "The gradient from input 0 against distance, as measured.")
    fading_text = ""
    if fading:
        listed = ", ".join(f"{s:g}" for s in fading)
        fading_text = (f" At scale {listed} it fades exponentially: a product of one factor "
                       f"per step, each below 1 on average.")
    alt = (
        f"Two log-scale plots. Left, at initialisation: the tanh RNN's gradient from input 0 "
        f"after {t_end} steps is "
        + ", ".join(f"{_sci_plain(ratio[s])} of its first value at scale {s:g}" for s in scales)
        + f"; attention's stays between {_sci_plain(min(beyond))} and "
        f"{_sci_plain(max(beyond))} at every distance. Right, after training: the answer's "
        f"gradient to the token {k_end} steps back is {_sci_plain(trained_ratio['elman'])} of "
        f"its k = 1 value for the Elman RNN, {_sci_plain(trained_ratio['lstm'])} for the LSTM "
        f"and {_sci_plain(trained_ratio['attention'])} for attention."
    )
    caption = (
        f"<strong>{title}</strong> Left: size of "
        f"∂h<sub>t</sub>/∂x<sub>0</sub> for a tanh RNN of width {d} at initialisation, "
        f"geometric mean over 4 random sequences. After {t_end} hand-offs it is this fraction "
        f"of its value at t = 0: {scale_text}."
        + fading_text
        + honest
        + f" Self-attention with random weights reads input 0 directly from every position: "
        f"its sensitivity stays between {_sci(min(beyond))} and {_sci(max(beyond))} for all "
        f"t ≥ 1 (geometric mean {_sci(early)} over t = 1 to {WINDOW}, {_sci(late)} over the "
        f"last {WINDOW}), diluted by the {n}-way average but not by distance. Right: the trained "
        f"models of the recall test below (seed 0); from k = 1 to k = {k_end} the answer's "
        f"gradient to the token it must recall falls to {_sci(trained_ratio['elman'])} of its "
        f"value for the Elman RNN and {_sci(trained_ratio['lstm'])} for the LSTM, while "
        f"attention's stays within a factor of {spread:.1f} at every k. "
        f"<a href=\"../{data_file.relative_to(site_dir).as_posix()}\">Data (JSON)</a>."
    )
    fragment = write_fragment(include_dir, f"{stem}.md", figure_markdown(stem, alt, caption))
    return files + [data_file, fragment]


# --- T2: training time per epoch ------------------------------------------------------------


def epoch_times(site_dir: Path, include_dir: Path, **config) -> list[Path]:
    """T2: seconds per training epoch of each recall model, on one thread as in R3b."""
    from ..recall import MODELS, RecallConfig, epoch_seconds

    config = RecallConfig(**{**config, "seeds": tuple(config["seeds"])})
    load_before = os.getloadavg()[0]
    seconds = epoch_seconds(config, threads=1)
    recall = _read_json(site_dir, RECALL)
    data_file = _write_json(site_dir, EPOCH_TIMES, {
        "config": config.to_dict(), "threads": 1, "cpu_count": os.cpu_count(),
        "load_average": [load_before, os.getloadavg()[0]], "seconds_per_epoch": seconds})

    n = config.n_ctx
    steps = -(-config.train_size // config.batch)
    lines = ["| Model | Parameters | Seconds per training epoch | Held-out accuracy at "
             f"k = {n} |", "|---|---:|---:|---:|"]
    for name in MODELS:
        accuracy = statistics.median(seed[-1] for seed in recall["accuracy"][name])
        lines.append(f"| {STYLE[name]['label']} | {recall['parameters'][name]:,} | "
                     f"{seconds[name]:.2f} | {_percent(accuracy)} |")
    ratio = {name: seconds[name] / seconds["attention"] for name in ("elman", "lstm")}
    if min(ratio.values()) > 1:
        comparison = (f"attention's epoch was the shortest: the Elman RNN's took "
                      f"{_times(ratio['elman'])} as long and the LSTM's {_times(ratio['lstm'])}. "
                      f"Attention puts all {n} positions through the same few matrix products, "
                      f"while each RNN step, forward and backward, waits for the one before")
    else:
        fastest = min(MODELS, key=seconds.get)
        comparison = (f"attention was not the fastest per epoch ({NAMES[fastest]} was, "
                      f"{seconds[fastest]:.2f} s against {seconds['attention']:.2f} s): with "
                      f"only {n} steps in the chain and these small widths, fixed costs per "
                      f"step weigh more than the chain does")
    caption = (
        f"<p class=\"table-caption\"><strong>Training time per epoch</strong>: {steps} steps "
        f"of {config.batch} sequences of {n} tokens, the same models and data as the figure "
        f"above, one thread as in that run, one epoch timed after a few warm-up steps. Here "
        f"{comparison}. Only attention reached every token back to k = {n}. What more cores "
        f"add is measured <a href=\"#threads\">above</a>. "
        f"<a href=\"../{data_file.relative_to(site_dir).as_posix()}\">Data (JSON)</a>.</p>\n"
    )
    fragment = write_fragment(include_dir, f"{FIGURES}/epoch-time.md",
                              "\n".join(lines) + "\n\n" + caption)
    return [data_file, fragment]


# --- R4: one cause ----------------------------------------------------------------------------


def one_cause(site_dir: Path, include_dir: Path) -> list[Path]:
    """R4: one table that quotes R1, R2, R3a and R3b and names their shared cause."""
    from ..recall import MODELS

    timing = _read_json(site_dir, FORWARD_TIMES)
    gradients = _read_json(site_dir, GRADIENTS)
    recall = _read_json(site_dir, RECALL)
    rows, lengths = timing["rows"], timing["lengths"]
    n1, most = lengths[-1], max(timing["threads"])

    def row(forward, n, threads):
        return next(r for r in rows
                    if r["forward"] == forward and r["n"] == n and r["threads"] == threads)

    rnn_chain = row("elman-loop", n1, 1)["critical_path"]
    att_chain = row("attention", n1, 1)["critical_path"]
    time_rnn = row("torch-rnn", n1, 1)["seconds"]
    time_loop = row("elman-loop", n1, 1)["seconds"]
    time_att = row("attention", n1, 1)["seconds"]
    speed = {f: row(f, n1, 1)["seconds"] / row(f, n1, most)["seconds"]
             for f in ("torch-rnn", "attention")}
    n_grad = gradients["n"]
    scale = "1.0" if "1.0" in gradients["rnn_at_init"] else sorted(gradients["rnn_at_init"])[0]
    rnn_fall = window_ratio(gradients["rnn_at_init"][scale])
    attention_fall = window_ratio(gradients["attention_at_init"])
    k = recall["config"]["n_ctx"]
    accuracy = {name: statistics.median(seed[k - 1] for seed in recall["accuracy"][name])
                for name in MODELS}
    far = f"{n_grad - WINDOW}–{n_grad - 1}"
    table = "\n".join([
        "| Measured on this page | Recurrence: a chain of n steps | Attention: one step |",
        "|---|---|---|",
        f"| Longest chain of dependent operations, n = {n1} ([R1](#slow)) | {rnn_chain:,} | "
        f"{att_chain} |",
        f"| Forward time, n = {n1}, 1 thread ([R1](#slow)) | {_ms(time_rnn)} (torch.nn.RNN), "
        f"{_ms(time_loop)} (Python loop) | {_ms(time_att)} |",
        f"| Speedup from 1 to {most} threads, n = {n1} ([R2](#threads)) | "
        f"{speed['torch-rnn']:.2f}× (torch.nn.RNN) | {speed['attention']:.2f}× |",
        f"| Gradient from input 0 at distance {far}, relative to distance 1–{WINDOW}, "
        f"at initialisation ([R3a](#forgetting-gradient)) | {_sci(rnn_fall)} "
        f"(recurrent scale {float(scale):g}) | {_sci(attention_fall)} |",
        f"| Held-out recall of the token {k} steps back ([R3b](#recall)) | "
        f"{_percent(accuracy['elman'])} (Elman), {_percent(accuracy['lstm'])} (LSTM) | "
        f"{_percent(accuracy['attention'])} |",
    ])
    thread_text = (
        f"extra cores barely help it (1 → {most} threads: {speed['torch-rnn']:.2f}× for the "
        f"RNN, {speed['attention']:.2f}× for attention)"
        if speed["attention"] > speed["torch-rnn"] else
        f"extra cores cannot split that chain (1 → {most} threads: "
        f"{speed['torch-rnn']:.2f}× for the RNN; attention's {speed['attention']:.2f}× here "
        f"shows how little {most} busy cores offer either of them)"
    )
    caption = (
        f"<p class=\"table-caption\"><strong>One cause.</strong> Every row is the same chain "
        f"seen from a different side. Because step t needs step t − 1, an RNN over n = {n1} "
        f"tokens has a chain of {rnn_chain:,} dependent operations where attention has "
        f"{att_chain}, so its time grows with n and {thread_text}. What input 0 contributes "
        f"must survive every link: across {n_grad - WINDOW} more links its gradient shrinks to "
        f"{_sci(rnn_fall)} of its size, against {_sci(attention_fall)} for attention, and a "
        f"token {k} steps back is recalled {_percent(accuracy['elman'])} of the time by the "
        f"Elman RNN and {_percent(accuracy['lstm'])} by the LSTM, against "
        f"{_percent(accuracy['attention'])} for attention, which reaches it in one step.</p>\n"
    )
    fragment = write_fragment(include_dir, f"{FIGURES}/one-cause.md", table + "\n\n" + caption)
    return [fragment]
