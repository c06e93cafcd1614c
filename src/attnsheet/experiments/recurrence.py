"""Why recurrence had to go (R1-R4, T2): time the forwards and count their chains, follow the
gradient from input 0, train the recall models (one item carried past k distractors), time
their training epochs.

The measuring code lives in the library modules the tests and readers use (`attnsheet.speed`,
`attnsheet.forgetting`, `attnsheet.recall`); these functions run it with the registry's
parameters and return plain data, echoing the parameters they used.
"""

from __future__ import annotations

import os

from . import measure


def forward_times(lengths: list[int], d: int, seed: int) -> dict:
    """R1/R2: every forward timed at every length with one thread and with all of torch's
    threads; each one's longest chain of dependent operations (`speed.measure_forwards`)."""
    import torch

    from ..speed import FORWARDS, SLOW_S, measure_forwards

    all_threads = torch.get_num_threads()
    thread_counts = sorted({1, all_threads}, reverse=True)
    load_before = os.getloadavg()[0]
    rows = measure_forwards(lengths, d, thread_counts, seed=seed)
    return {"d": d, "lengths": list(lengths), "seed": seed, "forwards": list(FORWARDS),
            "threads": thread_counts, "slow_s": SLOW_S, "cpu_count": os.cpu_count(),
            "load_average": [load_before, os.getloadavg()[0]], "rows": rows,
            "machine": measure.machine(all_threads)}


def forward_work(forward: str, n: int, d: int) -> int:
    """FLOPs of one forward (a multiply-add counts 2): an RNN does two (d, d) mat-vecs per
    token, 4nd²; attention projects q, k, v (6nd²), then scores and blends (4n²d)."""
    return 4 * n * d * d if forward != "attention" else 6 * n * d * d + 4 * n * n * d


def work_span_rows(timing: dict, accelerator: dict, core_flops: float) -> dict:
    """R1(c), the arithmetic: work (FLOPs) and span (the longest chain of dependent
    operations, counted) of each forward at each n, and the work-span bound on its time: on P units
    of rate r whose dependent steps take at least ℓ each, time ≥ max(W / (P r), S ℓ).

    Here: P = the cores, r = `core_flops` (one core's matrix-multiply rate), ℓ =
    torch.nn.RNN's one-thread time per step of its chain at the longest n (its work per step
    is tiny, so that is latency). The accelerator's rate is its published peak; its ℓ is a
    stated assumption.

    A lower bound cannot order two run times by itself, so each row also carries the bound for
    one core (`bound_one_thread`, what the one-thread measurement can be held against) and
    `slack`, measured over that bound. `bound_accelerator_slack` slows attention's arithmetic
    on the accelerator by its slack at the longest n here, where its work sets its bound
    (softmax, memory traffic and fixed costs are not in the model), and leaves the RNN at its
    lower bound: attention below the RNN there is then a comparison that does not favour
    attention."""
    d, cores = timing["d"], timing["cpu_count"]
    one_thread = {(r["forward"], r["n"]): r for r in timing["rows"] if r["threads"] == 1}
    longest = timing["lengths"][-1]
    rnn = one_thread["torch-rnn", longest]
    latency = rnn["seconds"] / rnn["critical_path"]
    rows = []
    for (forward, n), row in sorted(one_thread.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        work, span = forward_work(forward, n, d), row["critical_path"]
        one_core = max(work / core_flops, span * latency)
        rows.append({
            "forward": forward, "n": n, "work": work, "span": span,
            "measured_one_thread": row["seconds"],
            "bound_here": max(work / (cores * core_flops), span * latency),
            "bound_one_thread": one_core, "slack": row["seconds"] / one_core,
            "bound_accelerator": max(work / accelerator["peak_flops"],
                                     span * accelerator["step_latency"]),
        })
    slack = next(r["slack"] for r in rows if r["forward"] == "attention" and r["n"] == longest)
    for row in rows:
        rate = accelerator["peak_flops"] / (slack if row["forward"] == "attention" else 1.0)
        row["bound_accelerator_slack"] = max(row["work"] / rate,
                                             row["span"] * accelerator["step_latency"])
    return {"d": d, "cores": cores, "core_flops": core_flops, "step_latency": latency,
            "latency_from": {"forward": "torch-rnn", "n": longest}, "accelerator": accelerator,
            "attention_slack": slack, "rows": rows}


def work_span(*, upstream: dict, accelerator: dict) -> dict:
    """R1(c): `work_span_rows` with one core's matrix-multiply rate as the cost page measured
    it (c1-time-sweep, one thread): one measurement of the rate for the whole site."""
    sweep = upstream["c1-time-sweep"]
    return {**work_span_rows(upstream["r1-forward-times"], accelerator,
                             sweep["matmul_flops_per_second"]),
            "matmul_size": sweep["matmul_size"], "machine": sweep["machine"]}


def gradients(n: int, d: int, scales: list[float], seed: int, n_sequences: int = 4) -> dict:
    """R3a: ‖∂h_t/∂x_0‖ for t = 0 … n-1, for a tanh RNN at each recurrent scale and for
    self-attention, at initialisation (`forgetting`); geometric means over sequences."""
    from ..forgetting import attention_sensitivity, rnn_sensitivity

    with measure.num_threads(1):  # tiny products: one thread is fastest, and deterministic
        rnn = {str(scale): rnn_sensitivity(n, d, scale, seed=seed, n_sequences=n_sequences)
               for scale in scales}
        attention = attention_sensitivity(n, d, seed=seed, n_sequences=n_sequences)
    return {"n": n, "d": d, "seed": seed, "scales": list(scales), "n_sequences": n_sequences,
            "rnn_at_init": rnn, "attention_at_init": attention}


def _config(config: dict):
    from ..recall import RecallConfig

    return RecallConfig(**{**config, "seeds": tuple(config["seeds"])})


def recall(**config) -> dict:
    """R3b: the recall experiment (`recall.run`): held-out accuracy by delay for every model
    and seed, where and why each model's training stopped, trained and initial
    sensitivities, parameter counts."""
    from ..recall import run

    return run(_config(config))


def epoch_times(**config) -> dict:
    """T2: seconds per training epoch (one pass over the training set) of each recall model,
    one thread as in R3b."""
    from ..recall import epoch_seconds

    threads = 1
    load_before = os.getloadavg()[0]
    parsed = _config(config)
    seconds = epoch_seconds(parsed, threads=threads)
    return {"config": parsed.to_dict(), "threads": threads, "cpu_count": os.cpu_count(),
            "load_average": [load_before, os.getloadavg()[0]],
            "seconds_per_epoch": seconds, "machine": measure.machine(threads)}


# --- R1 on a GPU: runs recorded elsewhere -------------------------------------------------------

_RECORD_FIELDS = ("device", "driver", "torch", "cuda", "date", "commit", "command", "r1")


def recorded_runs(files: dict[str, str]) -> dict:
    """The GPU runs `scripts/gpu_evidence.py` recorded into `recorded/` (path -> JSON text),
    oldest first, each with the file it came from. Not measured here: read, and checked to
    hold what the pages quote."""
    import json

    runs = []
    for path, text in sorted(files.items()):
        run = json.loads(text)
        missing = [name for name in _RECORD_FIELDS if name not in run]
        if missing:
            raise ValueError(f"{path} is not a recorded run: it lacks {', '.join(missing)}")
        runs.append({**run, "file": path})
    return {"runs": sorted(runs, key=lambda run: run["date"])}
