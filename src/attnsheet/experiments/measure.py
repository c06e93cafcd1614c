"""Measuring time, memory and arithmetic rate on the build machine, the same way everywhere.

* time: the median of a few calls after a warm-up call (the first call pays for first-touch
  allocation and start-up costs that later calls do not);
* memory: the peak resident memory of this process during one call, above what it held just
  before (Linux's high-water mark, reset before the call), so it counts every byte torch
  touched, its own scratch space included;
* FLOP/s: counted floating-point operations over median seconds.

Measurements run inside `measuring(threads)`, which fixes torch's thread count (through
`num_threads`, the one place that sets it), and record `machine(threads)` in their data: the
page shows the machine that took the numbers, not the one that drew them.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import platform
import statistics
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@contextmanager
def num_threads(count: int) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to `count`, then restore it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def measuring(threads: int):
    """Run the measurements inside with `threads` torch threads."""
    if not _CLEAR_REFS.exists():
        raise RuntimeError("the cost measurements need Linux (/proc/self/clear_refs)")
    gc.collect()  # once here: at every call it would cost more time than it frees memory
    with num_threads(threads):
        yield


def _resident_bytes() -> tuple[int, int]:
    """(resident now, resident high-water mark) of this process, in bytes."""
    fields = {}
    for line in _STATUS.read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024  # reported in kB
    return fields["VmRSS"], fields["VmHWM"]


def peak_bytes(function: Callable[[], object]) -> int:
    """Peak extra resident bytes of one `function()` call, its output included.

    Before the call, freed memory is handed back to the system (glibc keeps freed blocks for
    reuse, and a call that reused them would seem to need nothing) and the high-water mark is
    reset to the resident size (`/proc/self/clear_refs`, value 5).
    """
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    _CLEAR_REFS.write_text("5")
    before, _ = _resident_bytes()
    result = function()
    _, peak = _resident_bytes()
    del result
    return max(0, peak - before)


def interleaved_medians(calls: dict, repeats: dict) -> dict:
    """Median seconds of each call in `calls` (key -> function), `repeats[key]` timed calls each.

    The calls take turns, round by round (none is warmed up here: do that first), so that a
    burst of other work on the machine slows all of them a little rather than one of them a lot.
    """
    times = {key: [] for key in calls}
    for round_ in range(max(repeats.values())):
        for key, function in calls.items():
            if round_ < repeats[key]:
                start = time.perf_counter()
                function()
                times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def median_seconds(function: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `function()` over `repeats` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    return interleaved_medians({"call": function}, {"call": repeats})["call"]


def matmul_flops_per_second(size: int = 1024, repeats: int = 7) -> float:
    """This machine's float32 matrix-multiply rate: (size x size) @ (size x size)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, size, size, generator=generator).unbind(0)
    return 2 * size**3 / median_seconds(lambda: a @ b, repeats)


def last_level_cache_bytes() -> int | None:
    """Size of CPU 0's largest cache, from sysfs (None where sysfs does not say)."""
    sizes = {}
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((index / "level").read_text())
            text = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        units = {"K": 1024, "M": 1024**2, "G": 1024**3}
        sizes[level] = int(text.rstrip("KMG")) * units.get(text[-1], 1)
    return sizes[max(sizes)] if sizes else None


def fitted_exponent(sizes, values) -> float:
    """Slope of log(value) against log(size), least squares: the p in value ~ size^p."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(v) for v in values]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    return covariance / sum((x - mean_x) ** 2 for x in xs)


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or the platform's guess."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine(threads: int | None = None) -> dict:
    """The machine a measurement ran on, as data: CPU, cores, torch threads, the 1-minute
    load average at the time (other work shows in the numbers: say how much), versions."""
    versions = {}
    for name in ("numpy", "torch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads,
            "load": round(os.getloadavg()[0], 1), "python": platform.python_version(),
            **versions}
