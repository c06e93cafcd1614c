"""Bad-input targets for the pretrained-model loader and the trained demonstrations (models.py, referent.py, recall.py, forgetting.py, speed.py); the harness and the shared roles are in `bad_inputs.py`."""

from __future__ import annotations

from .bad_inputs import Target  # noqa: F401

ROLES: dict = {}  # roles of this module's own: name -> [(label, corrupt(value, draw)), ...]
TARGETS: list[Target] = []
