"""Bad-input targets for the pretrained-model loader and the trained demonstrations (models.py, referent.py, recall.py, forgetting.py, speed.py); the harness and the shared roles are in `bad_inputs.py`.

Every call is tiny: a BERT of width 4 (one of vocabulary 30522 where the real tokenizer needs
it, written once to a temporary folder with its own hash), recall models of width 4 trained for
at most two steps, one step of the pointer model. Nothing loads all-MiniLM-L6-v2.
Targets that seed torch's global generator run inside `torch.random.fork_rng`, so the
harness leaves the generator as it found it.
"""

from __future__ import annotations

import atexit
import copy
import functools
import json
import math
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from attnsheet.forgetting import (
    attention_jacobian_norms,
    attention_sensitivity,
    rnn_jacobian_norms,
    rnn_sensitivity,
)
from attnsheet.models import (
    BertConfig,
    BertEncoder,
    MiniLM,
    load_minilm,
    minilm_dir,
    sha256_of,
    verify_sha256,
)
from attnsheet.recall import (
    AttentionRecall,
    RecallConfig,
    RecurrentRecall,
    accuracy_by_k,
    answers,
    delays,
    epoch_seconds,
    held_out_sequences,
    make_model,
    make_sequences,
    parameter_count,
    run,
    sensitivity_by_k,
    train,
)
from attnsheet.referent import (
    TEMPLATES,
    ReferentModel,
    ReferentResult,
    Sentence,
    WordVectors,
    accuracy,
    adam_step,
    encode,
    generate,
    make_sentence,
    train_referent_model,
    word_vectors,
)
from attnsheet.rnn import init_elman_np
from attnsheet.speed import critical_path, make_forwards, measure_forwards

from .bad_inputs import POSITIVE_INT, Target, _poke

NAN, INF = float("nan"), float("inf")


# --- roles of this module's own ----------------------------------------------------------------

def _pick(mapping: dict, draw) -> str:
    """A drawn key of `mapping` (sorted, so the same draw picks the same key)."""
    names = sorted(mapping)
    return names[draw(len(names))]


def _with(weights: dict, draw, change) -> dict:
    """A copy of a BERT weight dict with one drawn tensor replaced by change(tensor)."""
    name = _pick(weights, draw)
    return {**weights, name: change(weights[name])}


def _transposed(weights: dict, draw) -> dict:
    """A copy with one drawn non-square matrix transposed (its shape is then wrong)."""
    non_square = {k: v for k, v in weights.items() if v.ndim == 2 and v.shape[0] != v.shape[1]}
    name = _pick(non_square, draw)
    return {**weights, name: weights[name].T.contiguous()}


def _without(weights: dict, draw) -> dict:
    name = _pick(weights, draw)
    return {k: v for k, v in weights.items() if k != name}


def _dead_sentence(real, draw):
    real = real.clone()
    real[draw(real.shape[0])] = False
    return real


def _unknown_word(sentence: Sentence) -> Sentence:
    """The sentence with its last word (the adjective) replaced by a word no vector has."""
    return replace(sentence, words=sentence.words[:-1] + ("purple",))


def _broken_weight(model, draw, bad):
    """A copy of `model` with `bad` at a drawn place of a drawn parameter."""
    model = copy.deepcopy(model)
    parameters = list(model.parameters())
    parameter = parameters[draw(len(parameters))]
    with torch.no_grad():
        parameter.view(-1)[draw(parameter.numel())] = bad
    return model


def _poked_table(vectors: WordVectors, draw, bad) -> WordVectors:
    return WordVectors(vectors.index, _poke(vectors.table, draw, bad))


def _poked_item(tensors, draw, bad):
    i = draw(len(tensors))
    return [_poke(t.detach(), draw, bad) if j == i else t for j, t in enumerate(tensors)]


def _changed_item(tensors, draw, change):
    i = draw(len(tensors))
    return [change(t) if j == i else t for j, t in enumerate(tensors)]


ID_TENSOR = [
    ("a list", lambda v, draw: v.tolist()),
    ("a numpy array", lambda v, draw: v.numpy()),
    ("a string", lambda v, draw: "1 2 3"),
    ("a float tensor", lambda v, draw: v.double()),
    ("a bool tensor", lambda v, draw: v > 0),
    ("an extra axis", lambda v, draw: v[None]),
]
TOKEN_IDS = ID_TENSOR + [
    ("a negative id", lambda v, draw: _poke(v, draw, -1)),
    ("an id past the vocabulary", lambda v, draw: _poke(v, draw, 10**6)),
    ("no tokens", lambda v, draw: v[..., :0]),
]
# Ids of several sequences, (b, n): one row alone is no such batch.
TOKEN_ID_ROWS = TOKEN_IDS + [("flattened", lambda v, draw: v.reshape(-1))]
TEXT = [
    ("an empty string", lambda v, draw: ""),
    ("whitespace", lambda v, draw: " \n\t"),
    ("only a zero-width space", lambda v, draw: "\u200b"),
    ("None", lambda v, draw: None),
    ("bytes", lambda v, draw: v.encode()),
    ("a list of words", lambda v, draw: v.split()),
    ("an int", lambda v, draw: 5),
]
PATH = [
    ("None", lambda v, draw: None),
    ("an int", lambda v, draw: 5),
    ("a list", lambda v, draw: [str(v)]),
    ("bytes", lambda v, draw: os.fsencode(v)),
    ("an empty string", lambda v, draw: ""),
]
SHA256 = [
    ("None", lambda v, draw: None),
    ("an int", lambda v, draw: 0),
    ("too short", lambda v, draw: v[:10]),
    ("too long", lambda v, draw: v + "0"),
    ("not hexadecimal", lambda v, draw: "g" * 64),
    ("padded with a space", lambda v, draw: " " + v[1:]),
    ("bytes", lambda v, draw: v.encode()),
]
WORD_VECTORS = [
    ("None", lambda v, draw: None),
    ("its table", lambda v, draw: v.table),
    ("its index", lambda v, draw: v.index),
    ("a list", lambda v, draw: [v]),
]
RECALL_MODEL = [
    ("None", lambda v, draw: None),
    ("a plain module", lambda v, draw: torch.nn.Linear(2, 2)),
    ("a NaN in a weight", lambda v, draw: _broken_weight(v, draw, NAN)),
    ("+inf in a weight", lambda v, draw: _broken_weight(v, draw, INF)),
    ("a model for another max_delay",
     lambda v, draw: _keeping_rng(make_model)(
         "attention", replace(RECALL, max_delay=RECALL.max_delay + 1), 0)),
]
MODEL_NAMES = [
    ("a bare name", lambda v, draw: v[0]),
    ("empty", lambda v, draw: ()),
    ("an unknown name", lambda v, draw: ("gru",)),
    ("another case", lambda v, draw: ("Attention",)),
    ("a repeat", lambda v, draw: (*v, v[0])),
    ("a non-string", lambda v, draw: (0,)),
    ("None", lambda v, draw: None),
]

_ROLES: dict = {
    "token ids": TOKEN_IDS,
    "token id rows": TOKEN_ID_ROWS,
    "id tensor": ID_TENSOR,
    "recall sequences": TOKEN_ID_ROWS + [
        ("no item", lambda v, draw: _without_item(v, draw)),
        ("a second item", lambda v, draw: _set(v, draw, -2, 0)),  # k >= 1: a distractor there
        ("no query token", lambda v, draw: _set(v, draw, -1, RECALL.items)),
        ("a second query token", lambda v, draw: _set(v, draw, -2, RECALL.query)),
        ("no delay", lambda v, draw: _no_delay(v, draw)),
    ],
    "delay sampling": [
        ("an unknown name", lambda v, draw: "normal"),
        ("another case", lambda v, draw: v.capitalize()),
        ("None", lambda v, draw: None),
        ("a list", lambda v, draw: [v]),
    ],
    "real mask": [
        ("a float mask", lambda v, draw: v.float()),
        ("an int mask", lambda v, draw: v.long()),
        ("a list", lambda v, draw: v.tolist()),
        ("a numpy array", lambda v, draw: v.numpy()),
        ("a sentence of padding only", _dead_sentence),
        ("a wrong shape", lambda v, draw: v[:, :-1]),
    ],
    "text": TEXT,
    "encoder text": TEXT + [("too long for the model", lambda v, draw: " ".join(["cat"] * 40))],
    "path": PATH,
    "model dir": [c for c in PATH if c[0] != "None"],  # None: the installed model
    "sha256": SHA256,
    "bert config": [
        ("a dict", lambda v, draw: dict(v.__dict__)),
        ("None", lambda v, draw: None),
        ("a string", lambda v, draw: "config.json"),
    ],
    "bert weights": [
        ("a list", lambda v, draw: list(v.values())),
        ("None", lambda v, draw: None),
        ("missing a weight", _without),
        ("a NaN", lambda v, draw: _with(v, draw, lambda t: _poke(t, draw, NAN))),
        ("+inf", lambda v, draw: _with(v, draw, lambda t: _poke(t, draw, INF))),
        ("a numpy weight", lambda v, draw: _with(v, draw, lambda t: t.numpy())),
        ("an integer weight", lambda v, draw: _with(v, draw, lambda t: t.long())),
        ("a float64 weight among float32", lambda v, draw: _with(v, draw, lambda t: t.double())),
        ("a flattened weight", lambda v, draw: _with(v, draw, lambda t: t.reshape(1, -1))),
        ("a transposed weight", _transposed),
    ],
    "encoder": [
        ("None", lambda v, draw: None),
        ("its weight dict", lambda v, draw: v.weights),
        ("a string", lambda v, draw: "encoder"),
    ],
    "tokenizer": [
        ("None", lambda v, draw: None),
        ("a file name", lambda v, draw: "tokenizer.json"),
        ("a dict", lambda v, draw: {}),
    ],
    "template index": [
        ("negative", lambda v, draw: -1 - draw(len(TEMPLATES))),  # today: from the end
        ("one past the end", lambda v, draw: len(TEMPLATES)),
        ("a whole float", lambda v, draw: float(v)),
        ("a bool", lambda v, draw: True),
        ("a string", lambda v, draw: str(v)),
        ("None", lambda v, draw: None),
    ],
    "animal": [
        ("the place", lambda v, draw: "road"),
        ("another place", lambda v, draw: "street"),
        ("two words", lambda v, draw: f"big {v}"),
        ("padded with a space", lambda v, draw: f" {v}"),
        ("empty", lambda v, draw: ""),
        ("an unknown word", lambda v, draw: "dragon"),
        ("a word of the template", lambda v, draw: "the"),
        ("an int", lambda v, draw: 3),
        ("None", lambda v, draw: None),
        ("a list", lambda v, draw: [v]),
    ],
    "place": [
        ("the animal", lambda v, draw: "dog"),
        ("another animal", lambda v, draw: "cat"),
        ("two words", lambda v, draw: f"old {v}"),
        ("padded with a space", lambda v, draw: f"{v} "),
        ("empty", lambda v, draw: ""),
        ("an unknown word", lambda v, draw: "moon"),
        ("a word of the template", lambda v, draw: "it"),
        ("an int", lambda v, draw: 3),
        ("None", lambda v, draw: None),
    ],
    "adjective": [
        ("an unknown word", lambda v, draw: "purple"),
        ("a noun", lambda v, draw: "dog"),
        ("two words", lambda v, draw: f"very {v}"),
        ("empty", lambda v, draw: ""),
        ("an int", lambda v, draw: 3),
        ("None", lambda v, draw: None),
    ],
    "word position": [
        ("negative", lambda v, draw: -1 - draw(5)),
        ("past the end", lambda v, draw: 99),
        ("a whole float", lambda v, draw: float(v)),
        ("a bool", lambda v, draw: True),
        ("a string", lambda v, draw: str(v)),
    ],
    "words": [
        ("a list", lambda v, draw: list(v)),
        ("a string", lambda v, draw: " ".join(v)),
        ("a tuple holding an int", lambda v, draw: (*v[:-1], 3)),
    ],
    "rng": [
        ("an int seed", lambda v, draw: 0),
        ("None", lambda v, draw: None),
        ("a RandomState", lambda v, draw: np.random.RandomState(0)),
        ("a torch.Generator", lambda v, draw: torch.Generator()),
    ],
    "sentences": [
        ("an empty list", lambda v, draw: []),
        ("a bare Sentence", lambda v, draw: v[0]),
        ("a string", lambda v, draw: "the dog was tired"),
        ("a list holding a string", lambda v, draw: [*v, "the dog was tired"]),
        ("a list holding words", lambda v, draw: [v[0].words]),
        ("an unknown word", lambda v, draw: [*v[:-1], _unknown_word(v[-1])]),
        ("None", lambda v, draw: None),
    ],
    "sentence": [
        ("None", lambda v, draw: None),
        ("a string", lambda v, draw: " ".join(v.words)),
        ("a list of one Sentence", lambda v, draw: [v]),
        ("an unknown word", lambda v, draw: _unknown_word(v)),
        ("too long for the model", lambda v, draw: replace(v, words=v.words + ("the",) * 9)),
    ],
    "word vectors": WORD_VECTORS,
    "word vector table": WORD_VECTORS + [
        ("a NaN in the table", lambda v, draw: _poked_table(v, draw, NAN)),
        ("+inf in the table", lambda v, draw: _poked_table(v, draw, INF)),
        ("an integer table", lambda v, draw: WordVectors(v.index, v.table.long())),
        ("a numpy table", lambda v, draw: WordVectors(v.index, v.table.numpy())),
        ("a 1-D table", lambda v, draw: WordVectors(v.index, v.table[0])),
        ("empty", lambda v, draw: WordVectors(v.index, v.table[:, :0])),  # no features
        ("an index that skips a row",
         lambda v, draw: WordVectors({w: i + 1 for w, i in v.index.items()}, v.table)),
    ],
    "the model's word vectors": WORD_VECTORS + [
        ("another seed's vectors", lambda v, draw: word_vectors(v.table.shape[1], 1, True)),
        ("vectors of another width", lambda v, draw: word_vectors(v.table.shape[1] + 1, 0, True)),
    ],
    "referent model": [
        ("None", lambda v, draw: None),
        ("a plain module", lambda v, draw: torch.nn.Linear(2, 2)),
        ("a recall model", lambda v, draw: _keeping_rng(make_model)("attention", RECALL, 0)),
    ],
    "tensor list": [
        ("a bare tensor", lambda v, draw: v[0]),
        ("one item short", lambda v, draw: v[:-1]),
        ("a NaN in an item", lambda v, draw: _poked_item(v, draw, NAN)),
        ("+inf in an item", lambda v, draw: _poked_item(v, draw, INF)),
        ("an integer item", lambda v, draw: _changed_item(v, draw, lambda t: t.round().long())),
        ("a numpy item", lambda v, draw: _changed_item(v, draw, lambda t: t.detach().numpy())),
        ("a list item", lambda v, draw: _changed_item(v, draw, lambda t: t.tolist())),
        ("an item of another shape", lambda v, draw: _changed_item(v, draw, lambda t: t[:1])),
        ("a float64 item", lambda v, draw: _changed_item(v, draw, lambda t: t.double())),
        ("None", lambda v, draw: None),
    ],
    "state": [
        ("None", lambda v, draw: None),
        ("a list", lambda v, draw: []),
    ],
    "betas": [
        ("a single number", lambda v, draw: 0.9),
        ("one beta", lambda v, draw: (0.9,)),
        ("three betas", lambda v, draw: (0.9, 0.999, 0.5)),
        ("beta_1 = 1", lambda v, draw: (1.0, 0.999)),
        ("beta_2 = 1", lambda v, draw: (0.9, 1.0)),
        ("a negative beta", lambda v, draw: (-0.1, 0.999)),
        ("a NaN beta", lambda v, draw: (NAN, 0.999)),
        ("a string beta", lambda v, draw: ("0.9", 0.999)),
        ("a bool beta", lambda v, draw: (0.9, True)),
        ("None", lambda v, draw: None),
    ],
    "recall config": [
        ("None", lambda v, draw: None),
        ("a dict", lambda v, draw: v.to_dict()),
        ("a string", lambda v, draw: "tiny"),
    ],
    "seeds": [
        ("empty", lambda v, draw: ()),
        ("a list", lambda v, draw: list(v)),
        ("a bare seed", lambda v, draw: 0),
        ("a negative seed", lambda v, draw: (-1 - draw(5),)),
        ("a float seed", lambda v, draw: (0.5,)),
        ("a bool seed", lambda v, draw: (True,)),
        ("a string seed", lambda v, draw: ("0",)),
        ("None", lambda v, draw: None),
    ],
    "model name": [
        ("an unknown name", lambda v, draw: "gru"),
        ("another case", lambda v, draw: v.capitalize()),
        ("empty", lambda v, draw: ""),
        ("None", lambda v, draw: None),
        ("a list", lambda v, draw: [v]),
        ("an int", lambda v, draw: 0),
    ],
    "cell name": [
        ("an unknown name", lambda v, draw: "gru"),
        ("the attention model", lambda v, draw: "attention"),
        ("another case", lambda v, draw: v.upper()),
        ("None", lambda v, draw: None),
        ("a list", lambda v, draw: [v]),
    ],
    "model names": MODEL_NAMES,
    "recall model": RECALL_MODEL,
    "torch module": [
        ("None", lambda v, draw: None),
        ("a dict", lambda v, draw: {}),
        ("a tensor", lambda v, draw: torch.ones(1)),
    ],
    "optional positive int": [c for c in POSITIVE_INT if c[0] != "None"],  # None: the default
    "function": [
        ("None", lambda v, draw: None),
        ("a string", lambda v, draw: "attention"),
        ("a tensor", lambda v, draw: torch.ones(2)),
        ("one returning a list", lambda v, draw: lambda inp: v(inp).tolist()),
        ("one returning an integer tensor", lambda v, draw: lambda inp: v(inp).long()),
        ("one returning the wrong shape", lambda v, draw: lambda inp: v(inp)[0]),
        ("one ignoring its input", lambda v, draw: lambda inp: torch.zeros_like(inp)),
        ("one returning NaN", lambda v, draw: lambda inp: v(inp) * NAN),
        # Finite output, but a slope of 1e310 at x: its derivative overflows.
        ("one with an overflowing derivative",
         lambda v, draw: lambda inp: torch.sin(inp * 1e300) * 1e10),
    ],
    "finite real": [
        ("NaN", lambda v, draw: NAN),
        ("inf", lambda v, draw: INF),
        ("-inf", lambda v, draw: -INF),
        ("a string", lambda v, draw: "1"),
        ("a bool", lambda v, draw: True),
        ("None", lambda v, draw: None),
        ("a tensor", lambda v, draw: torch.tensor(v)),
    ],
    "graph output": [
        ("a list", lambda v, draw: v.tolist()),
        ("a Python number", lambda v, draw: v.item()),
        ("a numpy array", lambda v, draw: v.detach().numpy()),
        ("a tensor without a graph", lambda v, draw: v.detach()),
        ("None", lambda v, draw: None),
    ],
    "positive ints": [
        ("a bare int", lambda v, draw: v[0]),
        ("empty", lambda v, draw: []),
        ("zero", lambda v, draw: [*v, 0]),
        ("negative", lambda v, draw: [*v, -1 - draw(5)]),
        ("a float", lambda v, draw: [float(v[0])]),
        ("a bool", lambda v, draw: [True]),
        ("a repeat", lambda v, draw: [*v, v[0]]),
        ("a string", lambda v, draw: str(v[0])),
        ("a numpy array", lambda v, draw: np.array(v)),
        ("None", lambda v, draw: None),
    ],
}
# Prefixed: the harness merges every targets file's roles into one dict, and another file may
# name a role of its own the same way ("token ids"). The targets below use the bare names.
ROLES: dict = {f"models/{name}": corruptions for name, corruptions in _ROLES.items()}


# --- tiny models ---------------------------------------------------------------------------------

def _keeping_rng(function):
    """`function`, run without changing torch's global generator (it seeds it itself)."""
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with torch.random.fork_rng():
            return function(*args, **kwargs)
    return wrapped


class _Weights:
    """Lets the harness's "weight:<name>" corruption reach a BertEncoder's weights, a dict of
    tensors rather than a module's parameters: get_parameter hands out the dict's tensor."""

    def __init__(self, weights: dict, encoder: BertEncoder | None = None) -> None:
        self.weights, self.encoder = weights, encoder

    def get_parameter(self, name: str) -> torch.Tensor:
        return self.weights[name]


TINY_BERT = BertConfig(vocab_size=11, hidden_size=4, n_layers=1, n_heads=2, intermediate_size=6,
                       max_positions=8, layer_norm_eps=1e-12)


def _bert_weights(config: BertConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random float32 weights for every tensor the encoder reads, scaled to stay tame."""
    generator = torch.Generator().manual_seed(seed)
    d, d_ff = config.hidden_size, config.intermediate_size
    shapes = {"embeddings.word_embeddings.weight": (config.vocab_size, d),
              "embeddings.position_embeddings.weight": (config.max_positions, d),
              "embeddings.token_type_embeddings.weight": (2, d),
              "embeddings.LayerNorm.weight": (d,), "embeddings.LayerNorm.bias": (d,)}
    for i in range(config.n_layers):
        prefix = f"encoder.layer.{i}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            shapes |= {f"{prefix}.{name}.weight": (d, d), f"{prefix}.{name}.bias": (d,)}
        shapes |= {f"{prefix}.intermediate.dense.weight": (d_ff, d),
                   f"{prefix}.intermediate.dense.bias": (d_ff,),
                   f"{prefix}.output.dense.weight": (d, d_ff),
                   f"{prefix}.output.dense.bias": (d,)}
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes |= {f"{prefix}.{norm}.weight": (d,), f"{prefix}.{norm}.bias": (d,)}
    return {name: torch.randn(shape, generator=generator) / math.sqrt(d)
            for name, shape in shapes.items()}


BERT_WEIGHT_NAMES = sorted(_bert_weights(TINY_BERT))


@functools.lru_cache(maxsize=None)
def _tiny_model_dir() -> tuple[Path, str]:
    """A model folder like the installed one, but with a width-4, one-layer encoder (the real
    tokenizer, so vocabulary 30522): written once, removed at exit. Its folder and hash."""
    from safetensors.torch import save_file

    folder = Path(tempfile.mkdtemp(prefix="attnsheet-tiny-bert-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copy(minilm_dir() / "tokenizer.json", folder / "tokenizer.json")
    config = BertConfig(vocab_size=30522, hidden_size=4, n_layers=1, n_heads=2,
                        intermediate_size=6, max_positions=16, layer_norm_eps=1e-12)
    (folder / "config.json").write_text(json.dumps({
        "vocab_size": config.vocab_size, "hidden_size": config.hidden_size,
        "num_hidden_layers": config.n_layers, "num_attention_heads": config.n_heads,
        "intermediate_size": config.intermediate_size,
        "max_position_embeddings": config.max_positions,
        "layer_norm_eps": config.layer_norm_eps, "hidden_act": "gelu"}), encoding="utf-8")
    save_file(_bert_weights(config), str(folder / "model.safetensors"))
    return folder, sha256_of(folder / "model.safetensors")


@functools.lru_cache(maxsize=None)
def _tiny_minilm() -> MiniLM:
    """The tiny model, loaded once; only for targets that never change its weights."""
    folder, sha256 = _tiny_model_dir()
    return load_minilm(folder, sha256)


def _encoder_valid() -> dict:
    weights = _bert_weights(TINY_BERT)
    return {"config": TINY_BERT, "weights": weights, "module": _Weights(weights)}


def _forward_valid() -> dict:
    weights = _bert_weights(TINY_BERT)
    return {"module": _Weights(weights, BertEncoder(TINY_BERT, weights)),
            "ids": torch.tensor([1, 5, 2, 7, 10])}


def _minilm_parts() -> dict:
    model = _tiny_minilm()
    return {"tokenizer": model.tokenizer, "encoder": model.encoder,
            "model_dir": model.model_dir, "sha256": model.sha256}


_BERT_WEIGHT_ROLES = {f"weight:{name}": "weight" for name in BERT_WEIGHT_NAMES}

# The pointer model of referent.py at width 4, on a short and a long sentence (padding).
_D = 4
_MAX_LEN = max(len(t.split()) for t in TEMPLATES)


def _sentences() -> list[Sentence]:
    return [make_sentence(2, "dog", "road", "tired"), make_sentence(4, "cat", "river", "wide")]


@_keeping_rng
def _referent_model() -> tuple[ReferentModel, WordVectors]:
    vectors = word_vectors(_D, 0, True)
    torch.manual_seed(0)
    return ReferentModel(vectors, _MAX_LEN), vectors


def _referent_forward_valid() -> dict:
    model, vectors = _referent_model()
    ids, real, _, _ = encode(_sentences(), vectors)
    return {"module": model, "ids": ids, "real": real}


def _referent_result_valid() -> dict:
    model, vectors = _referent_model()
    return {"result": ReferentResult(model, vectors, 0.0, 0.0, 0, 0),
            "sentence": make_sentence(0, "animal", "street", "tired")}


def _accuracy_valid() -> dict:
    model, vectors = _referent_model()
    return {"model": model, "sentences": _sentences(), "vectors": vectors}


def _adam_valid() -> dict:
    generator = torch.Generator().manual_seed(0)
    parameters = [torch.randn(2, 3, generator=generator), torch.randn(4, generator=generator)]
    gradients = [torch.randn(2, 3, generator=generator), torch.randn(4, generator=generator)]
    return {"parameters": parameters, "gradients": gradients, "state": {}, "lr": 0.01,
            "step": 1, "betas": (0.9, 0.999), "eps": 1e-8}


_REFERENT_WEIGHT_ROLES = {f"weight:{name}": "weight" for name in
                          ("positions", "w_q1.weight", "w_k1.weight", "w_v1.weight",
                           "w_q2.weight", "w_k2.weight")}

# The recall experiment at its smallest: delays up to 3 (sequences of 5 tokens), 4 training
# sequences, a reading after every step, two steps at most.
RECALL = RecallConfig(items=3, distractors=2, max_delay=3, width=4, train_size=4, val_size=2,
                      test_per_k=1, batch=2, lr=0.05, eval_every=1, patience=1,
                      min_improvement=0.01, solved_loss=0.01, max_steps=2, seeds=(0,))
_model = _keeping_rng(make_model)


def _sequences() -> torch.Tensor:
    """One held-out sequence per delay: every function that reports per delay accepts it."""
    return held_out_sequences(RECALL)


def _set(sequences, draw, column: int, token: int):
    """A copy with `token` in `column` of a drawn row."""
    sequences = sequences.clone()
    sequences[draw(len(sequences)), column] = token
    return sequences


def _without_item(sequences, draw):
    """A copy whose drawn row has a distractor where its item was."""
    sequences = sequences.clone()
    row = sequences[draw(len(sequences))]
    row[row < RECALL.items] = RECALL.items
    return sequences


def _no_delay(sequences, draw):
    """A copy whose drawn row has its item right before the query (k = 0)."""
    sequences = sequences.clone()
    row = sequences[draw(len(sequences))]
    row[:-1] = RECALL.items
    row[-2] = 0
    return sequences


def _recall_forward_valid(name: str):
    def valid() -> dict:
        return {"module": _model(name, RECALL, 0), "sequences": _sequences()}
    return valid


def _recall_weight_roles(name: str) -> dict:
    return {f"weight:{p}": "weight" for p, _ in _model(name, RECALL, 0).named_parameters()}


_POSITIVE = "positive int"


def _rnn_weights() -> dict:
    return {name: torch.from_numpy(w) for name, w in init_elman_np(3, 4, seed=1).items()}


def _attention_forward(seed: int = 2):
    """Self-attention written out in plain torch: unlike the library's, it checks nothing, so
    a NaN or an overflow reaches attention_jacobian_norms' own checks."""
    w = torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return lambda inp: torch.softmax(inp @ w @ inp.transpose(-1, -2) / 3**0.5, dim=-1) @ inp


def _graph_output() -> torch.Tensor:
    x = torch.ones(3, requires_grad=True)
    return ((x * 2).exp() + x).sum()


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- targets -------------------------------------------------------------------------------------

TARGETS: list[Target] = [
    # models.py
    Target("BertConfig", lambda **a: BertConfig(**a), lambda: dict(TINY_BERT.__dict__),
           {**{name: _POSITIVE for name in ("vocab_size", "hidden_size", "n_layers", "n_heads",
                                            "intermediate_size", "max_positions")},
            "layer_norm_eps": "positive real"}),
    Target("BertConfig.from_json", lambda **a: BertConfig.from_json(**a),
           lambda: {"path": _tiny_model_dir()[0] / "config.json"}, {"path": "path"}),
    Target("BertEncoder", lambda config, weights, module: BertEncoder(config, weights),
           _encoder_valid,
           {"config": "bert config", "weights": "bert weights", **_BERT_WEIGHT_ROLES}),
    Target("BertEncoder.forward", lambda module, ids: module.encoder(ids), _forward_valid,
           {"ids": "token ids", **_BERT_WEIGHT_ROLES},
           # The embeddings' sum, or its layer norm's scale, at the limit overflows right there.
           overflows_at={f"weight:{name}": "after the embeddings" for name in BERT_WEIGHT_NAMES
                         if name.startswith("embeddings.")
                         and name != "embeddings.LayerNorm.bias"}),
    Target("MiniLM", lambda **a: MiniLM(**a), _minilm_parts,
           {"tokenizer": "tokenizer", "encoder": "encoder", "model_dir": "model dir",
            "sha256": "sha256"}),
    Target("MiniLM.tokenize", lambda model, text: model.tokenize(text),
           lambda: {"model": _tiny_minilm(), "text": "the animal was tired."}, {"text": "text"}),
    Target("MiniLM.encode", lambda model, text: model.encode(text),
           lambda: {"model": _tiny_minilm(), "text": "the animal was tired."},
           {"text": "encoder text"}),
    Target("load_minilm", lambda **a: load_minilm(**a),
           lambda: dict(zip(("model_dir", "expected_sha256"), _tiny_model_dir())),
           {"model_dir": "model dir", "expected_sha256": "sha256"}),
    Target("verify_sha256", lambda **a: verify_sha256(**a),
           lambda: {"path": _tiny_model_dir()[0] / "model.safetensors",
                    "expected": _tiny_model_dir()[1], "source": "the tiny model"},
           {"path": "path", "expected": "sha256"}),
    Target("sha256_of", lambda **a: sha256_of(**a),
           lambda: {"path": _tiny_model_dir()[0] / "model.safetensors"}, {"path": "path"}),
    # referent.py
    Target("Sentence", lambda **a: Sentence(**a),
           lambda: dict(make_sentence(0, "dog", "road", "tired").__dict__),
           {"words": "words", "it": "word position", "referent": "word position",
            "other": "word position"}),
    Target("make_sentence", lambda **a: make_sentence(**a),
           lambda: {"template": 1, "animal": "dog", "place": "road", "adjective": "tired"},
           {"template": "template index", "animal": "animal", "place": "place",
            "adjective": "adjective"}),
    Target("generate", lambda **a: generate(**a),
           lambda: {"held_out": False, "n": 3, "rng": np.random.default_rng(0)},
           {"held_out": "flag", "n": _POSITIVE, "rng": "rng"}),
    Target("word_vectors", lambda **a: word_vectors(**a),
           lambda: {"d": _D, "seed": 0, "kind_features": True},
           {"d": _POSITIVE, "seed": "seed", "kind_features": "flag"}),
    Target("encode", lambda **a: encode(**a),
           lambda: {"sentences": _sentences(), "vectors": word_vectors(_D, 0, True)},
           {"sentences": "sentences", "vectors": "word vectors"}),
    Target("ReferentModel", _keeping_rng(lambda **a: ReferentModel(**a)),
           lambda: {"vectors": word_vectors(_D, 0, True), "max_len": _MAX_LEN},
           {"vectors": "word vector table", "max_len": _POSITIVE}),
    Target("ReferentModel.forward", lambda module, ids, real: module(ids, real),
           _referent_forward_valid,
           {"ids": "token id rows", "real": "real mask", **_REFERENT_WEIGHT_ROLES}),
    Target("ReferentResult.weights", lambda result, sentence: result.weights(sentence),
           _referent_result_valid, {"sentence": "sentence"}),
    Target("accuracy", lambda **a: accuracy(**a), _accuracy_valid,
           {"model": "referent model", "sentences": "sentences",
            "vectors": "the model's word vectors"}),
    Target("adam_step", lambda **a: adam_step(**a), _adam_valid,
           {"parameters": "tensor list", "gradients": "tensor list", "state": "state",
            "lr": "positive real", "step": _POSITIVE, "betas": "betas",
            "eps": "positive real"}),
    Target("train_referent_model", _keeping_rng(lambda **a: train_referent_model(**a)),
           lambda: {"seed": 0, "d": _D, "steps": 1, "batch_size": 2, "n_test": 2,
                    "kind_features": True, "lr": 0.01},
           {"seed": "seed", "d": _POSITIVE, "steps": _POSITIVE, "batch_size": _POSITIVE,
            "n_test": _POSITIVE, "kind_features": "flag", "lr": "positive real"}),
    # recall.py
    Target("RecallConfig", lambda **a: RecallConfig(**a), RECALL.to_dict,
           {**{name: _POSITIVE for name in ("items", "distractors", "max_delay", "width",
                                            "train_size", "val_size", "test_per_k", "batch",
                                            "eval_every", "patience", "max_steps")},
            **{name: "positive real" for name in ("lr", "min_improvement", "solved_loss")},
            "sampling": "delay sampling", "seeds": "seeds"}),
    Target("make_sequences", lambda **a: make_sequences(**a),
           lambda: {"count": 3, "config": RECALL, "seed": 0},
           {"count": _POSITIVE, "config": "recall config", "seed": "seed"}),
    Target("answers", lambda **a: answers(**a),
           lambda: {"sequences": _sequences(), "config": RECALL},
           {"sequences": "recall sequences", "config": "recall config"}),
    Target("delays", lambda **a: delays(**a),
           lambda: {"sequences": _sequences(), "config": RECALL},
           {"sequences": "recall sequences", "config": "recall config"}),
    Target("held_out_sequences", lambda **a: held_out_sequences(**a),
           lambda: {"config": RECALL}, {"config": "recall config"}),
    Target("parameter_count", lambda **a: parameter_count(**a),
           lambda: {"model": _model("lstm", RECALL, 0)}, {"model": "torch module"}),
    Target("make_model", _keeping_rng(lambda **a: make_model(**a)),
           lambda: {"name": "attention", "config": RECALL, "seed": 0},
           {"name": "model name", "config": "recall config", "seed": "seed"}),
    Target("RecurrentRecall", _keeping_rng(lambda **a: RecurrentRecall(**a)),
           lambda: {"cell": "lstm", "config": RECALL, "hidden": 3},
           {"cell": "cell name", "config": "recall config", "hidden": _POSITIVE}),
    Target("AttentionRecall", _keeping_rng(lambda **a: AttentionRecall(**a)),
           lambda: {"config": RECALL}, {"config": "recall config"}),
    *[Target(f"{name} forward", lambda module, sequences: module(sequences),
             _recall_forward_valid(name),
             {"sequences": "token id rows", **_recall_weight_roles(name)})
      for name in ("elman", "lstm", "attention")],
    Target("train", lambda **a: train(**a),
           lambda: {"model": _model("elman", RECALL, 0), "config": RECALL, "seed": 0,
                    "max_steps": 1},
           {"model": "recall model", "config": "recall config", "seed": "seed",
            "max_steps": "optional positive int"}),
    Target("accuracy_by_k", lambda **a: accuracy_by_k(**a),
           lambda: {"model": _model("lstm", RECALL, 0), "sequences": _sequences()},
           {"model": "recall model", "sequences": "recall sequences"}),
    Target("sensitivity_by_k", lambda **a: sensitivity_by_k(**a),
           lambda: {"model": _model("attention", RECALL, 0), "sequences": _sequences(),
                    "seed": 0},
           {"model": "recall model", "sequences": "recall sequences", "seed": "seed"}),
    Target("run", _keeping_rng(lambda **a: run(**a)),
           lambda: {"config": RECALL, "models": ("attention",)},
           {"config": "recall config", "models": "model names"}),
    Target("epoch_seconds", _keeping_rng(lambda **a: epoch_seconds(**a)),
           lambda: {"config": RECALL, "threads": 1, "timed": 1, "models": ("elman",),
                    "seed": 0},
           {"config": "recall config", "threads": _POSITIVE, "timed": _POSITIVE,
            "models": "model names", "seed": "seed"}),
    # forgetting.py
    Target("attention_jacobian_norms", lambda **a: attention_jacobian_norms(**a),
           lambda: {"forward": _attention_forward(), "x": _randn(5, 3, seed=1)},
           # x is the only tensor argument: any dtype or device is forward's business.
           {"forward": "function", "x": "lone tensor"}),
    Target("rnn_jacobian_norms", lambda **a: rnn_jacobian_norms(**a),
           lambda: {"x": _randn(5, 3, seed=1), **_rnn_weights()},
           {"x": "float tensor", "w_xh": "float tensor", "w_hh": "float tensor",
            "b_h": "vector tensor"}),
    Target("rnn_sensitivity", lambda **a: rnn_sensitivity(**a),
           lambda: {"n": 4, "d": 3, "recurrent_scale": 1.0, "seed": 0, "n_sequences": 2},
           {"n": _POSITIVE, "d": _POSITIVE, "recurrent_scale": "finite real", "seed": "seed",
            "n_sequences": _POSITIVE}),
    Target("attention_sensitivity", lambda **a: attention_sensitivity(**a),
           lambda: {"n": 4, "d": 3, "seed": 0, "n_sequences": 2},
           {"n": _POSITIVE, "d": _POSITIVE, "seed": "seed", "n_sequences": _POSITIVE}),
    # speed.py
    Target("make_forwards", _keeping_rng(lambda **a: make_forwards(**a)),
           lambda: {"d": 4, "seed": 0, "device": "cpu"},
           {"d": _POSITIVE, "seed": "seed", "device": "blocks/device"}),
    Target("critical_path", lambda **a: critical_path(**a), lambda: {"output": _graph_output()},
           {"output": "graph output"}),
    Target("measure_forwards", _keeping_rng(lambda **a: measure_forwards(**a)),
           lambda: {"lengths": [2], "d": 2, "thread_counts": [1], "seed": 0, "rounds": 1,
                    "slow_rounds": 1, "slow_s": 0.02, "sample_s": 1e-5},
           {"lengths": "positive ints", "d": _POSITIVE, "thread_counts": "positive ints",
            "seed": "seed", "rounds": _POSITIVE, "slow_rounds": _POSITIVE,
            "slow_s": "positive real", "sample_s": "positive real"}),
]


def _prefixed(target: Target) -> Target:
    """The target with this file's own roles under their prefixed names (see ROLES)."""
    return replace(target, roles={argument: f"models/{role}" if role in _ROLES else role
                                  for argument, role in target.roles.items()})


TARGETS = [_prefixed(target) for target in TARGETS]
