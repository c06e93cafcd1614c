"""Paths and helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

from attnsheet.evidence.build import run_isolated as run_python  # noqa: F401 (re-export)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
EVIDENCE_OUT = ROOT / "build" / "evidence"
