"""attnsheet: the code behind an attention-and-transformers cheatsheet.

Small, readable reference implementations, each in numpy and in torch: a stable softmax,
scaled dot-product attention with boolean masks (True = may attend, as in torch's
scaled_dot_product_attention), multi-head self-attention and a minimal Elman RNN for
contrast; in torch only, a compact pre-norm transformer block with a key/value cache for
generating one token at a time, sinusoidal positions, a causal mask, rotary position
embeddings, a tiny character-level language model built from the block, and two cheaper
attentions for long sequences (chunked exact attention with an online softmax, and
sliding-window attention). The tests check them against torch's own implementations, and
every function rejects bad input with a ValueError that names the problem instead of
returning NaN.
"""

import importlib

# Where each public name lives. Importing them lazily (PEP 562) keeps `import attnsheet.evidence`
# free of torch's ~2 s import, so a cached evidence build under `mkdocs serve` stays fast.
_HOME = {
    "attention_np": "attention",
    "attention_torch": "attention",
    "multi_head_attention_np": "attention",
    "multi_head_attention_torch": "attention",
    "softmax_np": "attention",
    "chunked_attention_torch": "efficient",
    "sliding_window_attention_torch": "efficient",
    "elman_rnn_np": "rnn",
    "elman_rnn_torch": "rnn",
    "init_elman_np": "rnn",
    "apply_rotary": "rotary",
    "rotary_angles": "rotary",
    "KVCache": "transformer",
    "TransformerBlock": "transformer",
    "causal_mask": "transformer",
    "parameter_breakdown": "transformer",
    "sinusoidal_positions": "transformer",
    "CharVocab": "tinylm",
    "TinyLM": "tinylm",
    "train": "tinylm",
}

__all__ = [
    "CharVocab",
    "KVCache",
    "TinyLM",
    "TransformerBlock",
    "apply_rotary",
    "attention_np",
    "attention_torch",
    "causal_mask",
    "chunked_attention_torch",
    "elman_rnn_np",
    "elman_rnn_torch",
    "init_elman_np",
    "multi_head_attention_np",
    "multi_head_attention_torch",
    "parameter_breakdown",
    "rotary_angles",
    "sinusoidal_positions",
    "sliding_window_attention_torch",
    "softmax_np",
    "train",
]


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
