"""Bad-input targets for the recurrent network, rotary positions, the transformer block and the tiny language model (rnn.py, rotary.py, transformer.py, tinylm.py); the harness and the shared roles are in `bad_inputs.py`."""

from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn

import attnsheet as lib

from .bad_inputs import (
    FLOAT_TENSOR,
    HUGE,
    HUGE_REAL,
    POSITIVE_INT,
    Target,
    _largest,
    _np,
    _poke,
    _randn,
)

# --- roles of this module's own: name -> [(label, corrupt(value, draw)), ...] -----------------


def _poke_cache(cache, draw, field, bad):
    """`cache` (fresh from valid(), no autograd) with `bad` written into one of its tensors in
    place, as a caller's in-place edit would: the KVCache constructor never sees it."""
    tensor = getattr(cache, field)  # keys and values are transposed views: no .view(-1)
    tensor[np.unravel_index(draw(tensor.numel()), tuple(tensor.shape))] = bad
    return cache


def _poke_one_of(caches, draw, field, bad):
    _poke_cache(caches[draw(len(caches))], draw, field, bad)
    return caches


def _shorter(cache):
    """The same cache, one position fewer (a valid KVCache on its own)."""
    return lib.KVCache(cache.keys[..., :-1, :], cache.values[..., :-1, :])


def _with_char(text, draw, char):
    i = draw(len(text) + 1)
    return text[:i] + char + text[i:]


# Prefixed with blocks/, as bad_inputs_models.py prefixes its own with models/: the harness
# merges every module's ROLES into one dict.
ROLES: dict = {
    # A finite real of either sign (init_elman_np's recurrent_scale).
    "blocks/real": [
        ("NaN", lambda v, draw: float("nan")),
        ("inf", lambda v, draw: float("inf")),
        ("-inf", lambda v, draw: float("-inf")),
        (HUGE_REAL, lambda v, draw: sys.float_info.max),
        ("a string", lambda v, draw: "1"),
        ("a bool", lambda v, draw: True),
        ("None", lambda v, draw: None),
    ],
    # apply_rotary's positions: a tensor of real numbers, integer or float.
    "blocks/positions": [
        ("a list", lambda v, draw: v.tolist()),
        ("a numpy array", lambda v, draw: v.numpy()),
        ("a string", lambda v, draw: "0 1 2"),
        ("a bool tensor", lambda v, draw: v > 0),
        ("a complex tensor", lambda v, draw: v.to(torch.complex128)),
        ("a NaN", lambda v, draw: _poke(v, draw, float("nan"))),
        ("+inf", lambda v, draw: _poke(v, draw, float("inf"))),
        ("-inf", lambda v, draw: _poke(v, draw, float("-inf"))),
        ("one too few", lambda v, draw: v[:-1]),
        (HUGE, lambda v, draw: _largest(v)),
    ],
    # A size that must also be even (rotary_angles' d: the features rotate in pairs).
    "blocks/even int": [*POSITIVE_INT, ("odd", lambda v, draw: v + 1)],
    "blocks/device": [
        ("a misspelt name", lambda v, draw: "cpux"),
        ("a float", lambda v, draw: 0.5),
        ("a bool", lambda v, draw: True),
        ("a list", lambda v, draw: ["cpu"]),
        ("a negative index", lambda v, draw: -1),
    ],
    # Token ids where a tensor is required (TinyLM, train).
    "blocks/token ids": [
        ("a list", lambda v, draw: v.tolist()),
        ("a numpy array", lambda v, draw: v.numpy()),
        ("a string", lambda v, draw: "abc"),
        ("a float tensor", lambda v, draw: v.double()),
        ("a bool tensor", lambda v, draw: v > 0),
        ("an id past the vocabulary", lambda v, draw: _poke(v, draw, 10**6)),
        ("a negative id", lambda v, draw: _poke(v, draw, -1)),
        ("empty", lambda v, draw: v[..., :0]),
        ("0-d", lambda v, draw: v.reshape(-1)[0]),
        ("3-D", lambda v, draw: v.reshape(1, 1, -1)),
        ("on another device", lambda v, draw: v.to("meta")),
    ],
    # CharVocab.decode: a 1-D tensor or a sequence of ints.
    "blocks/id sequence": [
        ("floats", lambda v, draw: [float(i) for i in v]),
        ("bools", lambda v, draw: [i > 0 for i in v]),
        ("a float tensor", lambda v, draw: torch.tensor(v, dtype=torch.float64)),
        ("a string", lambda v, draw: "012"),
        ("None", lambda v, draw: None),
        ("a ragged list", lambda v, draw: [list(v), [0]]),
        ("a 2-D tensor", lambda v, draw: torch.tensor([v])),
        ("an id past the vocabulary", lambda v, draw: [*v[:-1], 10**6]),
        ("a negative id", lambda v, draw: [-1, *v[1:]]),
        ("a huge id", lambda v, draw: [2**70, *v[1:]]),
    ],
    # CharVocab's text.
    "blocks/text": [
        ("a list", lambda v, draw: list(v)),
        ("bytes", lambda v, draw: v.encode()),
        ("None", lambda v, draw: None),
        ("a number", lambda v, draw: 3),
        ("empty", lambda v, draw: ""),
    ],
    # CharVocab.encode's text: any str of the vocabulary's characters.
    "blocks/text to encode": [
        ("a list", lambda v, draw: list(v)),
        ("bytes", lambda v, draw: v.encode()),
        ("None", lambda v, draw: None),
        ("a number", lambda v, draw: 3),
        ("an unknown character", lambda v, draw: _with_char(v, draw, "\u2603")),
    ],
    # KVCache's keys and values.
    "blocks/cache tensor": [
        *FLOAT_TENSOR,
        ("2-D", lambda v, draw: v[0]),
        ("5-D", lambda v, draw: v[None, None]),
        ("another shape", lambda v, draw: v[..., :-1]),
        ("empty", lambda v, draw: v[..., :0, :]),
    ],
    # TransformerBlock.forward_cached's cache (made by a (d_model 8, 2 heads) float64 block).
    "blocks/kv cache": [
        ("a (keys, values) tuple", lambda v, draw: (v.keys, v.values)),
        ("a dict", lambda v, draw: {"keys": v.keys, "values": v.values}),
        ("a NaN in keys", lambda v, draw: _poke_cache(v, draw, "keys", float("nan"))),
        ("+inf in values", lambda v, draw: _poke_cache(v, draw, "values", float("inf"))),
        ("-inf in keys", lambda v, draw: _poke_cache(v, draw, "keys", float("-inf"))),
        ("another dtype", lambda v, draw: lib.KVCache(v.keys.float(), v.values.float())),
        ("another head layout",
         lambda v, draw: lib.KVCache(v.keys.reshape(4, -1, 2), v.values.reshape(4, -1, 2))),
        ("a batch dim", lambda v, draw: lib.KVCache(v.keys[None], v.values[None])),
        # As a cache made on a GPU would be; the meta device holds no values for the
        # constructor to check, so it is built the way the block builds its own.
        ("on another device",
         lambda v, draw: lib.KVCache._trusted(v.keys.to("meta"), v.values.to("meta"))),
    ],
    # TinyLM.forward_cached's caches: one KVCache per block.
    "blocks/kv caches": [
        ("a single KVCache", lambda v, draw: v[0]),
        ("one too few", lambda v, draw: v[:-1]),
        ("(keys, values) tuples", lambda v, draw: [(c.keys, c.values) for c in v]),
        ("None inside", lambda v, draw: [*v[:-1], None]),
        ("a NaN in keys", lambda v, draw: _poke_one_of(v, draw, "keys", float("nan"))),
        ("+inf in values", lambda v, draw: _poke_one_of(v, draw, "values", float("inf"))),
        ("different lengths", lambda v, draw: [*v[:-1], _shorter(v[-1])]),
        ("another dtype",
         lambda v, draw: [lib.KVCache(c.keys.double(), c.values.double()) for c in v]),
        ("on another device",
         lambda v, draw: [lib.KVCache._trusted(c.keys.to("meta"), c.values.to("meta"))
                          for c in v]),
    ],
    "blocks/generator": [
        ("an int seed", lambda v, draw: 0),
        ("a string", lambda v, draw: "0"),
        ("a numpy generator", lambda v, draw: np.random.default_rng(0)),
        ("None", lambda v, draw: None),
    ],
    # generate's generator when greedy=True: None is fine there, anything else but a
    # torch.Generator is a mistake.
    "blocks/optional generator": [
        ("an int seed", lambda v, draw: 0),
        ("a string", lambda v, draw: "0"),
        ("a numpy generator", lambda v, draw: np.random.default_rng(0)),
    ],
    "blocks/transformer block": [
        ("None", lambda v, draw: None),
        ("a string", lambda v, draw: "block"),
        ("a torch layer", lambda v, draw: nn.Linear(2, 2)),
        ("the class", lambda v, draw: lib.TransformerBlock),
    ],
    "blocks/tiny lm": [
        ("None", lambda v, draw: None),
        ("a string", lambda v, draw: "model"),
        ("a transformer block", lambda v, draw: lib.TransformerBlock(8, 2, 16)),
        ("the class", lambda v, draw: lib.TinyLM),
    ],
}

# --- targets ---------------------------------------------------------------------------------


def _seeded(make):
    """make() under a fixed seed, without touching the global RNG other tests rely on."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return make()


def _block():
    return _seeded(lambda: lib.TransformerBlock(8, 2, 16).double().eval())


def _tiny_lm():
    return _seeded(lambda: lib.TinyLM(7, max_len=16, d_model=8, n_heads=2, n_layers=2,
                                      d_ff=16).eval())


def _ids(*shape, seed=0):
    return torch.randint(0, 7, shape, generator=torch.Generator().manual_seed(seed))


def _elman(make):
    def valid():
        weights = lib.init_elman_np(3, 4, seed=1)
        # x spread wide (3 N(0, 1)): with w_xh at the dtype's limit, a row of x holding
        # entries above 1 of both signs then makes +inf - inf = NaN in numpy as in torch.
        arrays = {"x": 3 * _np(5, 3, seed=2), **weights, "h0": _np(4, seed=3)}
        return {name: make(array) for name, array in arrays.items()}
    return valid


def _block_cached():
    block = _block()
    with torch.no_grad():
        _, cache = block.forward_cached(_randn(3, 8, seed=1))
    return {"module": block, "x_new": _randn(2, 8, seed=2), "cache": cache}


def _kv_cache():
    with torch.no_grad():
        _, cache = _block().forward_cached(_randn(3, 8, seed=1))
    # Contiguous copies: _poke writes through reshape(-1), which copies a transposed view.
    return {"keys": cache.keys.contiguous(), "values": cache.values.contiguous()}


def _lm_cached():
    model = _tiny_lm()
    with torch.no_grad():
        _, caches = model.forward_cached(_ids(4, seed=1))
    return {"module": model, "ids_new": _ids(2, seed=2), "caches": caches}


_ELMAN = ("x", "w_xh", "w_hh", "b_h", "h0")
_BLOCK_WEIGHTS = {f"weight:{name}": "weight" for name, _ in _block().named_parameters()}
_LM_WEIGHTS = {f"weight:{name}": "weight" for name, _ in _tiny_lm().named_parameters()}

TARGETS: list[Target] = [
    # rnn.py
    Target("elman_rnn_np", lambda **a: lib.elman_rnn_np(**a), _elman(lambda a: a),
           {**{name: "float array" for name in _ELMAN},
            "b_h": "vector array", "h0": "vector array"}),
    Target("elman_rnn_torch", lambda **a: lib.elman_rnn_torch(**a), _elman(torch.from_numpy),
           {**{name: "float tensor" for name in _ELMAN},
            "b_h": "vector tensor", "h0": "vector tensor"}),
    Target("init_elman_np", lambda **a: lib.init_elman_np(**a),
           lambda: {"d_in": 3, "d_h": 4, "seed": 1, "recurrent_scale": 0.9},
           {"d_in": "positive int", "d_h": "positive int", "seed": "seed",
            "recurrent_scale": "blocks/real"}),
    # rotary.py
    Target("rotary_angles", lambda **a: lib.rotary_angles(**a),
           # d = 64: a tiny base then overflows the frequencies base**(-2i/d) themselves.
           lambda: {"n": 5, "d": 64, "base": 100.0, "dtype": torch.float64},
           {"n": "positive int", "d": "blocks/even int", "base": "positive real",
            "dtype": "float dtype"}),
    Target("apply_rotary", lambda **a: lib.apply_rotary(**a),
           lambda: {"x": _randn(2, 5, 64), "positions": torch.arange(5.0, dtype=torch.float64),
                    "base": 100.0},
           {"x": "lone tensor", "positions": "blocks/positions", "base": "positive real"}),
    # transformer.py
    Target("TransformerBlock", lambda **a: lib.TransformerBlock(**a),
           lambda: {"d_model": 8, "n_heads": 2, "d_ff": 16, "eps": 1e-5},
           {"d_model": "positive int", "n_heads": "positive int", "d_ff": "positive int",
            "eps": "positive real"}),
    Target("TransformerBlock.forward", lambda module, **a: module(**a),
           lambda: {"module": _block(), "x": _randn(2, 5, 8), "mask": lib.causal_mask(5)},
           {"x": "float tensor", "mask": "bool mask", **_BLOCK_WEIGHTS}),
    Target("TransformerBlock.forward_cached", lambda module, **a: module.forward_cached(**a),
           _block_cached,
           {"x_new": "float tensor", "cache": "blocks/kv cache", **_BLOCK_WEIGHTS}),
    Target("KVCache", lambda **a: lib.KVCache(**a), _kv_cache,
           {"keys": "blocks/cache tensor", "values": "blocks/cache tensor"}),
    Target("parameter_breakdown", lambda **a: lib.parameter_breakdown(**a),
           lambda: {"block": _block()}, {"block": "blocks/transformer block"}),
    Target("sinusoidal_positions", lambda **a: lib.sinusoidal_positions(**a),
           lambda: {"n": 5, "d_model": 8, "dtype": torch.float64},
           {"n": "positive int", "d_model": "positive int", "dtype": "float dtype"}),
    Target("causal_mask", lambda **a: lib.causal_mask(**a),
           lambda: {"n": 5, "device": "cpu"}, {"n": "positive int", "device": "blocks/device"}),
    # tinylm.py
    Target("CharVocab", lambda **a: lib.CharVocab(**a), lambda: {"text": "hello world"},
           {"text": "blocks/text"}),
    Target("CharVocab.encode", lambda vocab, **a: vocab.encode(**a),
           lambda: {"vocab": lib.CharVocab("hello world"), "text": "low"},
           {"text": "blocks/text to encode"}),
    Target("CharVocab.decode", lambda vocab, **a: vocab.decode(**a),
           lambda: {"vocab": lib.CharVocab("hello world"), "ids": [0, 3, 1]},
           {"ids": "blocks/id sequence"}),
    Target("TinyLM", lambda **a: lib.TinyLM(**a),
           lambda: {"vocab_size": 7, "max_len": 16, "d_model": 8, "n_heads": 2,
                    "n_layers": 2, "d_ff": 16},
           {name: "positive int"
            for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers", "d_ff")}),
    Target("TinyLM.forward", lambda module, **a: module(**a),
           lambda: {"module": _tiny_lm(), "ids": _ids(2, 5)},
           {"ids": "blocks/token ids", **_LM_WEIGHTS}),
    Target("TinyLM.forward_cached", lambda module, **a: module.forward_cached(**a),
           _lm_cached,
           {"ids_new": "blocks/token ids", "caches": "blocks/kv caches", **_LM_WEIGHTS}),
    Target("TinyLM.generate", lambda module, **a: module.generate(**a),
           lambda: {"module": _tiny_lm(), "prompt_ids": _ids(3), "n_new": 3,
                    "use_cache": True, "greedy": False,
                    "generator": torch.Generator().manual_seed(0), "temperature": 0.8,
                    "return_logits": True},
           {"prompt_ids": "blocks/token ids", "n_new": "positive int", "use_cache": "flag",
            "greedy": "flag", "generator": "blocks/generator", "temperature": "positive real",
            "return_logits": "flag", **_LM_WEIGHTS}),
    Target("TinyLM.generate(greedy)", lambda module, **a: module.generate(**a),
           lambda: {"module": _tiny_lm(), "prompt_ids": _ids(2, 3), "n_new": 2,
                    "use_cache": False, "greedy": True, "generator": None},
           {"prompt_ids": "blocks/token ids", "use_cache": "flag",
            "generator": "blocks/optional generator"}),
    Target("train", lambda module, **a: lib.train(module, **a),
           lambda: {"module": _tiny_lm(), "ids": _ids(12), "steps": 2, "batch": 2,
                    "context": 4, "lr": 1e-3, "seed": 0},
           {"module": "blocks/tiny lm", "ids": "blocks/token ids", "steps": "positive int",
            "batch": "positive int", "context": "positive int", "lr": "positive real",
            "seed": "seed", **_LM_WEIGHTS},
           says={"module": "model"}),
]
