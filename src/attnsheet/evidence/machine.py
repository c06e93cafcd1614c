"""Describe the machine that built the evidence: shown next to every measured number."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from .cache import library_versions


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or the platform's guess."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_line(threads: int | None = None) -> str:
    """One line: CPU, cores, (torch threads, when a measurement knows them), versions.

    `threads` is passed in rather than read here: reading it would import torch, which a
    cached build must not pay for.
    """
    versions = library_versions()
    used = f", {threads} torch thread{'s' if threads != 1 else ''}" if threads is not None else ""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores{used}, Python {platform.python_version()}, "
        f"numpy {versions['numpy']}, torch {versions['torch']}"
    )


def machine_markdown(threads: int | None = None) -> str:
    """Markdown fragment the pages include beside measured output."""
    return f'<p class="machine-line">Measured at build on: {machine_line(threads)}.</p>\n'
