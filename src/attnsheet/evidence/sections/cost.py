"""Section 5, the catch: not free (docs/cost.md): C1-C4."""

from __future__ import annotations

from ..spec import FAILS_HERE, HOLDS, Claim, Evidence, Experiment, Verdict, all_of, must
from ..stage import script_data_file
from . import smollm

# The cost page measures on one torch thread: on a shared two-core machine, threads that wait
# for each other at every step turn other work into large swings, and the growth with n that
# the page is about does not depend on the thread count.
MEASURE_THREADS = 1
TIME_FIT_FROM_MULTIPLE = 16  # C1's time fit starts at n = 16 d, where n >> d
MEMORY_FIT_FROM = 1024  # C2's memory fit: the lengths where fixed costs weigh little
TRAINED_LENGTH = 32  # C3(c): the sequence length the small model is trained at
SLIDING_N = 1024  # C4: the length of the sequences the sliding window is scored on

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("c1-flop-check", "attnsheet.experiments.cost:flop_check",
               {"d_model": 128, "heads": 4, "lengths": [64 * 2**i for i in range(5)]}),
    Experiment("c1-time-sweep", "attnsheet.experiments.cost:time_sweep",
               {"lengths": [128 * 2**i for i in range(7)], "repeats": 5, "repeats_long": 3,
                "long_from": 4096, "fit_from_multiple": TIME_FIT_FROM_MULTIPLE, "breakdown_n": 4096,
                "threads": MEASURE_THREADS},
               timing=True),
    Experiment("c2-memory-sweep", "attnsheet.experiments.cost:memory_sweep",
               {"lengths": [256 * 2**i for i in range(6)], "fit_from": MEMORY_FIT_FROM,
                "threads": MEASURE_THREADS},
               timing=True),
    Experiment("c3-context-table", "attnsheet.experiments.cost:context_table",
               {"lengths": [2**p for p in range(10, 21)],
                "training_multiples": [2**k for k in range(6)]}),
    Experiment("c3-trained-length", "attnsheet.experiments.cost:trained_length",
               {"vocab": 16, "trained": TRAINED_LENGTH, "d_model": 64, "heads": 4, "layers": 2,
                "steps": 400, "batch": 64, "lr": 3e-3, "seed": 0, "evaluate_multiple": 4,
                "threads": 1}),
    Experiment("c4-chunked-check", "attnsheet.experiments.cost:chunked_check",
               {"tolerance": 1e-5, "cases": [
                   {"n": 100, "chunk": 7, "mask": "none"},
                   {"n": 100, "chunk": 7, "mask": "causal"},
                   {"n": 100, "chunk": 32, "mask": "random"},
                   {"n": 1000, "chunk": 128, "mask": "none"},
                   {"n": 1000, "chunk": 128, "mask": "causal"},
                   {"n": 1000, "chunk": 4096, "mask": "random"},
               ]}),
    Experiment("c4-sliding-window-error", "attnsheet.experiments.cost:sliding_window_error",
               {"n": SLIDING_N, "windows": [16, 64, 256, SLIDING_N], "correlation": 0.98}),
    Experiment("c4-side-by-side", "attnsheet.experiments.cost:side_by_side",
               {"lengths": [512, 1024, 2048, 4096], "repeats": 3, "chunk_size": 512,
                "query_chunk_size": 2048, "window": 256, "threads": MEASURE_THREADS},
               timing=True),
    smollm.experiment(smollm.CACHE),
)

_RENDER = "attnsheet.evidence.render.cost:"
CONTEXT = "c3-context-table"  # its slider's JSON is published under this name

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("cost-doubling-snippet", "cost.md#double-the-length",
             "Doubling n: the score table and its multiply-adds grow 4x; time measured.",
             snippet="cost/double_n.py", timing=True),
    Evidence("c1-flop-check", "cost.md#the-work",
             "FLOP formula (projections 8nd², scores and blend 4n²d) equals the operations "
             "torch's FlopCounterMode counts.",
             render=_RENDER + "flop_check", data=("c1-flop-check",)),
    Evidence("c1-time-sweep", "cost.md#the-work",
             "Plain attention timed from n = 128 to 8,192: fitted exponent, ratio per doubling, "
             "achieved FLOP/s against the machine's matrix-multiply rate.",
             render=_RENDER + "time_sweep", data=("c1-time-sweep",)),
    Evidence("c2-memory-sweep", "cost.md#the-memory",
             "Measured peak memory of plain attention over n beside the bytes of the n x n table.",
             render=_RENDER + "memory_sweep", data=("c2-memory-sweep",)),
    Evidence(CONTEXT, "cost.md#context-window",
             "Compute, key/value cache and score tables of Llama 2 7B and Llama 3 8B from 1k "
             "to 1M tokens (the slider, its JSON, and the same numbers as a table).",
             render=_RENDER + "context_table", data=("c3-context-table",),
             params={"src": script_data_file(CONTEXT)}),
    Evidence("c3-training-cost", "cost.md#trained-length",
             "Per-token training compute of Llama 2 7B and Llama 3 8B at 1 to 32 times "
             "their pretraining lengths.",
             render=_RENDER + "training_cost", data=("c3-context-table",)),
    Evidence("c3-trained-length", "cost.md#trained-length",
             "A small transformer trained at one length, its loss at every position of "
             "sequences four times as long.",
             render=_RENDER + "trained_length", data=("c3-trained-length",)),
    Evidence("c4-chunked-check", "cost.md#exact-in-chunks",
             "Chunked attention with an online softmax equals plain attention and SDPA "
             "within 1e-5 in float32.",
             render=_RENDER + "chunked_check", data=("c4-chunked-check",)),
    Evidence("c4-sliding-window-error", "cost.md#only-the-neighbours",
             "Sliding-window attention's error against full attention, by window size.",
             render=_RENDER + "sliding_window_error", data=("c4-sliding-window-error",)),
    Evidence("c4-side-by-side", "cost.md#side-by-side",
             "Plain, chunked, sliding-window attention and torch's SDPA: time and peak memory "
             "over n, in one run.",
             render=_RENDER + "side_by_side", data=("c4-side-by-side",)),
    *smollm.on_page("cost.md"),
)


# --- criteria ---------------------------------------------------------------------------------

# C1: "about 4x per doubling" read from time: a fitted exponent of 2 +- 0.5 where n >> d,
# i.e. 2.8x to 5.7x per doubling (time is a proxy for work: fixed costs and the memory
# hierarchy bend it, a linear or cubic growth would contradict the claim).
TIME_EXPONENT_BAND = (1.5, 2.5)
# C2: plain attention's peak over the large lengths grows like n^2 (a table of 4n^2 bytes);
# chunked attention and SDPA, which never hold the table, grow about like n (fitted exponent
# at most 1.4: on average at most 2.6x per doubling, against 4x for the table).
PLAIN_MEMORY_BAND = (1.8, 2.2)
LINEAR_MEMORY_MAX = 1.4
# C3: past its training length a model's loss rises at least this much (mean loss over
# positions L..4L against L/2..L).
PAST_TRAINED_RISE = 1.5
# C3(c): why training stops at a length: per-token training compute at this multiple of a
# model's pretraining length (Llama 3 8B: 8k -> 128k, the window Llama 3.1 was extended to)
# is at least this multiple of the compute at its pretraining length.
TRAINING_STRETCH, TRAINING_COST_RISE = 16, 2.0

# C4: a window that covers every token is full attention again (relative error, a check of
# the implementation); a window of SLIDING_WINDOW keys is a usable approximation where
# nearby tokens carry what matters (the drifting sequence: relative error at most
# LOCAL_ERROR_MAX) and a poor one where they do not (the random sequence: at least
# NONLOCAL_ERROR_MIN); chunked attention's peak memory exponent is at least
# CHUNKED_MEMORY_GAP below plain attention's.
FULL_WINDOW_ERROR = 1e-5
SLIDING_WINDOW, LOCAL_ERROR_MAX, NONLOCAL_ERROR_MIN = 64, 0.1, 0.5
CHUNKED_MEMORY_GAP = 0.5


def _within(value: float, band: tuple[float, float]) -> bool:
    return band[0] <= value <= band[1]


def c1_verdict(data: dict) -> Verdict:
    for row in data["c1-flop-check"]["rows"]:
        must(row["counted"] == row["formula"],
             f"n = {row['n']}: FlopCounterMode counted {row['counted']}, the formula says "
             f"{row['formula']}")
    sweep = data["c1-time-sweep"]
    exponent = sweep["exponent"]
    numbers = {"lengths counted": len(data["c1-flop-check"]["rows"]),
               "time exponent": round(exponent, 3), "fitted from n": sweep["fit_from"]}
    if _within(exponent, TIME_EXPONENT_BAND):
        return Verdict(HOLDS, numbers,
                       f"the counted FLOPs equal 8nd² + 4n²d at every length, and time grows "
                       f"like n^{exponent:.2f} for n ≥ {sweep['fit_from']:,}, within "
                       f"{TIME_EXPONENT_BAND[0]}–{TIME_EXPONENT_BAND[1]}")
    return Verdict(FAILS_HERE, numbers,
                   f"the counted FLOPs equal the formula, but time grew like "
                   f"n^{exponent:.2f} for n ≥ {sweep['fit_from']:,} on this machine, outside "
                   f"{TIME_EXPONENT_BAND[0]}–{TIME_EXPONENT_BAND[1]}")


def c2_verdict(data: dict) -> Verdict:
    sweep, side = data["c2-memory-sweep"], data["c4-side-by-side"]
    plain = sweep["exponent_large"]
    linear = {m: side["memory_exponent"][m] for m in ("chunked", "SDPA")}
    numbers = {"plain memory exponent": round(plain, 3), "fitted from n": sweep["fit_from"],
               **{f"{m} memory exponent": round(p, 3) for m, p in linear.items()}}
    problems = []
    if not _within(plain, PLAIN_MEMORY_BAND):
        problems.append(f"plain attention's peak grew like n^{plain:.2f}, outside "
                        f"{PLAIN_MEMORY_BAND[0]}–{PLAIN_MEMORY_BAND[1]}")
    problems += [f"{m}'s peak grew like n^{p:.2f}, above {LINEAR_MEMORY_MAX}"
                 for m, p in linear.items() if p > LINEAR_MEMORY_MAX]
    if problems:
        return Verdict(FAILS_HERE, numbers, "; ".join(problems))
    return Verdict(HOLDS, numbers,
                   f"plain attention's peak memory grows like n^{plain:.2f} for n ≥ "
                   f"{sweep['fit_from']:,}; chunked attention's like n^{linear['chunked']:.2f} "
                   f"and SDPA's like n^{linear['SDPA']:.2f}")


def c3_verdict(data: dict) -> Verdict:
    """(a) compute: the n² share of a forward pass grows with n, past half; (b) memory: the
    key/value cache grows exactly like n, shared key/value heads divide it, and it, not the
    avoidable score table, is what must fit; (c) a model scored past its training length is
    much worse there."""
    table, run = data["c3-context-table"], data["c3-trained-length"]
    mha, gqa = (model["name"] for model in table["models"])
    rows = table["rows"]
    shares = [row["models"][gqa]["quadratic_share"] for row in rows]
    must(all(later > earlier for earlier, later in zip(shares, shares[1:])),
         f"the n² share of a forward pass does not grow with every length: {shares}")
    half = next((row["n"] for row, share in zip(rows, shares) if share > 0.5), None)
    must(half is not None, "the n² part never makes up half of the compute")
    half_causal = next((row["n"] for row in rows
                        if row["models"][gqa]["quadratic_share_causal"] > 0.5), None)
    first, last = rows[0], rows[-1]
    for name in (mha, gqa):
        per_token = first["models"][name]["kv_cache_bytes"] / first["n"]
        must(all(row["models"][name]["kv_cache_bytes"] == per_token * row["n"] for row in rows),
             f"{name}'s key/value cache does not grow exactly like n")
    shared = [m["heads"] // m["kv_heads"] for m in table["models"]]
    ratio = first["models"][mha]["kv_cache_bytes"] / first["models"][gqa]["kv_cache_bytes"]
    must(ratio == shared[1] / shared[0],
         f"sharing key/value heads {shared[1]} ways divides the cache by {ratio}, not "
         f"{shared[1] / shared[0]}")
    stretched = {}  # model -> its per-token training cost at TRAINING_STRETCH x, relative
    for name, costs in table["training_cost"].items():
        relative = [row["relative"] for row in costs]
        must(all(later > earlier for earlier, later in zip(relative, relative[1:])),
             f"{name}'s per-token training compute does not rise with the length: {relative}")
        stretched[name] = next(row["relative"] for row in costs
                               if row["multiple"] == TRAINING_STRETCH)
    must(stretched[gqa] >= TRAINING_COST_RISE,
         f"training {gqa} at {TRAINING_STRETCH}× its pretraining length costs "
         f"{stretched[gqa]:.2f}× per token, under {TRAINING_COST_RISE}×")
    trained, losses = run["trained"], run["loss_by_position"]
    inside = sum(losses[trained // 2:trained]) / (trained - trained // 2)
    past = sum(losses[trained:]) / (len(losses) - trained)
    must(past >= PAST_TRAINED_RISE * inside,
         f"past its training length the model's loss is {past:.2f}, not {PAST_TRAINED_RISE}× "
         f"its {inside:.2f} inside it")
    cache_at_1m = last["models"][mha]["kv_cache_bytes"]
    return Verdict(HOLDS, {
        "n² share at 1k, 1M": [round(shares[0], 3), round(shares[-1], 3)],
        "n² past half from n (causal: masked half skipped)": [half, half_causal or "never"],
        f"{mha} KV cache per token (bytes)": int(first["models"][mha]["kv_cache_bytes"]
                                                  / first["n"]),
        f"{gqa} KV cache per token (bytes)": int(first["models"][gqa]["kv_cache_bytes"]
                                                  / first["n"]),
        f"{mha} KV cache at {last['n']:,} (GiB)": round(cache_at_1m / 2**30, 1),
        f"training per token at {TRAINING_STRETCH}× the pretraining length (×)":
            {name: round(value, 2) for name, value in stretched.items()},
        "loss inside / past the trained length": [round(inside, 3), round(past, 3)],
    }, f"the n² part is over half of a forward pass from n = {half:,} on (from "
       f"{f'n = {half_causal:,}' if half_causal else 'no listed n'} when a causal model skips "
       f"the masked half); the key/value "
       f"cache grows like n (sharing heads {shared[1]} ways cuts it {ratio:.0f}×); training "
       f"{gqa} at {TRAINING_STRETCH}× its pretraining length would cost "
       f"{stretched[gqa]:.1f}× as much per token; a model trained on {trained} tokens "
       f"scores {past:.2f} nats past them against {inside:.2f} inside")


def c4_verdict(data: dict) -> Verdict:
    check = data["c4-chunked-check"]
    worst = max(max(row["from_plain"], row["from_sdpa"]) for row in check["rows"])
    must(worst <= check["tolerance"],
         f"chunked attention differs by {worst:.2e} > {check['tolerance']:.0e}")
    sliding = data["c4-sliding-window-error"]
    must(sliding["windows"][-1] >= sliding["n"], "no window covers the whole sequence")
    for name, result in sliding["sequences"].items():
        errors = result["error"]
        must(all(later < earlier for earlier, later in zip(errors, errors[1:])),
             f"sliding-window error does not shrink as the window grows ({name}): {errors}")
        must(errors[-1] <= FULL_WINDOW_ERROR,
             f"a full window is off by {errors[-1]:.2e} ({name}), not full attention")
    at_window = {name: result["error"][sliding["windows"].index(SLIDING_WINDOW)]
                 for name, result in sliding["sequences"].items()}
    must(at_window["drifting"] <= LOCAL_ERROR_MAX,
         f"a {SLIDING_WINDOW}-key window is off by {at_window['drifting']:.1%} on the drifting "
         f"sequence, more than {LOCAL_ERROR_MAX:.0%}: no use even where neighbours matter")
    must(at_window["random"] >= NONLOCAL_ERROR_MIN,
         f"a {SLIDING_WINDOW}-key window is off by only {at_window['random']:.1%} on the random "
         f"sequence: the experiment does not show what a window loses")
    exponents = data["c4-side-by-side"]["memory_exponent"]
    gap = exponents["plain"] - exponents["chunked"]
    numbers = {"chunked worst difference": worst,
               f"{SLIDING_WINDOW}-key window's error (drifting, random)":
                   [round(at_window["drifting"], 3), round(at_window["random"], 3)],
               "plain memory exponent": round(exponents["plain"], 3),
               "chunked memory exponent": round(exponents["chunked"], 3)}
    if gap >= CHUNKED_MEMORY_GAP:
        return Verdict(HOLDS, numbers,
                       f"chunked attention matches plain attention and SDPA within "
                       f"{check['tolerance']:.0e}; a {SLIDING_WINDOW}-key window is off by "
                       f"{at_window['drifting']:.0%} where neighbours resemble each other and "
                       f"{at_window['random']:.0%} where they do not; chunked memory grows like "
                       f"n^{exponents['chunked']:.2f} against plain's n^{exponents['plain']:.2f}")
    return Verdict(FAILS_HERE, numbers,
                   f"chunked attention is exact, but its peak memory grew like "
                   f"n^{exponents['chunked']:.2f} against plain's n^{exponents['plain']:.2f}, "
                   f"less than {CHUNKED_MEMORY_GAP} apart")


CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "cost.md",
          "All-to-all attention work grows with the square of the length: double n, about 4x work.",
          ("cost-doubling-snippet", "c1-flop-check", "c1-time-sweep"),
          criterion=(
              "By construction (a check of the formula): the FLOPs torch's FlopCounterMode "
              "counts in the library's multi-head attention equal the formula (projections "
              "8nd², scores and blend 4n²d) exactly at every length. Measured: plain "
              f"attention's time, fitted over n ≥ {TIME_FIT_FROM_MULTIPLE} d, grows like n^p with "
              f"{TIME_EXPONENT_BAND[0]} ≤ p ≤ {TIME_EXPONENT_BAND[1]} "
              f"({2 ** TIME_EXPONENT_BAND[0]:.1f}x to {2 ** TIME_EXPONENT_BAND[1]:.1f}x per "
              "doubling)."),
          predicate=c1_verdict, section="double-the-length"),
    Claim("C2", "cost.md",
          "The n x n weight table's memory grows with the square of the length.",
          ("cost-doubling-snippet", "c2-memory-sweep", "c4-side-by-side"),
          criterion=(
              f"Measured: plain attention's peak memory, fitted over n ≥ {MEMORY_FIT_FROM:,}, "
              f"grows like n^p with {PLAIN_MEMORY_BAND[0]} ≤ p ≤ {PLAIN_MEMORY_BAND[1]}; "
              "chunked attention's and SDPA's, which never hold the table, grow about like n "
              f"(fitted exponent at most {LINEAR_MEMORY_MAX}) in the side-by-side run."),
          predicate=c2_verdict, section="the-memory"),
    Claim("C3", "cost.md",
          "Attention's growing cost bounds how much text a model reads at once: its n² compute, "
          "its key/value cache, and the length it can afford to be trained at.",
          ("c3-context-table", "c3-training-cost", "c3-trained-length", "c3-smollm-cache"),
          criterion=(
              "Computed from published configurations (Llama 2 7B, Llama 3 8B): the n² part's "
              "share of a forward pass grows with every listed length and passes half; the "
              "key/value cache grows exactly like n and shared key/value heads divide it by "
              "the sharing factor; training per token costs more at every longer length, "
              f"and {TRAINING_STRETCH}× Llama 3 8B's pretraining length costs at least "
              f"{TRAINING_COST_RISE:g}× as much per token. "
              "Trained here (deterministic, seeded): a model trained on "
              f"{TRAINED_LENGTH}-token sequences has a mean loss past that length at least "
              f"{PAST_TRAINED_RISE}× its loss just inside it." + smollm.C3_CRITERION),
          predicate=all_of(c3_verdict, smollm.grouped_cache), section="context-window"),
    Claim("C4", "cost.md",
          "Much research widens the window cheaply (exact chunked attention, sliding windows).",
          ("c4-chunked-check", "c4-sliding-window-error", "c4-side-by-side"),
          criterion=(
              "Deterministic: chunked attention equals plain attention and SDPA within the "
              "stated float32 tolerance in every case; the sliding window's error shrinks as "
              f"the window grows and is at most {FULL_WINDOW_ERROR:.0e} at a full window "
              f"(both checks of the implementations). Seeded: a {SLIDING_WINDOW}-key window "
              f"(of {SLIDING_N:,}) is within {LOCAL_ERROR_MAX:.0%} of full attention on a sequence "
              f"whose neighbours resemble each other and off by at least "
              f"{NONLOCAL_ERROR_MIN:.0%} on a random one. "
              "Measured: chunked attention's peak-memory exponent is at least "
              f"{CHUNKED_MEMORY_GAP} below plain attention's in the side-by-side run."),
          predicate=c4_verdict, section="widening-the-window"),
)
