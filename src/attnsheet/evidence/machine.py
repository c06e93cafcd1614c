"""Describe the machine that built the evidence: shown next to every measured number."""

from __future__ import annotations

import os
import platform

from ..experiments.measure import cpu_model
from .cache import library_versions
from .figures import folded_html


def machine_line(threads: int | None = None, load: float | None = None) -> str:
    """One line: CPU, cores, versions; with the torch thread count and the machine's load
    average (`os.getloadavg`, 1 minute) when a measurement passes them in.

    `threads` is passed in rather than read here: reading it would import torch, which a
    cached build must not pay for.
    """
    versions = library_versions()
    used = f", {threads} torch thread{'s' if threads != 1 else ''}" if threads is not None else ""
    busy = f", load average {load:.1f} while measuring" if load is not None else ""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores{used}{busy}, Python "
        f"{platform.python_version()}, numpy {versions['numpy']}, torch {versions['torch']}"
    )


def folded_machine_line(line: str) -> str:
    """The machine line, folded: one click away from the measurement it describes."""
    return folded_html("Measured on the machine that built this page",
                       f"Measured at build on: {line}.", "machine-line")


def machine_markdown(threads: int | None = None, load: float | None = None) -> str:
    """Markdown fragment the pages include beside measured output."""
    return folded_machine_line(machine_line(threads, load))


def machine_markdown_from(machine: dict) -> str:
    """The machine line for a machine an experiment recorded (`measure.machine()`)."""
    threads = machine.get("threads")
    used = (f", {threads} torch thread{'s' if threads != 1 else ''}"
            if threads is not None else "")
    load = machine.get("load")
    busy = f", load average {load:.1f} while measuring" if load is not None else ""
    line = (f"{machine['cpu']}, {machine['cores']} cores{used}{busy}, Python "
            f"{machine['python']}, numpy {machine['numpy']}, torch {machine['torch']}")
    return folded_machine_line(line)
