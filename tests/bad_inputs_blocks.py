"""Bad-input targets for the recurrent network, rotary positions, the transformer block and the tiny language model (rnn.py, rotary.py, transformer.py, tinylm.py); the harness and the shared roles are in `bad_inputs.py`."""

from __future__ import annotations

from .bad_inputs import Target  # noqa: F401

ROLES: dict = {}  # roles of this module's own: name -> [(label, corrupt(value, draw)), ...]
TARGETS: list[Target] = []
