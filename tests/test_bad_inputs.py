"""Every bad input to every public function is refused with an error naming the argument.

The cases come from `tests/bad_inputs*.py`: each target's arguments have roles, and each role
has the wrong things a caller might pass. `test_every_corruption_is_refused` tries each
(target, argument, corruption) once, at the first position; the hypothesis test draws the
target, the argument, the corruption and where it lands. Neither accepts NaN, a silent
reinterpretation or an error that does not say which argument was wrong.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import bad_inputs, bad_inputs_blocks, bad_inputs_models
from .bad_inputs import Target

# Each module lists its targets, and any roles of its own beside the shared ones.
TARGETS = [t for m in (bad_inputs, bad_inputs_blocks, bad_inputs_models) for t in m.TARGETS]
CORRUPTIONS = {**bad_inputs.CORRUPTIONS, **bad_inputs_blocks.ROLES, **bad_inputs_models.ROLES}

CASES = [(target, argument, label, corrupt)
         for target in TARGETS
         for argument, role in target.roles.items()
         for label, corrupt in CORRUPTIONS[role]]


def corrupted(target: Target, argument: str, corrupt, draw) -> dict:
    """The target's valid arguments with `argument` corrupted (a weight: set in place)."""
    arguments = target.valid()
    if argument.startswith("weight:"):
        parameter = arguments["module"].get_parameter(argument.removeprefix("weight:"))
        with torch.no_grad():
            parameter.view(-1)[draw(parameter.numel())] = corrupt(None, draw)
    else:
        arguments[argument] = corrupt(arguments[argument], draw)
    return arguments


def refuses(target: Target, argument: str, label: str, arguments: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own warnings are not the answer checked
        try:
            result = target.call(**arguments)
        except (ValueError, TypeError) as error:
            message = str(error)
        else:
            pytest.fail(f"{target.name}: {argument} as {label} was accepted, "
                        f"returning {type(result).__name__}")
    assert re.search(rf"\b{re.escape(target.mentions(argument))}\b", message), (
        f"{target.name}: {argument} as {label}: the message does not name {argument!r}: "
        f"{message}")


def test_every_target_accepts_its_valid_arguments():
    for target in TARGETS:
        target.call(**target.valid())


@pytest.mark.parametrize("target, argument, label, corrupt",
                         [pytest.param(*case, id=f"{case[0].name}-{case[1]}-{case[2]}")
                          for case in CASES])
def test_every_corruption_is_refused(target, argument, label, corrupt):
    refuses(target, argument, label, corrupted(target, argument, corrupt, lambda n: 0))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bad_inputs_anywhere_are_refused(data):
    target, argument, label, corrupt = data.draw(st.sampled_from(CASES), label="case")

    def draw(n: int) -> int:
        return data.draw(st.integers(0, n - 1), label="where")

    refuses(target, argument, label, corrupted(target, argument, corrupt, draw))
