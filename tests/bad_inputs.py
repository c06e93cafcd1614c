"""The bad-input harness: every public function, each argument's role, and what a careless
caller might pass in its place.

A `Target` says how to call one public function or constructor with valid arguments
(`valid()` returns fresh ones each time) and the role of each argument. `CORRUPTIONS` maps a
role to the wrong things a caller might pass for it: wrong types (lists, strings, numpy for
torch and back), integer or bool dtypes where floats are needed, NaN and infinities, values out
of range, dtypes given as strings. `tests/test_bad_inputs.py` tries every (target, argument,
corruption) once and lets hypothesis vary where and what; each must raise ValueError or
TypeError naming the argument. Module targets name weights as arguments ("weight:w_o.weight"):
the corruption puts a NaN or an infinity into that parameter.

Add a target here when you add a public function (see README, "Add a library function").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

import attnsheet as lib


@dataclass(frozen=True)
class Target:
    name: str
    call: Callable[..., Any]  # call(**arguments)
    valid: Callable[[], dict]  # fresh valid arguments
    roles: dict[str, str]  # argument -> role (a key of CORRUPTIONS)
    # Where the message names the argument differently (e.g. a dataclass field).
    says: dict[str, str] = field(default_factory=dict)

    def mentions(self, argument: str) -> str:
        if argument.startswith("weight:"):
            return argument.removeprefix("weight:")
        return self.says.get(argument, argument)


# --- corruptions: (label, function(valid value, draw) -> bad value) ------------------------

def _poke(value, draw, bad):
    """A copy of `value` (tensor or array) with `bad` at one drawn position."""
    value = value.clone() if isinstance(value, torch.Tensor) else np.array(value, copy=True)
    # An index, not reshape(-1): reshaping a non-contiguous tensor copies, and the poke
    # would land in the copy.
    value[np.unravel_index(draw(int(np.prod(value.shape))), tuple(value.shape))] = bad
    return value


FLOAT_TENSOR = [
    ("a list", lambda v, draw: v.tolist()),
    ("a numpy array", lambda v, draw: v.detach().numpy()),
    ("a string", lambda v, draw: "not a tensor"),
    ("an integer tensor", lambda v, draw: v.round().long()),
    ("a bool tensor", lambda v, draw: v > 0),
    ("a NaN", lambda v, draw: _poke(v, draw, float("nan"))),
    ("+inf", lambda v, draw: _poke(v, draw, float("inf"))),
    ("-inf", lambda v, draw: _poke(v, draw, float("-inf"))),
] + [  # shapes
    ("flattened", lambda v, draw: v.reshape(-1)),
    ("empty", lambda v, draw: v[..., :0]),
    ("one more feature", lambda v, draw: torch.cat([v, v[..., :1]], dim=-1)),
    ("another float dtype", lambda v, draw: v.float() if v.dtype == torch.float64 else v.double()),
]
FLOAT_ARRAY = [
    ("a torch tensor", lambda v, draw: torch.from_numpy(np.asarray(v, dtype=float))),
    ("a string", lambda v, draw: "not an array"),
    ("a bool array", lambda v, draw: np.asarray(v) > 0),
    ("a complex array", lambda v, draw: np.asarray(v) + 1j),
    ("a NaN", lambda v, draw: _poke(v, draw, np.nan)),
    ("+inf", lambda v, draw: _poke(v, draw, np.inf)),
    ("-inf", lambda v, draw: _poke(v, draw, -np.inf)),
    ("flattened", lambda v, draw: np.asarray(v).reshape(-1)),
    ("empty", lambda v, draw: np.asarray(v)[..., :0]),
    ("one more feature", lambda v, draw: np.concatenate([v, np.asarray(v)[..., :1]], axis=-1)),
]
POSITIVE_INT = [
    ("zero", lambda v, draw: 0),
    ("negative", lambda v, draw: -1 - draw(5)),
    ("a float", lambda v, draw: float(v) + 0.5),
    ("a whole float", lambda v, draw: float(v)),
    ("a bool", lambda v, draw: True),
    ("a string", lambda v, draw: str(v)),
    ("None", lambda v, draw: None),
]
SEED = [
    ("negative", lambda v, draw: -1 - draw(5)),
    ("a float", lambda v, draw: 0.5),
    ("a bool", lambda v, draw: True),
    ("a string", lambda v, draw: "0"),
]
POSITIVE_REAL = [
    ("zero", lambda v, draw: 0.0),
    ("negative", lambda v, draw: -1.0 - draw(5)),
    ("NaN", lambda v, draw: float("nan")),
    ("inf", lambda v, draw: float("inf")),
    ("a string", lambda v, draw: "a"),
    ("a bool", lambda v, draw: True),
    ("None", lambda v, draw: None),
]
FLAG = [
    ("an int", lambda v, draw: 1),
    ("a string", lambda v, draw: "yes"),
    ("None", lambda v, draw: None),
]
FLOAT_DTYPE = [
    ("a string", lambda v, draw: "float32"),
    ("an integer dtype", lambda v, draw: torch.int64),
    ("bool", lambda v, draw: torch.bool),
    ("a numpy type", lambda v, draw: np.float32),
]
# Values may have any width, vectors are already flat, and a lone tensor may have any float
# dtype: those corruptions are no error there.
LONE_TENSOR = [c for c in FLOAT_TENSOR if c[0] != "another float dtype"]
VALUE_TENSOR = [c for c in FLOAT_TENSOR if c[0] != "one more feature"]
VALUE_ARRAY = [c for c in FLOAT_ARRAY if c[0] != "one more feature"]
VECTOR_TENSOR = [c for c in FLOAT_TENSOR if c[0] != "flattened"]
VECTOR_ARRAY = [c for c in FLOAT_ARRAY if c[0] != "flattened"]

# The numpy functions take array-likes (a nested list of numbers is a fine array there); the
# torch functions take tensors only.
# -inf is how a mask says "never"; scores of any shape and width are fine.
SCORES_ARRAY = [c for c in FLOAT_ARRAY if c[0] not in ("-inf", "flattened", "one more feature")]
BOOL_MASK_ARRAY = [
    ("a float mask", lambda v, draw: np.asarray(v, dtype=float)),
    ("an int mask", lambda v, draw: np.asarray(v, dtype=int)),
    ("a dead row", lambda v, draw: _dead_row(v, draw)),
]
BOOL_MASK = [
    ("a float mask", lambda v, draw: v.double()),
    ("a list", lambda v, draw: v.tolist()),
    ("a numpy array", lambda v, draw: v.numpy()),
    ("a dead row", lambda v, draw: _dead_row(v, draw)),
]
WEIGHT = [
    ("a NaN", lambda v, draw: float("nan")),
    ("+inf", lambda v, draw: float("inf")),
]


def _dead_row(mask, draw):
    mask = mask.clone() if isinstance(mask, torch.Tensor) else np.array(mask, copy=True)
    mask[..., draw(mask.shape[-2]), :] = False
    return mask


CORRUPTIONS = {
    "float tensor": FLOAT_TENSOR,
    "float array": FLOAT_ARRAY,
    "value tensor": VALUE_TENSOR,
    "lone tensor": LONE_TENSOR,
    "value array": VALUE_ARRAY,
    "vector tensor": VECTOR_TENSOR,
    "vector array": VECTOR_ARRAY,
    "positive int": POSITIVE_INT,
    "seed": SEED,
    "positive real": POSITIVE_REAL,
    "flag": FLAG,
    "float dtype": FLOAT_DTYPE,
    "bool mask": BOOL_MASK,
    "bool mask array": BOOL_MASK_ARRAY,
    "scores array": SCORES_ARRAY,
    "weight": WEIGHT,
}


# --- targets ---------------------------------------------------------------------------------

def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _np(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _qkv_torch():
    return {"q": _randn(2, 5, 4, seed=1), "k": _randn(2, 6, 4, seed=2),
            "v": _randn(2, 6, 3, seed=3)}


def _qkv_np():
    return {"q": _np(5, 4, seed=1), "k": _np(6, 4, seed=2), "v": _np(6, 3, seed=3)}


def _self_qkv_torch():
    return {"q": _randn(7, 4, seed=1), "k": _randn(7, 4, seed=2), "v": _randn(7, 3, seed=3)}


def _multi_head(backend):
    def valid():
        make = _randn if backend == "torch" else _np
        return {"x": make(5, 8, seed=1), "w_q": make(8, 8, seed=2), "w_k": make(8, 8, seed=3),
                "w_v": make(8, 8, seed=4), "w_o": make(8, 8, seed=5), "n_heads": 2,
                "mask": np.tril(np.ones((5, 5), dtype=bool)) if backend == "np"
                else torch.ones(5, 5, dtype=torch.bool).tril()}
    return valid


_QKV_ROLES_T = {"q": "float tensor", "k": "float tensor", "v": "value tensor"}
_QKV_ROLES_NP = {"q": "float array", "k": "float array", "v": "value array"}
_MH_ROLES = {"n_heads": "positive int"}

TARGETS = [
    Target("softmax_np", lambda **a: lib.softmax_np(**a), lambda: {"scores": _np(3, 4)},
           {"scores": "scores array"}),
    Target("attention_np", lambda **a: lib.attention_np(**a),
           lambda: {**_qkv_np(), "mask": np.ones((5, 6), dtype=bool)},
           {**_QKV_ROLES_NP, "mask": "bool mask array"}),
    Target("attention_torch", lambda **a: lib.attention_torch(**a),
           lambda: {**_qkv_torch(), "mask": torch.ones(5, 6, dtype=torch.bool)},
           {**_QKV_ROLES_T, "mask": "bool mask"}),
    Target("multi_head_attention_np", lambda **a: lib.multi_head_attention_np(**a),
           _multi_head("np"),
           {"x": "float array", "w_q": "float array", "w_k": "float array",
            "w_v": "float array", "w_o": "float array", "mask": "bool mask array",
            **_MH_ROLES}),
    Target("multi_head_attention_torch", lambda **a: lib.multi_head_attention_torch(**a),
           _multi_head("torch"),
           {"x": "float tensor", "w_q": "float tensor", "w_k": "float tensor",
            "w_v": "float tensor", "w_o": "float tensor", "mask": "bool mask", **_MH_ROLES}),
    Target("chunked_attention_torch", lambda **a: lib.chunked_attention_torch(**a),
           lambda: {**_qkv_torch(), "mask": torch.ones(5, 6, dtype=torch.bool),
                    "chunk_size": 2, "query_chunk_size": 3},
           {**_QKV_ROLES_T, "mask": "bool mask", "chunk_size": "positive int",
            "query_chunk_size": "positive int"}),
    Target("chunked_attention_torch(causal)", lambda **a: lib.chunked_attention_torch(**a),
           lambda: {**_qkv_torch(), "causal": True},
           {"causal": "flag"}),
    Target("sliding_window_attention_torch",
           lambda **a: lib.sliding_window_attention_torch(**a),
           lambda: {**_self_qkv_torch(), "window": 3, "causal": False},
           {**_QKV_ROLES_T, "window": "positive int", "causal": "flag"}),
]
