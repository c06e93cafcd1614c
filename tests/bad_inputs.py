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

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

import attnsheet as lib
from attnsheet.forgetting import rnn_jacobian_norms


@dataclass(frozen=True)
class Target:
    name: str
    call: Callable[..., Any]  # call(**arguments)
    valid: Callable[[], dict]  # fresh valid arguments
    roles: dict[str, str]  # argument -> role (a key of CORRUPTIONS)
    # Where the message names the argument differently (e.g. a dataclass field).
    says: dict[str, str] = field(default_factory=dict)
    # Where an overflow from a weight at the dtype's limit must be reported (weight argument ->
    # words the message must hold), where the module can tell: the stage it happened in.
    overflows_at: dict[str, str] = field(default_factory=dict)

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


def _largest(value):
    """`value` with every entry the largest finite number of its dtype: finite, but any
    product or sum of two such numbers overflows."""
    if isinstance(value, torch.Tensor):
        return torch.full_like(value, torch.finfo(value.dtype).max)
    value = np.asarray(value)
    return np.full_like(value, np.finfo(value.dtype).max)


# Values that are finite but so large (or, as divisors and bases, so small) that computing
# with them may overflow. Such an input is no error by itself: the function may return a
# finite result, or refuse it, naming the argument or saying that a result overflowed, but
# never return NaN or inf.
HUGE = "the dtype's largest value"
TINY = "the smallest positive float"
HUGE_REAL = "the largest float"
EXTREME = (HUGE, TINY, HUGE_REAL)

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
    ("an extra axis", lambda v, draw: v[..., None]),
    ("a single row", lambda v, draw: v.reshape(-1, v.shape[-1])[0]),
    ("another float dtype", lambda v, draw: v.float() if v.dtype == torch.float64 else v.double()),
    # The meta device holds no data: a tensor there is on another device than any CPU tensor.
    ("on another device", lambda v, draw: v.to("meta")),
    (HUGE, lambda v, draw: _largest(v)),
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
    ("an extra axis", lambda v, draw: np.asarray(v)[..., None]),
    ("a single row", lambda v, draw: np.asarray(v).reshape(-1, np.shape(v)[-1])[0]),
    (HUGE, lambda v, draw: _largest(v)),
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
    (HUGE_REAL, lambda v, draw: sys.float_info.max),
    (TINY, lambda v, draw: 5e-324),
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
# dtype and lives on whatever device it likes: those corruptions are no error there.
LONE_TENSOR = [c for c in FLOAT_TENSOR if c[0] not in ("another float dtype", "on another device")]
# Values (attention's v) must have a row per key, as self-attention's queries must match its
# keys one for one (sliding_window_attention_torch's q).
_ONE_MORE_ROW_T = ("one more row", lambda v, draw: torch.cat([v, v[..., :1, :]], dim=-2))
_ONE_MORE_ROW_NP = ("one more row",
                    lambda v, draw: np.concatenate([v, np.asarray(v)[..., :1, :]], axis=-2))
VALUE_TENSOR = [c for c in FLOAT_TENSOR if c[0] != "one more feature"] + [_ONE_MORE_ROW_T]
VALUE_ARRAY = [c for c in FLOAT_ARRAY if c[0] != "one more feature"] + [_ONE_MORE_ROW_NP]
SELF_QUERY_TENSOR = FLOAT_TENSOR + [_ONE_MORE_ROW_T]
VECTOR_TENSOR = [c for c in FLOAT_TENSOR if c[0] not in ("flattened", "a single row")]
VECTOR_ARRAY = [c for c in FLOAT_ARRAY if c[0] not in ("flattened", "a single row")]

# The numpy functions take array-likes (a nested list of numbers is a fine array there); the
# torch functions take tensors only.
# -inf is how a mask says "never"; scores of any shape and width are fine.
SCORES_ARRAY = [c for c in FLOAT_ARRAY
                if c[0] not in ("-inf", "flattened", "one more feature", "an extra axis",
                                "a single row")] + [
    ("0-d", lambda v, draw: np.asarray(v).reshape(-1)[0])]
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
    ("on another device", lambda v, draw: v.to("meta")),
]
# A module's parameter: corrupt(a copy of it, draw) is written back in place.
WEIGHT = [
    ("a NaN", lambda v, draw: _poke(v, draw, float("nan"))),
    ("+inf", lambda v, draw: _poke(v, draw, float("inf"))),
    (HUGE, lambda v, draw: _largest(v)),
]


def _dead_row(mask, draw):
    mask = mask.clone() if isinstance(mask, torch.Tensor) else np.array(mask, copy=True)
    mask[..., draw(mask.shape[-2]), :] = False
    return mask


CORRUPTIONS = {
    "float tensor": FLOAT_TENSOR,
    "float array": FLOAT_ARRAY,
    "value tensor": VALUE_TENSOR,
    "self query tensor": SELF_QUERY_TENSOR,
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


def _past_one(backend):
    def valid():
        k = torch.tensor([[-0.69], [-0.17], [-1.0], [-1.65]], dtype=torch.float64)  # (4, 1)
        arguments = {"q": torch.ones(4, 1, dtype=torch.float64), "k": k,
                     "v": torch.ones(4, 1, dtype=torch.float64)}
        return ({name: t.numpy() for name, t in arguments.items()} if backend == "np"
                else arguments)
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
           {**_QKV_ROLES_T, "q": "self query tensor", "window": "positive int",
            "causal": "flag"}),
    # Weights whose float sum rounds above 1: with every value at the dtype's limit, the output
    # itself overflows, although the scores are small. (Found by search; d = 1.)
    *[Target(f"{name}(weights summing past 1)", call, _past_one(backend), {"v": role})
      for name, call, backend, role in (
          ("attention_np", lambda **a: lib.attention_np(**a), "np", "value array"),
          ("attention_torch", lambda **a: lib.attention_torch(**a), "torch", "value tensor"),
          ("chunked_attention_torch", lambda **a: lib.chunked_attention_torch(**a), "torch",
           "value tensor"),
          ("sliding_window_attention_torch",
           lambda **a: lib.sliding_window_attention_torch(**a, window=4, causal=False), "torch",
           "value tensor"))],
    # Inputs that keep every hidden state at 0, so the chain rule's product grows by w_hh at
    # every step without tanh saturating: with w_hh at the dtype's limit, it overflows.
    Target("rnn_jacobian_norms(zero input)", lambda **a: rnn_jacobian_norms(**a),
           lambda: {"x": torch.zeros(5, 3, dtype=torch.float64),
                    "w_xh": _randn(3, 4, seed=1), "w_hh": torch.eye(4, dtype=torch.float64),
                    "b_h": torch.zeros(4, dtype=torch.float64)},
           {"w_hh": "float tensor"}),
]
