"""Evidence pipeline: claim registry, experiments' data, verdicts, renderings, ledger.

Run it as a plain program (`python -m attnsheet.evidence build`); the MkDocs hook in
`attnsheet.adapter` (the MkDocs hook) only calls that entry point and adds its files.
"""

from .build import EvidenceError, build
from .registry import CLAIMS, EVIDENCE, EXPERIMENTS, REGISTRY, Registry
from .spec import Claim, Evidence, Experiment, Verdict

__all__ = ["CLAIMS", "EVIDENCE", "EXPERIMENTS", "REGISTRY", "Claim", "Evidence",
           "EvidenceError", "Experiment", "Registry", "Verdict", "build"]
