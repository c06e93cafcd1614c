"""The recurrence page's figures, captions and tables (R1-R4, T2), read off the experiments'
data (`attnsheet.experiments.recurrence`).

The readings at the top (times per forward, thread speedups, how far a gradient fell, how far
a model recalls) are shared with the claims' predicates (`sections/recurrence.py`), so that a
caption and a verdict never read the same data two ways.
"""

from __future__ import annotations

import math
import statistics

from ...experiments.measure import fitted_exponent
from ..spec import Figure, MachineLine, Rendered
from ..stage import data_file
from .common import (format_flops, legend, lengths_axis, markdown_table, ms, percent, sci,
                     tidy, times)

# --- readings shared with the claims ----------------------------------------------------------

WINDOW = 16  # positions averaged at each end of a sensitivity curve
FADED = 0.1  # a gradient "fades" once it is below this fraction of its start
FLAT = 10  # attention's sensitivity "does not depend on distance": it changes less than FLAT×
REACH = 0.9  # a model "recalls" a delay while its median held-out accuracy is at least this
LSTM_FURTHER = 2  # the LSTM reaches "much further": at least this many times the Elman RNN's k
CLEARLY_FASTER = 1.1  # attention is "faster" where the fastest RNN takes at least 1.1× as long
THREAD_GAIN = 1.2  # attention "gains from threads" with at least this speedup …
THREAD_MARGIN = 0.2  # … and at least this much more than each RNN's

RECALL_MODELS = ("elman", "lstm", "attention")
RNNS = ("elman-loop", "torch-rnn")

# Colour (index into the theme's series), marker, line style and label per series: colour is
# never the only way to tell the lines apart.
STYLE = {
    "elman-loop": (1, "o", "-", "Elman RNN, Python loop (library)"),
    "torch-rnn": (3, "s", "--", "Elman RNN, torch.nn.RNN (C++ loop)"),
    "attention": (0, "^", "-", "attention (library)"),
    "elman": (1, "o", "-", "Elman RNN"),
    "lstm": (2, "s", "--", "LSTM (gated RNN)"),
}
# Recurrent-weight scales at initialisation, small to large: a colour and a dash each (the
# attention colour, series 0, stays attention's).
SCALE_STYLES = ((4, ":"), (1, "-."), (3, "--"), (5, "-"))
NAMES = {"elman-loop": "the Python-loop RNN", "torch-rnn": "torch.nn.RNN",
         "attention": "attention", "elman": "the Elman RNN", "lstm": "the LSTM"}


def _style(name: str, colors) -> dict:
    index, marker, line, label = STYLE[name]
    return {"color": colors["series"][index], "marker": marker, "ls": line, "label": label}


def seconds_by_n(data: dict, forward: str, threads: int) -> dict[int, float]:
    """{n: median seconds} of one forward at one thread count (R1 data)."""
    return {r["n"]: r["seconds"] for r in data["rows"]
            if r["forward"] == forward and r["threads"] == threads}


def chains(data: dict) -> dict[str, list[int]]:
    """Longest chain of dependent operations per forward, for each length (R1 data)."""
    return {forward: [next(r["critical_path"] for r in data["rows"]
                           if r["forward"] == forward and r["n"] == n)
                      for n in data["lengths"]]
            for forward in data["forwards"]}


def long_half(lengths: list[int]) -> list[int]:
    """The longer half of the lengths: where fixed costs no longer hide the trend."""
    return [n for n in lengths if n >= lengths[len(lengths) // 2]]


def time_exponents(data: dict) -> dict[str, float]:
    """Fitted exponent p of time ~ n^p over the longer half of the lengths, one thread."""
    upper = long_half(data["lengths"])
    return {f: fitted_exponent(upper, [seconds_by_n(data, f, 1)[n] for n in upper])
            for f in data["forwards"]}


def attention_fastest_up_to(data: dict) -> int | None:
    """The longest run of lengths, from the shortest, at which attention (one thread) beats
    both RNNs clearly (by at least CLEARLY_FASTER): its last length, or None if it does not
    at the shortest. A few percent is within the noise of a shared machine."""
    one = {f: seconds_by_n(data, f, 1) for f in data["forwards"]}
    beats_up_to = None
    for n in data["lengths"]:
        if one["attention"][n] * CLEARLY_FASTER > min(one[f][n] for f in RNNS):
            break
        beats_up_to = n
    return beats_up_to


def thread_speedups(data: dict) -> dict:
    """R2's reading: each forward's speedup from 1 thread to the most threads, per length; the
    median over the longer half; whether attention gains clearly more than the RNNs."""
    lengths, most = data["lengths"], max(data["threads"])
    speedup = {}
    for forward in data["forwards"]:
        one, many = seconds_by_n(data, forward, 1), seconds_by_n(data, forward, most)
        speedup[forward] = [one[n] / many[n] for n in lengths]
    upper = long_half(lengths)
    indices = [lengths.index(n) for n in upper]
    median_long = {f: statistics.median(speedup[f][i] for i in indices) for f in speedup}
    best_rnn = max(median_long[f] for f in RNNS)
    gains = (most > 1 and median_long["attention"] >= THREAD_GAIN
             and median_long["attention"] >= best_rnn + THREAD_MARGIN)
    return {"most": most, "speedup": speedup, "long_from": upper[0],
            "median_long": median_long, "best_rnn": best_rnn, "attention_gains": gains}


def window_ratio(curve: list[float], parts: bool = False):
    """Geometric mean of the last WINDOW values over that of values 1 … WINDOW (0 is the
    input itself): how much a sensitivity fell with distance. With parts, the two means."""
    def mean(values):
        return math.exp(statistics.fmean(math.log(v) for v in values))

    early, late = mean(curve[1:WINDOW + 1]), mean(curve[-WINDOW:])
    return (early, late) if parts else late / early


def gradient_falls(gradients: dict) -> dict[float, float]:
    """{recurrent scale: ‖∂h_{n-1}/∂x_0‖ over ‖∂h_0/∂x_0‖} at initialisation (R3a data)."""
    return {scale: gradients["rnn_at_init"][str(scale)][-1]
            / gradients["rnn_at_init"][str(scale)][0] for scale in gradients["scales"]}


def accuracy_summary(recall: dict, name: str) -> tuple[list, list, list]:
    """(median, lowest, highest) held-out accuracy over seeds, for each k (R3b data)."""
    columns = list(zip(*recall["accuracy"][name]))
    return ([statistics.median(c) for c in columns], [min(c) for c in columns],
            [max(c) for c in columns])


def reach(recall: dict, name: str) -> int:
    """Largest k up to which the median held-out accuracy stays at or above REACH (0 if it is
    below at k = 1)."""
    median = accuracy_summary(recall, name)[0]
    k = 0
    while k < len(median) and median[k] >= REACH:
        k += 1
    return k


def capped_runs(recall: dict, names=("elman", "lstm")) -> int:
    """How many training runs of `names` ended at the step cap rather than by the rule."""
    return sum(log["stopped"] == "cap" for name in names for log in recall["training"][name])


def median_steps(recall: dict, name: str) -> float:
    """Median over seeds of the step at which the model's training stopped (R3b data)."""
    return statistics.median(log["steps"] for log in recall["training"][name])


def _data_link(experiment: str) -> str:
    return f'<a href="../{data_file(experiment)}">Data (JSON)</a>'


# --- R1: wall time and chain length against n ------------------------------------------------


def forward_time(data: dict, *, experiment: str) -> Rendered:
    """R1: time of each forward against n (one thread), log–log, next to its chain length."""
    lengths, d, forwards = data["lengths"], data["d"], data["forwards"]
    chain = chains(data)
    one = {f: seconds_by_n(data, f, 1) for f in forwards}

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(9.2, 3.8))
        for forward in forwards:
            style = _style(forward, colors)
            left.plot(lengths, [one[forward][n] * 1e3 for n in lengths], markersize=4,
                      **style)
        for forward, label in (("elman-loop", "RNN (either loop)"), ("attention", "attention")):
            style = {**_style(forward, colors), "label": label}
            right.plot(lengths, chain[forward], markersize=4, **style)
        lengths_axis(left, colors, lengths, "forward time, ms (median, 1 thread)")
        lengths_axis(right, colors, lengths, "longest chain of dependent operations")
        for axes in (left, right):
            legend(axes, colors)
        left.set_title("Wall time", fontsize=10)
        right.set_title("Sequential steps (critical path)", fontsize=10)
        figure.tight_layout()
        return figure

    n0, n1 = lengths[0], lengths[-1]
    rnn_chain, att_chain = chain["elman-loop"], chain["attention"]
    per_token = rnn_chain[-1] / n1
    slopes = time_exponents(data)
    beats_up_to = attention_fastest_up_to(data)
    growth = {f: one[f][n1] / one[f][n0] for f in forwards}
    per_step = {f: one[f][n1] / n1 for f in RNNS}
    steps_text = (
        f"Over the longer half of the range the RNNs' times grow like "
        f"n<sup>{slopes['torch-rnn']:.1f}</sup> (torch.nn.RNN) and "
        f"n<sup>{slopes['elman-loop']:.1f}</sup> (Python loop): a fixed cost for each token "
        f"they pass along, {per_step['torch-rnn'] * 1e6:.1f} µs and "
        f"{per_step['elman-loop'] * 1e6:.1f} µs per token at n = {n1} "
        f"({per_step['torch-rnn'] / per_token * 1e6:.2g} µs and "
        f"{per_step['elman-loop'] / per_token * 1e6:.2g} µs per operation of the chain, "
        f"{per_token:.0f} per token). Attention's grows like "
        f"n<sup>{slopes['attention']:.1f}</sup>: that is not waiting but work, its n × n score "
        f"table (the subject of <a href=\"../cost/\">The catch: not free</a>), and work can be "
        f"shared out (next figure)."
    )
    if beats_up_to == n1:
        crossing = (f"Attention is the fastest at every length measured: at n = {n1} it takes "
                    f"{ms(one['attention'][n1])}, against {ms(one['torch-rnn'][n1])} for "
                    f"torch.nn.RNN.")
    elif beats_up_to is not None:
        m = beats_up_to
        crossing = (
            f"Up to n = {m}, where its table is still small, attention is clearly faster "
            f"than both RNNs (by at least {CLEARLY_FASTER - 1:.0%}; at n = {m}: "
            f"{ms(one['attention'][m])}, against "
            f"{ms(one['torch-rnn'][m])} for torch.nn.RNN and {ms(one['elman-loop'][m])} "
            f"for the Python loop); at n = {n1} the table has taken over: "
            f"{ms(one['attention'][n1])} against {ms(one['torch-rnn'][n1])}."
        )
    else:
        crossing = (
            f"On this machine attention is not clearly faster (by {CLEARLY_FASTER - 1:.0%}) "
            f"than torch.nn.RNN's C++ loop even at the shortest length (at n = {n1}: "
            f"{ms(one['torch-rnn'][n1])} against "
            f"{ms(one['attention'][n1])}): with a width of {d}, each of its steps is tiny."
        )
    alt = (
        f"Two log-log plots against sequence length n from {n0} to {n1}. Left: forward time. "
        f"The Python-loop RNN goes from {ms(one['elman-loop'][n0])} to "
        f"{ms(one['elman-loop'][n1])}, torch.nn.RNN from {ms(one['torch-rnn'][n0])} to "
        f"{ms(one['torch-rnn'][n1])}, attention from {ms(one['attention'][n0])} to "
        f"{ms(one['attention'][n1])}. Right: the RNN's chain of dependent operations grows "
        f"from {rnn_chain[0]} to {rnn_chain[-1]}, {per_token:.0f} per token; attention's stays "
        f"at {att_chain[-1]}."
    )
    counts = sorted({r["rounds"] for r in data["rows"]}, reverse=True)
    rounds_text = (f"{counts[0]} runs" if len(counts) == 1 else
                   f"{counts[0]} runs ({counts[-1]} for calls slower than "
                   f"{ms(data['slow_s'])})")
    chain_text = ("at every length" if len(set(att_chain)) == 1
                  else f"between {min(att_chain)} and {max(att_chain)} whatever n")
    caption = (
        f"<strong>The RNN's chain grows with n; attention's does not.</strong> Right: read off "
        f"each forward's autograd graph, the longest chain of operations that must run one "
        f"after another is {rnn_chain[-1]:,} for the RNN at n = {n1} ({per_token:.0f} per "
        f"token: step t cannot start before step t − 1 ends) and {att_chain[-1]} for attention "
        f"{chain_text}. Left: median wall time of {rounds_text} on one thread (the next "
        f"figure adds threads), width d = {d}, warm-up calls excluded, load average "
        f"{max(data['load_average']):.1f} on {data['cpu_count']} cores while measured. "
        f"From n = {n0} to n = {n1} ({n1 // n0}× longer) the "
        f"Python-loop RNN's time grows {times(growth['elman-loop'])}, torch.nn.RNN's "
        f"{times(growth['torch-rnn'])} and attention's {times(growth['attention'])}. "
        f"{steps_text} {crossing} {_data_link(experiment)}."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption),
                                MachineLine({**data["machine"], "threads": 1})]})


# --- R2: one thread against all threads -------------------------------------------------------


def _attention_below(data: dict, where: str) -> list[tuple[int, bool]]:
    """(n, whether the work-span bound puts attention below torch.nn.RNN) at every length."""
    bound = {(r["forward"], r["n"]): r[where] for r in data["rows"]}
    return [(n, bound["attention", n] < bound["torch-rnn", n])
            for n in sorted({n for _, n in bound})]


def bound_crossing(data: dict, where: str) -> int | None:
    """The first n from which the bound (`where`: "bound_here" or "bound_accelerator") puts
    attention below torch.nn.RNN and keeps it there; None if it never does."""
    below = _attention_below(data, where)
    return next((n for i, (n, _) in enumerate(below) if all(b for _, b in below[i:])), None)


def _microseconds(seconds: float) -> str:
    """A short duration in µs (two significant digits, no exponent), from 1 ms in ms."""
    value = seconds * 1e6
    if value >= 1000:
        return ms(seconds)
    return f"{value:.2g} µs" if value < 10 else f"{value:,.0f} µs"


def work_span(data: dict) -> Rendered:
    """Work, span and the work-span bound for each forward, here and on the stated accelerator."""
    accelerator = data["accelerator"]
    rows = [r for r in data["rows"] if r["forward"] != "elman-loop"]
    longest = max(r["n"] for r in rows)
    at = {r["forward"]: r for r in rows if r["n"] == longest}
    there = bound_crossing(data, "bound_accelerator")
    slowed = bound_crossing(data, "bound_accelerator_slack")
    slack, size = data["attention_slack"], data["matmul_size"]
    table = markdown_table(
        ["n", "forward", "work", "span (steps)", "measured here, 1 thread",
         "bound, 1 core", "measured / bound", f"bound here, {data['cores']} cores",
         f"bound on the {accelerator['name']}"],
        [[f"{r['n']:,}", STYLE[r["forward"]][3], format_flops(r["work"]), f"{r['span']:,}",
          ms(r["measured_one_thread"]), ms(r["bound_one_thread"]), f"{r['slack']:.2g}×",
          ms(r["bound_here"]), _microseconds(r["bound_accelerator"])] for r in rows])

    def crossing(n):
        return (f"from n = {n:,} on" if n is not None else "at no length measured")

    text = (
        f"**Why the hardware decides.** Attention does far more arithmetic than the RNN "
        f"(at n = {longest:,}: {format_flops(at['attention']['work'])} against "
        f"{format_flops(at['torch-rnn']['work'])}), but in a chain of "
        f"{at['attention']['span']} dependent kernel calls instead of "
        f"{at['torch-rnn']['span']:,} (inside a call, a sum over n can itself be split, to a "
        f"depth of about log n). A computation of work W and span S (its longest chain) "
        f"takes at least max(W / (P r), S ℓ) on P units of rate r whose dependent operations "
        f"take ℓ each, and a good schedule comes within the sum of the two "
        f"[(Brent, 1974)](references.md#brent-1974). Here r = "
        f"{data['core_flops'] / 1e9:.0f} GFLOP/s per core (one {size:,} × {size:,} matrix "
        f"product, timed once for the whole site on the [cost page](cost.md#the-work)), "
        f"P = {data['cores']}, and ℓ = {_microseconds(data['step_latency'])}, read off torch.nn.RNN itself (its time per "
        f"operation of its chain at n = {data['latency_from']['n']:,}; so its bound matches its "
        f"measurement by construction). Attention's one-thread time at n = {longest:,} was "
        f"{slack:.1f}× its one-core bound: its softmax, memory traffic and fixed costs are not "
        f"in the model. A lower bound cannot by itself order two run times, so the comparison "
        f"below is made twice. On an "
        f"{accelerator['name']} ({accelerator['peak_flops'] / 1e12:.1f} TFLOP/s, its "
        f"float32 peak without tensor cores as NVIDIA publishes it, quoted by "
        f"[Dao (2023)](references.md#dao-2023); the [cost page](cost.md#context-window) uses "
        f"its 16-bit tensor-core rate, {accelerator['tensor_core_flops'] / 1e12:.0f} TFLOP/s; "
        f"ℓ = "
        f"{_microseconds(accelerator['step_latency'])} per dependent operation, an assumption, "
        f"not a measurement) the bounds put attention below {crossing(there)}: the RNN's "
        f"chain alone needs {ms(at['torch-rnn']['bound_accelerator'])} at n = {longest:,}, "
        f"attention {_microseconds(at['attention']['bound_accelerator'])}. With attention's "
        f"arithmetic {slack:.1f}× slower than the peak rate there, as it was against the "
        f"matrix-multiply rate here, and the RNN at its bound, attention is still below "
        f"{crossing(slowed)}. These come from a model with one "
        f"assumed number, not from recorded runs.\n")
    return Rendered(parts={"": [text, MachineLine(data["machine"])], "table": [table]})


def threads(data: dict, *, experiment: str) -> Rendered:
    """R2: speedup of each forward from 1 thread to all threads, against n."""
    lengths, forwards = data["lengths"], data["forwards"]
    reading = thread_speedups(data)
    most, speedup, median_long = reading["most"], reading["speedup"], reading["median_long"]

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.8, 3.8))
        for forward in forwards:
            axes.plot(lengths, speedup[forward], markersize=4, **_style(forward, colors))
        axes.axhline(1, color=colors["muted"], lw=1, ls=":")
        axes.axhline(most, color=colors["muted"], lw=1, ls=":")
        axes.text(lengths[0], 1, " no gain", va="bottom", fontsize=8, color=colors["muted"])
        axes.text(lengths[0], most, f" ideal: {most}× with {most} threads", va="bottom",
                  fontsize=8, color=colors["muted"])
        lengths_axis(axes, colors, lengths, f"speedup, 1 thread → {most} threads", log_y=False)
        top = max(max(max(v) for v in speedup.values()), most)
        axes.set_ylim(0, top * 1.15)
        # Below the axes: wherever the measured lines fall, they stay visible.
        legend(axes, colors, "upper center", ncol=2, bbox_to_anchor=(0.5, -0.16))
        figure.tight_layout()
        return figure

    n1 = lengths[-1]
    last = {f: speedup[f][-1] for f in forwards}
    cores = data["cpu_count"]
    load = max(data["load_average"])
    gains = reading["attention_gains"]
    # A second thread needs a free core: above cores - 1, other work held more than all but
    # one of them on average while this ran.
    busy = load > cores - 1
    if most == 1:
        title = "No second thread to compare with."
        verdict = ("This machine gives torch a single thread, so there is nothing to spread "
                   "the work over: the comparison needs two or more cores.")
    else:
        title = ("Extra threads help attention, not the chain." if gains else
                 "Here extra threads did not help attention either.")
        verdict = (
            f"From n = {reading['long_from']} up, the median speedup is "
            f"{median_long['attention']:.2f}× for attention and {reading['best_rnn']:.2f}× at "
            f"best for the RNNs. "
            + ("Attention gains clearly more: its n × n products split across threads, while "
               "the RNN can only split each step's small product, never the chain of steps. "
               f"At this width (d = {data['d']}) and {most} threads that small product gains "
               "nothing; a much wider RNN could gain a little inside each step, still never "
               "across steps."
               if gains else
               "That is weaker than the textbook story. "
               + (f"It most likely says more about the machine than about attention: its load "
                  f"average was {load:.1f} on {cores} cores while this ran, so other work "
                  f"already occupied the cores and a second thread mostly waited for one."
                  if busy else
                  f"The machine was not especially busy (load average {load:.1f} on {cores} "
                  f"cores), so on this hardware that is what {most} threads bring.")
               + " The RNN's chain could not be split in any case.")
            + (f" At n = {n1} the Python-loop RNN ran slightly slower with {most} threads than "
               f"with 1 ({last['elman-loop']:.3f}×)." if last["elman-loop"] < 1 else "")
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
        + ("." if busy and not gains else
           f"; its load average was {load:.1f} while this was measured.")
        + f" {_data_link(experiment)}."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption), MachineLine(data["machine"])]})


# --- R3b: recall accuracy against distance ----------------------------------------------------


_SAMPLING_TEXT = {
    "log-uniform": "drawn so that each octave of delays (1, 2–3, 4–7, …) comes up about "
                   "equally often",
    "uniform": "each delay equally often",
}
_STOP_TEXT = {"plateau": "no longer improving", "solved": "solved", "cap": "at the cap"}


def reach_text(k: int, k_max: int) -> str:
    """How far a model recalls, in words: "every k up to 64", "up to k = 8", "not even k = 1"."""
    if k == k_max:
        return f"every k up to {k_max}"
    return "not even k = 1" if k == 0 else f"up to k = {k}"


def _stops_text(logs: list[dict]) -> str:
    """"500, 600 and 600 steps (solved each time)", or each run's reason when they differ."""
    steps = [f"{log['steps']:,}" for log in logs]
    listed = steps[0] if len(steps) == 1 else f"{', '.join(steps[:-1])} and {steps[-1]}"
    reasons = [_STOP_TEXT[log["stopped"]] for log in logs]
    if len(set(reasons)) == 1:
        return f"{listed} steps ({reasons[0]}{' each time' if len(logs) > 1 else ''})"
    return f"{listed} steps ({', '.join(reasons)})"


def recall(data: dict, *, experiment: str) -> Rendered:
    """R3b: held-out accuracy against the delay k for the three models, seeds' median and
    range; the caption states the task, the stopping rule, where each run stopped and each
    model's reach."""
    config = data["config"]
    k_max, items = config["max_delay"], config["items"]
    ks = list(range(1, k_max + 1))
    chance = 1 / items
    summary = {name: accuracy_summary(data, name) for name in RECALL_MODELS}

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.8, 3.9))
        for name in RECALL_MODELS:
            style = _style(name, colors)
            median, low, high = summary[name]
            axes.fill_between(ks, low, high, color=style["color"], alpha=0.22, linewidth=0)
            axes.plot(ks, median, markersize=3.5,
                      **{**style, "label": f"{style['label']}, "
                                           f"{data['parameters'][name]:,} parameters"})
        for level, text in ((chance, f" chance (1/{items})"), (REACH, f" {percent(REACH)}")):
            axes.axhline(level, color=colors["muted"], lw=1, ls=":")
            axes.text(ks[0], level, text, ha="left", va="bottom", fontsize=8,
                      color=colors["muted"])
        axes.set_xscale("log", base=2)
        axes.set_xticks([k for k in ks if k & (k - 1) == 0],
                        [str(k) for k in ks if k & (k - 1) == 0])
        axes.set_ylim(0, 1.04)
        axes.set_xlabel("k: distractors between the item and the query")
        axes.set_ylabel("held-out accuracy")
        tidy(axes, colors)
        legend(axes, colors, "center right")  # clear of the chance line's label
        figure.tight_layout()
        return figure

    seeds = len(config["seeds"])

    def quote(name, k):
        median, low, high = (values[k - 1] for values in summary[name])
        spread = f" ({percent(low)}–{percent(high)})" if high - low >= 0.005 else ""
        return f"{percent(median)}{spread}"

    reaches = {name: reach(data, name) for name in RECALL_MODELS}
    if (reaches["elman"] < k_max and reaches["lstm"] >= LSTM_FURTHER * reaches["elman"]
            and reaches["attention"] == k_max):
        title = (f"The Elman RNN keeps the item {reach_text(reaches['elman'], k_max)}; the "
                 f"LSTM {reach_text(reaches['lstm'], k_max)}; attention at every delay.")
    elif all(k == k_max for k in reaches.values()):
        title = (f"Trained mostly on short delays, all three carry one item across every "
                 f"delay tried, up to k = {k_max}.")
    else:
        title = "Held-out recall against the delay, as measured."
    # Right at every delay while its gradient to the item fades: say so, it is the twist.
    elman_sensitivity = data["sensitivity"]["elman"]
    elman_fall = elman_sensitivity[-1] / elman_sensitivity[0]
    latch = (f" The Elman RNN is right at every delay although its gradient to the item at "
             f"k = {k_max} is {sci(elman_fall)} of its value at k = 1 "
             f"(<a href=\"#forgetting-gradient\">figure above</a>, right)."
             if reaches["elman"] == k_max and elman_fall < FADED else "")
    steps = {name: _stops_text(data["training"][name]) for name in RECALL_MODELS}
    alt = (
        f"Held-out accuracy against the delay k from 1 to {k_max}, median of {seeds} seeds, "
        f"with dotted lines at {percent(REACH)} and at chance (1 in {items}). "
        + " ".join(f"{STYLE[name][3]}: {percent(summary[name][0][0])} at k = 1 and "
                   f"{percent(summary[name][0][-1])} at k = {k_max}."
                   for name in RECALL_MODELS)
    )
    sizes = list(data["parameters"].values())
    caption = (
        f"<strong>{title}</strong> "
        f"Each sequence holds one item (one of {items} tokens), then k distractors (from "
        f"{config['distractors']} other tokens), then a query token; the answer is the item. "
        f"Every sequence is {k_max + 2} tokens long: one with a shorter delay starts with "
        f"extra distractors, so the item sits exactly k steps before the query. Training "
        f"mixes the delays 1 to {k_max}, {_SAMPLING_TEXT[config['sampling']]}. Each model "
        f"trained on the same {config['train_size']:,} sequences (Adam at {config['lr']}, "
        f"batches of {config['batch']}) and stopped by one rule: every "
        f"{config['eval_every']} steps it reads its loss on {config['val_size']:,} validation "
        f"sequences, and stops once that loss has gone {config['patience']} readings without "
        f"a new best at least {percent(config['min_improvement'])} below the previous one (no "
        f"longer improving), or has fallen to {config['solved_loss']} nats or less (solved), "
        f"or at {config['max_steps']:,} steps (the cap); it keeps the weights of its lowest "
        f"validation loss. Stopped after: "
        f"Elman RNN {steps['elman']}; LSTM {steps['lstm']}; attention {steps['attention']}. "
        f"Median held-out accuracy over {seeds} seeds, band from lowest to highest, "
        f"{config['test_per_k']} held-out sequences per delay ({data['test_in_train']} of "
        f"them in any training set). Reach, the largest k up to which the median stays at "
        f"least {percent(REACH)}: the Elman RNN {reach_text(reaches['elman'], k_max)}, the "
        f"LSTM {reach_text(reaches['lstm'], k_max)}, attention "
        f"{reach_text(reaches['attention'], k_max)}. At k = {k_max}: Elman "
        f"{quote('elman', k_max)}, LSTM {quote('lstm', k_max)}, attention "
        f"{quote('attention', k_max)}, against 1 in {items} for guessing.{latch} Same "
        f"budget for all: about {round(statistics.fmean(sizes), -2):,.0f} parameters each "
        f"({min(sizes):,} to {max(sizes):,}; Elman RNN with {data['hidden']['elman']} hidden "
        f"units, LSTM with {data['hidden']['lstm']}, attention of width {config['width']}). "
        f"{_data_link(experiment)}."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


# --- R3a: the gradient reaching back ----------------------------------------------------------


def gradient(gradients: dict, recall_data: dict, *, experiment: str) -> Rendered:
    """R3a: ‖∂h_t/∂x_0‖ against t at initialisation (RNN scales vs attention), and the
    trained models' sensitivity to the item k steps before the query (from the recall run)."""
    n, d, scales = gradients["n"], gradients["d"], gradients["scales"]
    rnn, attention = gradients["rnn_at_init"], gradients["attention_at_init"]
    trained = recall_data["sensitivity"]
    ks = list(range(1, len(trained["attention"]) + 1))
    ts = list(range(n))

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, (left, right) = plt.subplots(1, 2, figsize=(9.2, 3.9))
        for scale, (colour, ls) in zip(scales, SCALE_STYLES):
            left.plot(ts, rnn[str(scale)], ls=ls, color=colors["series"][colour],
                      label=f"tanh RNN, recurrent scale {scale:g}")
        left.plot(ts, attention, ls="-", marker="^", markevery=max(1, n // 12),
                  markersize=4, color=_style("attention", colors)["color"],
                  label="self-attention, output t")
        left.set_xlabel("t: steps after input 0")
        left.set_ylabel("‖∂ state t / ∂ input 0‖")
        left.set_title(f"At initialisation (width {d})", fontsize=10)
        for name in RECALL_MODELS:
            right.plot(ks, trained[name], markersize=3.5, **_style(name, colors))
        right.set_xlabel("k: steps from the item to the query")
        right.set_ylabel("‖∂ answer / ∂ item k back‖")
        right.set_title("After training on the recall task", fontsize=10)
        for axes in (left, right):
            axes.set_yscale("log")
            tidy(axes, colors)
            legend(axes, colors)
        figure.tight_layout()
        return figure

    t_end = n - 1
    ratio = gradient_falls(gradients)
    beyond = attention[1:]
    early, late = window_ratio(attention, parts=True)
    k_end = ks[-1]
    trained_ratio = {name: trained[name][-1] / trained[name][0] for name in RECALL_MODELS}
    spread = max(trained["attention"]) / min(trained["attention"])
    fading = [s for s in scales if ratio[s] < FADED]
    lasting = [s for s in scales if ratio[s] >= FADED]
    scale_text = "; ".join(f"scale {s:g}: {sci(ratio[s])}" for s in scales)
    honest = ""
    if lasting:
        elman_falls = trained_ratio["elman"] < FADED
        honest = (
            f" At scale {', '.join(f'{s:g}' for s in lasting)} it did not fade within {n} steps "
            f"(it ended at {', '.join(sci(ratio[s]) for s in lasting)} times its start, about "
            f"flat per step): larger recurrent weights multiply the gradient up while tanh's "
            f"flattening slopes cut it down, and here the two roughly cancel; weights large "
            f"enough to win make it grow instead (it explodes; "
            '<a href="../references/#pascanu-2013">Pascanu et al., 2013</a>). '
            + ("Training did not leave the Elman RNN there: its gradient falls with "
               "distance (right)." if elman_falls else
               "After training, the Elman RNN's gradient did not fall that far either "
               "(right).")
        )
    title = ("Through the chain, the first input's influence shrinks step by step; through "
             "attention it does not depend on distance."
             if fading and 1 / FLAT < late / early < FLAT else
             "The gradient from input 0 against distance, as measured.")
    fading_text = ""
    if fading:
        listed = ", ".join(f"{s:g}" for s in fading)
        fading_text = (f" At scale {listed} it fades exponentially: a product of one factor "
                       f"per step, each below 1 on average.")
    alt = (
        f"Two log-scale plots. Left, at initialisation: the tanh RNN's gradient from input 0 "
        f"after {t_end} steps is "
        + ", ".join(f"{sci(ratio[s], html=False)} of its first value at scale {s:g}"
                    for s in scales)
        + f"; attention's stays between {sci(min(beyond), html=False)} and "
        f"{sci(max(beyond), html=False)} at every distance. Right, after training: the answer's "
        f"gradient to the item {k_end} steps back is {sci(trained_ratio['elman'], html=False)} "
        f"of its k = 1 value for the Elman RNN, {sci(trained_ratio['lstm'], html=False)} for "
        f"the LSTM and {sci(trained_ratio['attention'], html=False)} for attention."
    )
    caption = (
        f"<strong>{title}</strong> Left: size of "
        f"∂h<sub>t</sub>/∂x<sub>0</sub> for a tanh RNN of width {d} at initialisation, "
        f"geometric mean over {gradients['n_sequences']} random sequences. After {t_end} "
        f"hand-offs it is this fraction of its value at t = 0: {scale_text}."
        + fading_text
        + honest
        + f" Self-attention with random weights reads input 0 directly from every position: "
        f"its sensitivity stays between {sci(min(beyond))} and {sci(max(beyond))} for all "
        f"t ≥ 1 (geometric mean {sci(early)} over t = 1 to {WINDOW}, {sci(late)} over the "
        f"last {WINDOW}), diluted by the {n}-way average but not by distance. Right: the "
        f"trained models of the recall test below (seed {recall_data['config']['seeds'][0]}); "
        f"from k = 1 to k = {k_end} the answer's gradient to the item it must recall falls to "
        f"{sci(trained_ratio['elman'])} of its value for the Elman RNN and "
        f"{sci(trained_ratio['lstm'])} for the LSTM, while attention's stays within a factor "
        f"of {spread:.1f} at every k."
        + (f" A small gradient is not forgetting: this same Elman RNN recalls the item "
           f"{k_end} steps back (below). A network that stores an item robustly has a vanishing "
           f"gradient to it, and that is what makes long gaps hard to learn "
           '(<a href="../references/#bengio-1994">Bengio et al., 1994</a>).'
           if reach(recall_data, "elman") == k_end and trained_ratio["elman"] < FADED else "")
        + f" {_data_link(experiment)}."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


# --- T2: training time per epoch ------------------------------------------------------------


def _threads_phrase(threads: int) -> str:
    return "one thread" if threads == 1 else f"{threads} threads"


def epoch_time(epochs: dict, recall_data: dict, *, experiment: str) -> Rendered:
    """T2: seconds per training epoch of each recall model, beside the steps its training
    took and its recall at the longest delay."""
    config, seconds = epochs["config"], epochs["seconds_per_epoch"]
    k_max, length = config["max_delay"], config["max_delay"] + 2
    steps = -(-config["train_size"] // config["batch"])
    rows = []
    for name in RECALL_MODELS:
        accuracy = accuracy_summary(recall_data, name)[0][-1]
        rows.append([STYLE[name][3], f"{recall_data['parameters'][name]:,}",
                     f"{seconds[name]:.3f}", f"{median_steps(recall_data, name):,.0f}",
                     percent(accuracy)])
    table = markdown_table(["Model", "Parameters", "Seconds per training epoch",
                            "Steps until training stopped (median of seeds)",
                            f"Held-out accuracy at k = {k_max}"], rows)
    ratio = {name: seconds[name] / seconds["attention"] for name in ("elman", "lstm")}
    if min(ratio.values()) > 1:
        comparison = (f"attention's epoch was the shortest: the Elman RNN's took "
                      f"{times(ratio['elman'])} as long and the LSTM's {times(ratio['lstm'])}. "
                      f"Attention puts all {length} positions through the same few matrix "
                      f"products, while each RNN runs {length} small steps one after another, "
                      f"forward and backward. On {_threads_phrase(epochs['threads'])} nothing "
                      f"sits idle: what the chain costs here is the fixed overhead of "
                      f"each of those many small operations")
    else:
        fastest = min(RECALL_MODELS, key=seconds.get)
        comparison = (f"attention was not the fastest per epoch ({NAMES[fastest]} was, "
                      f"{seconds[fastest]:.3f} s against {seconds['attention']:.3f} s): with "
                      f"only {length} steps in the chain and these small widths, fixed costs per "
                      f"step weigh more than the chain does")
    reaches = [name for name in RECALL_MODELS if reach(recall_data, name) == k_max]
    reached = (f"Only attention recalled the item at every delay up to k = {k_max}."
               if reaches == ["attention"] else
               f"Models that recalled the item at every delay up to k = {k_max}: "
               f"{', '.join(NAMES[name] for name in reaches) or 'none'}.")
    thread_text = f"{epochs['threads']} thread{'s' if epochs['threads'] != 1 else ''}"
    caption = (
        f"<p class=\"table-caption\"><strong>Training time per epoch</strong>: one pass over "
        f"the training set, {steps} steps of {config['batch']} sequences of {length} tokens, "
        f"the same models and data as the figure above, {thread_text} as in that run, one "
        f"epoch timed after a few warm-up steps; the steps until training stopped are the "
        f"figure's (its stopping rule). Here {comparison}. {reached} What more cores add is "
        f"measured <a href=\"#threads\">above</a>. {_data_link(experiment)}.</p>\n"
    )
    return Rendered(parts={"": [table, caption, MachineLine(epochs["machine"])]})


# --- R4: one cause ----------------------------------------------------------------------------


def one_cause(timing: dict, gradients: dict, recall_data: dict) -> Rendered:
    """R4: one table that quotes R1, R2, R3a and R3b and names their shared cause."""
    lengths = timing["lengths"]
    n1 = lengths[-1]
    chain = chains(timing)
    rnn_chain, att_chain = chain["elman-loop"][-1], chain["attention"][-1]
    one = {f: seconds_by_n(timing, f, 1)[n1] for f in timing["forwards"]}
    reading = thread_speedups(timing)
    most = reading["most"]
    speed = {f: reading["speedup"][f][-1] for f in ("torch-rnn", "attention")}
    n_grad = gradients["n"]
    scale = 1.0 if 1.0 in gradients["scales"] else gradients["scales"][0]
    rnn_fall = window_ratio(gradients["rnn_at_init"][str(scale)])
    attention_fall = window_ratio(gradients["attention_at_init"])
    k = recall_data["config"]["max_delay"]
    accuracy = {name: accuracy_summary(recall_data, name)[0][k - 1] for name in RECALL_MODELS}
    # The verdicts' reading: the recall row agrees when the Elman RNN's reach ends short.
    recall_agrees = reach(recall_data, "elman") < k
    far = f"{n_grad - WINDOW}–{n_grad - 1}"
    table = markdown_table(
        ["Measured on this page", "Recurrence: a chain of n steps", "Attention: one step"],
        [[f"Longest chain of dependent operations, n = {n1} ([R1](#slow))", f"{rnn_chain:,}",
          f"{att_chain}"],
         [f"Forward time, n = {n1}, 1 thread ([R1](#slow))",
          f"{ms(one['torch-rnn'])} (torch.nn.RNN), {ms(one['elman-loop'])} (Python loop)",
          ms(one["attention"])],
         [f"Speedup from 1 to {most} threads, n = {n1} ([R2](#threads))",
          f"{speed['torch-rnn']:.2f}× (torch.nn.RNN)", f"{speed['attention']:.2f}×"],
         [f"Gradient from input 0 at distance {far}, relative to distance 1–{WINDOW}, at "
          f"initialisation ([R3a](#forgetting-gradient))",
          f"{sci(rnn_fall)} (recurrent scale {scale:g})", sci(attention_fall)],
         [f"Held-out recall of one item {k} steps back ([R3b](#recall))",
          f"{percent(accuracy['elman'])} (Elman), {percent(accuracy['lstm'])} (LSTM)",
          percent(accuracy["attention"])]])
    thread_text = (
        f"extra cores barely help it (1 → {most} threads: {speed['torch-rnn']:.2f}× for the "
        f"RNN, {speed['attention']:.2f}× for attention)"
        if reading["attention_gains"] else
        f"extra cores cannot split that chain (1 → {most} threads: "
        f"{speed['torch-rnn']:.2f}× for the RNN; attention's {speed['attention']:.2f}× here "
        f"shows how little {most} busy cores offer either of them)"
    )
    slower_here = (
        f" On this machine the chain is not yet the slower road: at n = {n1} on one thread "
        f"attention took {ms(one['attention'])} against {ms(one['torch-rnn'])} for "
        f"torch.nn.RNN, because its n × n work outgrows what {timing['cpu_count']} cores "
        f"can absorb (<a href=\"#slow\">R1</a>)."
        if one["attention"] >= one["torch-rnn"] else "")
    recalled = (f"recalled {percent(accuracy['elman'])} of the time by the Elman RNN and "
                f"{percent(accuracy['lstm'])} by the LSTM, against "
                f"{percent(accuracy['attention'])} for attention")
    recall_text = (
        f" and one item {k} steps back is {recalled}, which reaches it in one step."
        if recall_agrees else
        f". The recall row does not follow here: after training, one item {k} steps back is "
        f"{recalled} (<a href=\"#recall\">R3b</a>).")  # inside HTML: an HTML link
    opening = ("Every row is the same chain seen from a different side." if recall_agrees else
               "The first rows are the same chain seen from different sides.")
    caption = (
        f"<p class=\"table-caption\"><strong>One cause.</strong> {opening} Because step t "
        f"needs step t − 1, an RNN over n = {n1} "
        f"tokens has a chain of {rnn_chain:,} dependent operations where attention has "
        f"{att_chain}, so its time grows with n and {thread_text}.{slower_here} What input 0 "
        f"contributes must survive every link: across {n_grad - WINDOW} more links its gradient "
        f"shrinks to {sci(rnn_fall)} of its size, against {sci(attention_fall)} for attention"
        f"{recall_text}</p>\n"
    )
    # the table in view; its reading folds under it on the page
    return Rendered(parts={"": [table, MachineLine(timing["machine"])], "reading": [caption]})


# --- R1 on a GPU: recorded runs ----------------------------------------------------------------


def recorded_times(run: dict) -> dict[str, dict[int, float]]:
    """A recorded run's R1 medians: forward -> {n: seconds}."""
    times: dict[str, dict[int, float]] = {}
    for row in run["r1"]["rows"]:
        times.setdefault(row["forward"], {})[row["n"]] = row["seconds"]
    return times


def recorded(data: dict) -> Rendered:
    """Each recorded GPU run of R1's forwards, labelled as recorded, with its provenance."""
    if not data["runs"]:
        return Rendered(parts={"": [
            "**On a GPU: no recorded run yet.** `make gpu-evidence` on a machine with a CUDA "
            "device times these three forwards there and records the run in the repository; "
            "the page then shows it here, labelled as recorded, and R1's verdict reads it. "
            "Until then the GPU half of this argument is the work-span bound above.\n"]})
    blocks = []
    for run in data["runs"]:
        times = recorded_times(run)
        lengths = sorted(times["attention"])
        rows = [[f"{n:,}", ms(times["torch-rnn"][n]), ms(times["elman-loop"][n]),
                 ms(times["attention"][n]),
                 f"{times['torch-rnn'][n] / times['attention'][n]:.2g}×"] for n in lengths]
        software = f"torch {run['torch']}" + (f", CUDA {run['cuda']}" if run["cuda"] else "")
        driver = f", driver {run['driver']}" if run["driver"] else ""
        blocks.append(
            f"**Recorded on {run['device']}** ({run['date'][:10]}; {software}{driver}; commit "
            f"`{run['commit'][:7]}`{' with local changes' if run.get('dirty') else ''}): a run "
            f"recorded with `{run['command']}`, not measured when this page was built. Median "
            f"of {run['r1']['repeats']} calls each, d = {run['r1']['d']}.\n\n"
            + markdown_table(["n", "torch.nn.RNN", "Python loop", "attention",
                              "RNN / attention"], rows)
            + ("\nThe same run timed the cost page's plain attention, (1, 1, n, 64) float32: "
               + ", ".join(f"{ms(row['seconds'])} at n = {row['n']:,}"
                           for row in run["c1"]["rows"]) + ".\n" if run.get("c1") else ""))
    return Rendered(parts={"": blocks})


# --- R3b, a second training regime ---------------------------------------------------------------


def separating_regime(regimes: dict[str, dict]) -> str | None:
    """The first training regime (name -> recall data) in which attention recalls the item
    at every delay and the Elman RNN does not; None if no regime separates them."""
    for name, data in regimes.items():
        k_max = data["config"]["max_delay"]
        if reach(data, "attention") == k_max and reach(data, "elman") < k_max:
            return name
    return None


def recall_uniform(log_uniform: dict, uniform: dict, *, experiment: str) -> Rendered:
    """R3b's models trained again with every delay equally likely: held-out accuracy at a
    few delays, each model's reach and why its training stopped, beside the figure's."""
    k_max, items = uniform["config"]["max_delay"], uniform["config"]["items"]
    shown = sorted({1, 8, k_max} & set(range(1, k_max + 1)))
    accuracy = {name: accuracy_summary(uniform, name)[0] for name in RECALL_MODELS}
    reaches = {name: reach(uniform, name) for name in RECALL_MODELS}
    rows = [[STYLE[name][3], *(percent(accuracy[name][k - 1]) for k in shown),
             reach_text(reaches[name], k_max), reach_text(reach(log_uniform, name), k_max),
             _stops_text(uniform["training"][name])] for name in RECALL_MODELS]
    table = markdown_table(
        ["Model", *(f"k = {k}" for k in shown), "recalls (uniform delays)",
         "recalls (the figure's mix)", "training (uniform delays)"], rows)
    reading = (
        f"With every delay equally likely, most training sequences put the item far back, "
        f"where the Elman RNN's gradient has faded: it recalls "
        f"{reach_text(reaches['elman'], k_max)} (median {percent(accuracy['elman'][0])} at "
        f"k = 1 and {percent(accuracy['elman'][-1])} at k = {k_max}, against 1 in {items} for "
        f"guessing), while the LSTM recalls {reach_text(reaches['lstm'], k_max)} and "
        f"attention {reach_text(reaches['attention'], k_max)}. The figure's mix of "
        f"mostly short delays lets the Elman RNN learn short delays first and carry the item "
        f"further from there; without it, the fading gradient leaves it too little signal to "
        f"learn even the short ones well "
        f"(<a href=\"../references/#bengio-1994\">Bengio et al., 1994</a>)."
        if separating_regime({"uniform": uniform}) else
        "With every delay equally likely the models do not separate either: "
        + ", ".join(f"{NAMES[n]} recalls {reach_text(reaches[n], k_max)}"
                    for n in RECALL_MODELS) + ".")
    caption = (f"<p class=\"table-caption\"><strong>The same three models, trained with delays "
               f"drawn uniformly from 1 to {k_max}</strong> (everything else as in the figure: "
               f"data, stopping rule, seeds; medians of {len(uniform['config']['seeds'])} "
               f"seeds, at least {percent(REACH)} counts as recalled). {reading} "
               f"{_data_link(experiment)}.</p>\n")
    return Rendered(parts={"": [table], "reading": [caption]})  # the reading folds
