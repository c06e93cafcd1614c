"""Record the recurrence page's forwards (R1, R2) and the cost page's attention (C1) on a GPU.

    python scripts/gpu_evidence.py                  # on cuda, into recorded/
    python scripts/gpu_evidence.py --device cpu --out /tmp/dry   # a dry run of the format

The site is built on CPUs; what it says about parallel hardware rests on a work-span bound
until a run like this one is recorded. The run writes one JSON file, `recorded/gpu-<device>-
<date>.json`, with the device, driver, torch and CUDA versions, the date, the commit and the
command, and the raw median times: the same three forwards as R1 (`speed.make_forwards`, same
width and seed, at the same lengths) and the same plain attention as C1
(`experiments.cost.plain_attention` on `random_qkv`). Commit that file: the build reads every
file in `recorded/` and shows it on the pages, labelled as a recorded run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from attnsheet.evidence.sections.cost import EXPERIMENTS as COST  # noqa: E402
from attnsheet.evidence.sections.recurrence import EXPERIMENTS as RECURRENCE  # noqa: E402
from attnsheet.evidence.sections.recurrence import FORWARD  # noqa: E402
from attnsheet.experiments.cost import plain_attention, random_qkv  # noqa: E402
from attnsheet.speed import FORWARDS, make_forwards  # noqa: E402


def _params(experiments, name: str) -> dict:
    return dict(next(e for e in experiments if e.name == name).params)


def median_seconds(call, device: torch.device, repeats: int) -> float:
    """Median wall time of call() over `repeats` runs after two warm-ups; on a GPU, each run
    waits for the device to finish (kernels are queued, not run, when a call returns)."""
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(2):
        call()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def r1_rows(device: torch.device, repeats: int) -> dict:
    """R1/R2's three forwards at R1's lengths, width and seed, timed on `device`."""
    params = _params(RECURRENCE, FORWARD)
    forwards = make_forwards(params["d"], params["seed"], device=device)
    generator = torch.Generator().manual_seed(params["seed"] + 1)
    rows = []
    with torch.no_grad():
        for n in params["lengths"]:
            x = torch.randn(n, params["d"], generator=generator).to(device)  # (n, d)
            for name in FORWARDS:
                seconds = median_seconds(lambda: forwards[name](x), device, repeats)
                rows.append({"forward": name, "n": n, "seconds": seconds})
    return {"d": params["d"], "seed": params["seed"], "lengths": params["lengths"],
            "repeats": repeats, "rows": rows}


def c1_rows(device: torch.device, repeats: int) -> dict:
    """C1's plain attention, (1, 1, n, 64) float32, at the time sweep's lengths."""
    lengths = _params(COST, "c1-time-sweep")["lengths"]
    rows = []
    with torch.no_grad():
        for n in lengths:
            q, k, v = (t.to(device) for t in random_qkv(n))
            rows.append({"n": n, "seconds": median_seconds(lambda: plain_attention(q, k, v),
                                                           device, repeats)})
    return {"lengths": lengths, "repeats": repeats, "rows": rows}


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def provenance(device: torch.device) -> dict:
    """Which device, software and code produced the run."""
    cuda = device.type == "cuda"
    return {
        "device": torch.cuda.get_device_name(device) if cuda else "CPU",
        "driver": _run(["nvidia-smi", "--query-gpu=driver_version",
                        "--format=csv,noheader"]).splitlines()[0] if cuda else "",
        "torch": torch.__version__, "cuda": torch.version.cuda if cuda else None,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _run(["git", "rev-parse", "HEAD"]),
        "dirty": bool(_run(["git", "status", "--porcelain", "--untracked-files=no"])),
        "command": " ".join(["python", *sys.argv]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "recorded")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device here: this script records a GPU run (--device cpu for a dry run)")
    record = {**provenance(device), "r1": r1_rows(device, args.repeats),
              "c1": c1_rows(device, args.repeats)}
    slug = re.sub(r"[^a-z0-9]+", "-", record["device"].lower()).strip("-")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"gpu-{slug}-{record['date'][:10]}.json"
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
