"""Every bad input to every public function is refused with an error naming the argument.

The cases come from `tests/bad_inputs*.py`: each target's arguments have roles, and each role
has the wrong things a caller might pass. `test_every_corruption_is_refused` tries each
(target, argument, corruption) once, at the first position; the hypothesis test draws the
target, the argument, the corruption and where it lands. Neither accepts NaN, a silent
reinterpretation or an error that does not say which argument was wrong.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import bad_inputs, bad_inputs_blocks, bad_inputs_models, bad_inputs_smollm
from .bad_inputs import EXTREME, Target

# Each module lists its targets, and any roles of its own beside the shared ones.
TARGETS = [t for m in (bad_inputs, bad_inputs_blocks, bad_inputs_models, bad_inputs_smollm)
           for t in m.TARGETS]
CORRUPTIONS = {**bad_inputs.CORRUPTIONS, **bad_inputs_blocks.ROLES, **bad_inputs_models.ROLES,
               **bad_inputs_smollm.ROLES}

CASES = [(target, argument, label, corrupt)
         for target in TARGETS
         for argument, role in target.roles.items()
         for label, corrupt in CORRUPTIONS[role]]


# What the message must say was wrong, by the corruption's label: a check that is removed often
# leaves a later one to fail on the same input, and that later error names the argument but
# misreads the problem (an empty score table reported as "entirely -inf", a NaN input as an
# overflow). (label pattern, the message must match, the message must not match); {arg} is
# the argument's name as the message gives it.
WHAT_WAS_WRONG = [
    (r"NaN|inf\b", r"(?i)nan|inf|finite", r"too large|too extreme|overflow"),
    # An empty weight of a fixed shape has the wrong shape; an empty word is not a word.
    (r"^empty$|^no tokens$", r"empty|{arg} must have shape|word|one of|got 0\b", None),
    (r"^flattened$|^[0-9]-[Dd]$|extra axis|batch dim|one more (feature|row)|a 1-D|single row",
     r"shape|dims\b|-D\b|-d\b|axes|size|same number", None),
    # No axis at all: "axis -1 is out of range" would be true but beside the point.
    (r"^0-d$", r"dims?\b|-D\b|layout|at least", None),
    (r"float dtype|float64", r"dtype", None),
    (r"device", r"device", None),
    (r"dead row", r"no True", None),
    (r"^odd$", r"even", None),
]


def says_what_was_wrong(label: str, argument: str, message: str) -> bool:
    for kind, must, must_not in WHAT_WAS_WRONG:
        if not re.search(kind, label):
            continue
        if not re.search(must.replace("{arg}", re.escape(argument)), message):
            return False
        if must_not and re.search(must_not, message):
            return False
    return True


def names_as_subject(label: str, argument: str, mentioned: str, message: str) -> bool:
    """For a NaN or an infinity passed in: whether the message blames the argument itself
    ("x contains NaN", "cache.keys contains", "model parameter w contains", "forward(x) is"),
    not something computed from it ("forward(x) contains NaN" blames forward, not x)."""
    if not re.search(r"NaN|inf\b", label) or argument.startswith("weight:"):
        return True
    subject = re.escape(mentioned)
    part = r"\.\w+|\[[^\]]*\]|\(\w*\)| parameter \S+"  # a field, an index, a call
    return bool(re.search(rf"(^|[\s(.]){subject}({part})* (contains|must|has|is)\b", message))


def corrupted(target: Target, argument: str, corrupt, draw) -> dict:
    """The target's valid arguments with `argument` corrupted (a weight: set in place)."""
    arguments = target.valid()
    if argument.startswith("weight:"):
        parameter = arguments["module"].get_parameter(argument.removeprefix("weight:"))
        with torch.no_grad():
            parameter.copy_(corrupt(parameter.detach().clone(), draw))
    else:
        arguments[argument] = corrupt(arguments[argument], draw)
    return arguments


def non_finite(result) -> bool:
    """Whether a NaN or an infinity is anywhere in `result` (tensors, arrays, numbers, and
    containers, dataclasses and modules holding them)."""
    if isinstance(result, torch.Tensor):
        return result.is_floating_point() and not bool(torch.isfinite(result).all())
    if isinstance(result, np.ndarray):
        return result.dtype.kind == "f" and not bool(np.isfinite(result).all())
    if isinstance(result, float):
        return not math.isfinite(result)
    if isinstance(result, dict):
        return any(non_finite(value) for value in result.values())
    if isinstance(result, (list, tuple)):
        return any(non_finite(value) for value in result)
    if isinstance(result, torch.nn.Module):
        return any(non_finite(tensor) for tensor in result.state_dict().values())
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return any(non_finite(getattr(result, f.name)) for f in dataclasses.fields(result))
    return False


def refuses(target: Target, argument: str, label: str, arguments: dict) -> None:
    """The call raises ValueError or TypeError naming `argument` and saying what was wrong;
    an EXTREME value may instead give a finite result, or an error saying what overflowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own warnings are not the answer checked
        try:
            result = target.call(**arguments)
        except (ValueError, TypeError) as error:
            message = str(error)
        else:
            # A module the call trained or ran must not be left holding NaN either.
            left = [arguments.get(name) for name in ("module", "model")]
            if label in EXTREME and not non_finite([result, *left]):
                return
            pytest.fail(f"{target.name}: {argument} as {label} was accepted, "
                        f"returning {type(result).__name__}"
                        + (" holding NaN or inf" if label in EXTREME else ""))
    # A weight inside a module cannot always be named (its overflow shows later, in some
    # sub-layer's output): there, saying that something overflowed is enough.
    if (label in EXTREME and argument.startswith("weight:")
            and re.search(r"too large|too small|too extreme|overflow", message)):
        where = target.overflows_at.get(argument, "")
        assert where in message, (f"{target.name}: {argument} as {label}: the message does not "
                                  f"say the overflow happened {where}: {message}")
        return
    assert re.search(rf"\b{re.escape(target.mentions(argument))}\b", message), (
        f"{target.name}: {argument} as {label}: the message does not name {argument!r}: "
        f"{message}")
    assert names_as_subject(label, argument, target.mentions(argument), message), (
        f"{target.name}: {argument} as {label}: the message does not say that {argument} "
        f"itself holds the non-finite value: {message}")
    assert says_what_was_wrong(label, target.mentions(argument), message), (
        f"{target.name}: {argument} as {label}: the message does not say what was wrong: "
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
