"""Evidence pipeline: claim registry, cached builders, ledger.

Run it as a plain program (`python -m attnsheet.evidence build`); the MkDocs hook in
`hooks/evidence.py` only calls that entry point and adds its files to the site.
"""

from .build import EvidenceError, build
from .claims import CLAIMS, Claim
from .registry import EVIDENCE, Evidence

__all__ = ["CLAIMS", "EVIDENCE", "Claim", "Evidence", "EvidenceError", "build"]
