"""What the library's attention costs next to its references, as ratios from one run.

* library attention / textbook: `attention_torch` (input checks included) against
  softmax((q / sqrt(d)) k^T) v written in three operations, in time and in peak memory;
* chunked / SDPA: `chunked_attention_torch` against torch's fused
  `scaled_dot_product_attention` (higher is better for the speed ratio printed by the bench:
  SDPA's time over chunked's);
* sliding / plain: `sliding_window_attention_torch` against the textbook at each n.

All calls for one thread count take turns in one interleaved run (`measure.interleaved_medians`),
so load on the machine slows all of them alike and the ratios stay meaningful. `make bench`
prints this; it is a report, not a test and not site evidence.
"""

from __future__ import annotations

import functools

from . import measure
from .cost import HEAD_SIZE, plain_attention, random_qkv


def _calls(n: int, window: int) -> dict:
    import torch.nn.functional as F

    from ..attention import attention_torch
    from ..efficient import chunked_attention_torch, sliding_window_attention_torch

    q, k, v = random_qkv(n)  # (1, 1, n, d) float32
    return {
        "library": functools.partial(attention_torch, q, k, v),
        "textbook": functools.partial(plain_attention, q, k, v),
        "chunked": functools.partial(chunked_attention_torch, q, k, v),
        "SDPA": functools.partial(F.scaled_dot_product_attention, q, k, v),
        "sliding": functools.partial(sliding_window_attention_torch, q, k, v, window=window),
    }


def ratios(*, lengths: list[int], threads: list[int], window: int, repeats: int,
           memory_length: int) -> dict:
    """Median seconds of every call at every n, per thread count, with the three ratios; peak
    bytes of library and textbook attention (and chunked, SDPA) at `memory_length`."""
    runs = []
    for count in threads:
        calls = {(name, n): call for n in lengths for name, call in _calls(n, window).items()}
        with measure.measuring(count):
            for call in calls.values():  # warm-up: first-call costs stay out of the medians
                call()
            seconds = measure.interleaved_medians(calls, dict.fromkeys(calls, repeats))
            machine = measure.machine(count)
        rows = [{
            "n": n,
            "seconds": {name: seconds[name, n] for name, _ in calls if _ == n},
            "library_over_textbook": seconds["library", n] / seconds["textbook", n],
            "chunked_speed_of_sdpa": seconds["SDPA", n] / seconds["chunked", n],
            "sliding_over_plain": seconds["sliding", n] / seconds["textbook", n],
        } for n in lengths]
        runs.append({"threads": count, "rows": rows, "machine": machine})
    with measure.measuring(1):
        peak = {name: measure.peak_bytes(call)
                for name, call in _calls(memory_length, window).items()}
    return {"runs": runs, "peak_bytes": peak, "memory_length": memory_length,
            "head_size": HEAD_SIZE, "window": window, "repeats": repeats}
