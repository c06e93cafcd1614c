"""Why recurrence is slow (recurrence page, R1 and R2): time the forwards, count their chains.

Three forwards of the same width d, run on a sequence x (n, d):

* ``elman-loop``: the library's `elman_rnn_torch`, a Python loop over the n time steps;
* ``torch-rnn``: `torch.nn.RNN`, the same recurrence with the loop in C++ (the fair RNN);
* ``attention``: the library's `attention_torch` on the projections x @ w_q, x @ w_k, x @ w_v.

`measure_forwards` times each with one thread and with all of torch's threads (medians of
repeated runs, warm-up calls not counted); `critical_path` counts the longest chain of
operations that must run one after another, read off the autograd graph.
"""

from __future__ import annotations

import math
import statistics
from typing import Callable

import torch

from ._checks import (
    require_device,
    require_positive_int,
    require_positive_ints,
    require_real,
    require_seed,
)
from .attention import attention_torch
from .experiments.measure import interleaved_medians, median_seconds, num_threads
from .rnn import elman_rnn_torch

__all__ = ["FORWARDS", "SLOW_S", "critical_path", "make_forwards", "measure_forwards"]

FORWARDS = ("elman-loop", "torch-rnn", "attention")
SLOW_S = 0.02  # calls slower than this get fewer timed rounds (see measure_forwards)


def make_forwards(d: int, seed: int = 0,
                  device=None) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The three forwards of width d, seeded, float32: name -> function of x (n, d).

    The forwards are what `measure_forwards` times, so they add no checks of their own to
    the library functions' (torch.nn.RNN has none): give them x (n, d), float32, finite, on
    `device` (None: the CPU; the weights are drawn on the CPU either way, so every device
    gets the same ones).
    """
    require_positive_int("d", d)
    require_seed("seed", seed)
    device = require_device("device", device)
    generator = torch.Generator().manual_seed(seed)

    def weight():  # (d, d), entries ~ N(0, 1/d): activations keep their scale
        return (torch.randn(d, d, generator=generator) / math.sqrt(d)).to(device)

    w_xh, w_hh, w_q, w_k, w_v = (weight() for _ in range(5))
    b_h = torch.zeros(d, device=device)
    rnn = torch.nn.RNN(d, d, nonlinearity="tanh")
    with torch.no_grad():  # the same weights as the loop, so both compute the same states
        rnn.weight_ih_l0.copy_(w_xh.T)
        rnn.weight_hh_l0.copy_(w_hh.T)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    rnn.to(device)

    def elman_loop(x):
        return elman_rnn_torch(x, w_xh, w_hh, b_h)  # (n, d)

    def torch_rnn(x):
        return rnn(x)[0]  # unbatched input (n, d) -> states (n, d)

    def attention(x):
        return attention_torch(x @ w_q, x @ w_k, x @ w_v)  # (n, d)

    return {"elman-loop": elman_loop, "torch-rnn": torch_rnn, "attention": attention}


def critical_path(output: torch.Tensor) -> int:
    """Length of the longest chain of dependent operations that produced `output`.

    Read off the autograd graph: each node is one operation, and an operation can start only
    after every operation on a path into it has finished, so the longest path is the least
    number of steps the work takes on any amount of parallel hardware. Leaves count 0.
    """
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"output must be a torch.Tensor: got {type(output).__name__}")
    if output.grad_fn is None:
        raise ValueError("output has no autograd graph: compute it from a tensor with "
                         "requires_grad=True, outside torch.no_grad()")
    depth: dict = {}
    stack = [(output.grad_fn, False)]
    while stack:  # iterative post-order walk: an RNN over 4096 steps is a deep graph
        node, children_done = stack.pop()
        if node in depth:
            continue
        parents = [p for p, _ in node.next_functions if p is not None]
        if children_done:
            is_leaf = not parents and type(node).__name__ == "AccumulateGrad"
            depth[node] = 0 if is_leaf else 1 + max((depth[p] for p in parents), default=0)
            continue
        stack.append((node, True))
        stack.extend((p, False) for p in parents if p not in depth)
    return depth[output.grad_fn]


def _repeated(forward: Callable, x: torch.Tensor, calls: int) -> Callable[[], None]:
    """One sample: `calls` forwards of x in a row (a fast call is timed over several)."""
    def sample() -> None:
        for _ in range(calls):
            forward(x)

    return sample


def measure_forwards(lengths, d: int, thread_counts, *, seed: int = 0, rounds: int = 5,
                     slow_rounds: int = 3, slow_s: float = SLOW_S,
                     sample_s: float = 0.002) -> list[dict]:
    """Time every forward at every length n and thread count; count each one's chain.

    For each thread count, every (forward, n) first runs untimed (the first call pays for
    allocation and thread start-up; fast ones run twice). Then come `rounds` rounds, each
    visiting every thread count, length and forward in turn, so that a burst of load from
    elsewhere on the machine hits all of them alike instead of spoiling one. A sample repeats
    a fast call until it lasts about `sample_s` seconds and keeps the time per call; a call
    slower than `slow_s` is sampled in only the first `slow_rounds` rounds (it is less noisy,
    and it is where the time goes).

    Returns one row per (forward, n, threads): {"forward", "n", "threads", "seconds"
    (median over its rounds), "calls" (per sample), "rounds", "critical_path"}. torch.nn.RNN
    runs its loop inside one C++ call, so its autograd graph has no per-step nodes: its
    chain is counted on the Python loop, which computes the same recurrence.
    """
    lengths = require_positive_ints("lengths", lengths)
    thread_counts = require_positive_ints("thread_counts", thread_counts)
    require_positive_int("rounds", rounds)
    require_positive_int("slow_rounds", slow_rounds)
    require_real("slow_s", slow_s, positive=True)
    require_real("sample_s", sample_s, positive=True)
    forwards = make_forwards(d, seed)  # checks d and seed
    generator = torch.Generator().manual_seed(seed + 1)
    inputs = {n: torch.randn(n, d, generator=generator) for n in lengths}  # (n, d) each
    chains = {}
    with num_threads(1):  # a count, not a timing: one thread is quickest for the small ops
        for n, x in inputs.items():
            x_grad = x.clone().requires_grad_(True)
            for name in ("elman-loop", "attention"):
                chains[name, n] = critical_path(forwards[name](x_grad))
            chains["torch-rnn", n] = chains["elman-loop", n]

    calls, wanted, samples = {}, {}, {}
    with torch.no_grad():
        for threads in thread_counts:
            with num_threads(threads):
                for n, x in inputs.items():
                    for name, forward in forwards.items():
                        once = median_seconds(lambda: forward(x), 1, warmup=0)  # warm-up
                        if once < 10 * sample_s:  # fast: a second call sizes samples better
                            once = median_seconds(lambda: forward(x), 1, warmup=0)
                        key = (name, n, threads)
                        # min before int: sample_s = 1e308 gives an inf ratio.
                        calls[key] = max(1, int(min(100.0, sample_s / max(once, 1e-9))))
                        # A slow call gets min(slow_rounds, rounds): "rounds" reports what ran.
                        wanted[key] = min(slow_rounds, rounds) if once > slow_s else rounds
                        samples[key] = []
        # Rounds alternate the thread counts, so both see the machine in the same state;
        # within a round and a thread count, the calls take turns (`interleaved_medians`,
        # one timed sample each).
        for round_ in range(rounds):
            for threads in thread_counts:
                due = {(name, n): (forward, x) for n, x in inputs.items()
                       for name, forward in forwards.items()
                       if round_ < wanted[name, n, threads]}
                if not due:
                    continue
                sample = {key: _repeated(forward, x, calls[(*key, threads)])
                          for key, (forward, x) in due.items()}
                with num_threads(threads):
                    seconds = interleaved_medians(sample, dict.fromkeys(sample, 1))
                for (name, n), value in seconds.items():
                    samples[name, n, threads].append(value / calls[name, n, threads])
    return [{"forward": name, "n": n, "threads": threads,
             "seconds": statistics.median(samples[name, n, threads]),
             "calls": calls[name, n, threads], "rounds": wanted[name, n, threads],
             "critical_path": chains[name, n]}
            for threads in thread_counts for n in lengths for name in forwards]
