"""Bad-input targets for the SmolLM2 loader (smollm.py); the harness is in `bad_inputs.py`.

A Llama decoder of width 8 (one layer, 2 query heads sharing 1 key/value head) with random
weights stands in for the real one, except where the real tokenizer or file is the point:
`SmolLM`'s targets wrap the tiny decoder around the file's tokenizer (vocabulary 49152), and
`load_smollm`'s valid call loads the installed file once.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import torch

from attnsheet.smollm import (
    SMOLLM_SHA256,
    LlamaConfig,
    LlamaDecoder,
    SmolLM,
    load_smollm,
    smollm_path,
    weight_shapes,
)
from attnsheet.transformer import KVCache

from .bad_inputs import POSITIVE_INT, Target, _poke
from .bad_inputs_models import PATH, _Weights

TINY = LlamaConfig(vocab_size=11, width=8, n_layers=1, n_heads=2, n_kv_heads=1, ffn_size=6,
                   context_length=8, rope_base=10000.0, norm_eps=1e-5)


def _weights(config: LlamaConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random float32 weights of every tensor the decoder reads, scaled to stay tame."""
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=generator) / math.sqrt(config.width)
            for name, shape in weight_shapes(config).items()}


WEIGHT_NAMES = sorted(_weights(TINY))
_WEIGHT_ROLES = {f"weight:{name}": "weight" for name in WEIGHT_NAMES}


@functools.lru_cache(maxsize=None)
def _tokenizer():
    from gguf import GGUFReader

    from attnsheet.smollm import _tokenizer as from_reader

    return from_reader(GGUFReader(str(smollm_path())))


def _tiny_model(vocab_size: int = 49152) -> SmolLM:
    """The file's tokenizer around a width-8 decoder with the tokenizer's vocabulary."""
    config = replace(TINY, vocab_size=vocab_size, context_length=16)
    return SmolLM(_tokenizer(), LlamaDecoder(config, _weights(config)), smollm_path(),
                  SMOLLM_SHA256, eos_id=2)


def _decoder_valid() -> dict:
    weights = _weights(TINY)
    return {"config": TINY, "weights": weights, "module": _Weights(weights)}


def _forward_valid() -> dict:
    """The harness corrupts "weight:<name>" through module.get_parameter; the decoder rides
    along as module.encoder (bad_inputs_models._Weights names it for the BERT encoder)."""
    weights = _weights(TINY)
    decoder = LlamaDecoder(TINY, weights)
    _, _, caches = decoder(torch.tensor([1, 4]))
    return {"module": _Weights(weights, decoder), "ids": torch.tensor([5, 2, 7]),
            "caches": caches}


def _model_parts() -> dict:
    model = _tiny_model()
    return {"tokenizer": model.tokenizer, "decoder": model.decoder, "path": model.path,
            "sha256": model.sha256, "eos_id": model.eos_id}


def _with_cache(caches, draw, change):
    """A copy of the cache list with one layer's cache changed (built without its checks,
    as a cache made elsewhere could be)."""
    caches = list(caches)
    i = draw(len(caches))
    keys, values = change(caches[i].keys, caches[i].values)
    caches[i] = KVCache._trusted(keys, values)
    return caches


# The loaders' shared roles (token ids, tokenizer, path, sha256) are bad_inputs_models'.
_ROLES: dict = {
    "caches": [
        ("None inside", lambda v, draw: [None] * len(v)),
        ("a single KVCache", lambda v, draw: v[0]),
        ("one too many", lambda v, draw: v + v[:1]),
        ("(keys, values) tuples", lambda v, draw: [(c.keys, c.values) for c in v]),
        ("a NaN in keys", lambda v, draw: _with_cache(
            v, draw, lambda k, val: (_poke(k, draw, float("nan")), val))),
        ("+inf in values", lambda v, draw: _with_cache(
            v, draw, lambda k, val: (k, _poke(val, draw, float("inf"))))),
        ("another dtype", lambda v, draw: _with_cache(
            v, draw, lambda k, val: (k.double(), val.double()))),
        ("another head layout", lambda v, draw: _with_cache(
            v, draw, lambda k, val: (k.reshape(2, -1, 2), val.reshape(2, -1, 2)))),
        ("values of another shape", lambda v, draw: _with_cache(
            v, draw, lambda k, val: (k, val[:, :1]))),
        ("float64 values", lambda v, draw: _with_cache(
            v, draw, lambda k, val: (k, val.double()))),
    ],
    "config": [
        ("a dict", lambda v, draw: dict(v.__dict__)),
        ("None", lambda v, draw: None),
        ("a file name", lambda v, draw: "model.gguf"),
    ],
    "weights": [
        ("a list", lambda v, draw: list(v.values())),
        ("None", lambda v, draw: None),
        ("missing a weight", lambda v, draw: _without(v, sorted(v)[draw(len(v))])),
        ("a float64 weight", lambda v, draw: _changed(v, draw, lambda t: t.double())),
        ("an integer weight", lambda v, draw: _changed(v, draw, lambda t: t.long())),
        ("a numpy weight", lambda v, draw: _changed(v, draw, lambda t: t.numpy())),
        ("a flattened weight", lambda v, draw: _changed(v, draw, lambda t: t.reshape(1, -1))),
        ("a NaN", lambda v, draw: _changed(v, draw, lambda t: _poke(t, draw, float("nan")))),
    ],
    # Any non-empty string is text a decoder can read (whitespace and control characters too).
    "text": [
        ("an empty string", lambda v, draw: ""),
        ("None", lambda v, draw: None),
        ("bytes", lambda v, draw: v.encode()),
        ("a list of words", lambda v, draw: v.split()),
        ("an int", lambda v, draw: 5),
    ],
    "id list": [
        ("empty", lambda v, draw: []),
        ("None", lambda v, draw: None),
        ("a tensor", lambda v, draw: torch.tensor(v)),
        ("a string", lambda v, draw: "1 2"),
        ("floats", lambda v, draw: [float(i) for i in v]),
        ("bools", lambda v, draw: [True for _ in v]),
        ("a negative id", lambda v, draw: [-1, *v[1:]]),
        ("an id past the vocabulary", lambda v, draw: [*v[:-1], 10**6]),
        ("nested", lambda v, draw: [list(v)]),
    ],
    "decoder": [
        ("None", lambda v, draw: None),
        ("its weight dict", lambda v, draw: v.weights),
        ("a string", lambda v, draw: "decoder"),
    ],
    "token id": [c for c in POSITIVE_INT if c[0] not in ("zero",)] + [
        ("past the vocabulary", lambda v, draw: 10**6)],
    "optional path": [c for c in PATH if c[0] != "None"],  # None: the installed file
}
ROLES: dict = {f"smollm/{name}": corruptions for name, corruptions in _ROLES.items()}


def _without(weights: dict, name: str) -> dict:
    return {key: tensor for key, tensor in weights.items() if key != name}


def _changed(weights: dict, draw, change) -> dict:
    name = sorted(weights)[draw(len(weights))]
    return {**weights, name: change(weights[name])}


_POSITIVE = "positive int"

TARGETS: list[Target] = [
    Target("LlamaConfig", lambda **a: LlamaConfig(**a), lambda: dict(TINY.__dict__),
           {**{name: _POSITIVE for name in ("vocab_size", "width", "n_layers", "n_heads",
                                            "n_kv_heads", "ffn_size", "context_length")},
            "rope_base": "positive real", "norm_eps": "positive real"}),
    Target("LlamaDecoder", lambda config, weights, module: LlamaDecoder(config, weights),
           _decoder_valid, {"config": "config", "weights": "weights", **_WEIGHT_ROLES}),
    Target("LlamaDecoder.forward",
           lambda module, ids, caches: module.encoder(ids, caches), _forward_valid,
           {"ids": "models/token ids", "caches": "caches", **_WEIGHT_ROLES}),
    Target("SmolLM", lambda **a: SmolLM(**a), _model_parts,
           {"tokenizer": "models/tokenizer", "decoder": "decoder", "path": "models/path",
            "sha256": "models/sha256", "eos_id": "token id"}),
    Target("SmolLM.tokenize", lambda model, text: model.tokenize(text),
           lambda: {"model": _tiny_model(), "text": "The animal was tired."}, {"text": "text"}),
    Target("SmolLM.run", lambda model, text: model.run(text),
           lambda: {"model": _tiny_model(), "text": "The animal was tired."}, {"text": "text"}),
    Target("SmolLM.generate",
           lambda model, ids, n_new, use_cache: model.generate(ids, n_new, use_cache=use_cache),
           lambda: {"model": _tiny_model(), "ids": [504, 3575], "n_new": 2, "use_cache": True},
           {"ids": "id list", "n_new": _POSITIVE, "use_cache": "flag"}),
    Target("load_smollm", lambda **a: load_smollm(**a),
           lambda: {"path": smollm_path(), "expected_sha256": SMOLLM_SHA256},
           {"path": "optional path", "expected_sha256": "models/sha256"}),
]


def _prefixed(target: Target) -> Target:
    """The target with this file's own roles under their prefixed names (see ROLES)."""
    return replace(target, roles={argument: f"smollm/{role}" if role in _ROLES else role
                                  for argument, role in target.roles.items()})


TARGETS = [_prefixed(target) for target in TARGETS]
