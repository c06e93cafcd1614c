"""The three glossary terms, each as a few lines of code."""
import numpy as np
import torch

rng = np.random.default_rng(0)

# Attention: score how relevant each position is to this one, then blend.
x = rng.standard_normal((5, 4))  # (n, d): five tokens
scores = x[-1] @ x.T / np.sqrt(4)  # (n,): every token against the last one
weights = np.exp(scores - scores.max())
weights /= weights.sum()  # (n,): positive, sums to 1
blend = weights @ x  # (d,)
print("attention weights of the last token:", np.round(weights, 3))
assert (weights >= 0).all() and np.isclose(weights.sum(), 1.0)

# Transformer: stacked attention layers (each with a feed-forward part),
# and no recurrence anywhere.
layer = torch.nn.TransformerEncoderLayer(
    d_model=16, nhead=2, dim_feedforward=32, batch_first=True
)
model = torch.nn.TransformerEncoder(
    layer, num_layers=3, enable_nested_tensor=False
)
rnns = [m for m in model.modules() if isinstance(m, torch.nn.RNNBase)]
print(f"transformer: {len(model.layers)} attention layers, {len(rnns)} RNNs")
assert not rnns

# Context window: the tokens a model takes in at once. Longer costs more:
# compute has an n * n part, and generating text keeps every token's keys
# and values (a model shaped like Llama 3 8B, fp16).
layers, kv_heads, head, width, ff = 32, 8, 128, 4096, 14336
for n in (1_024, 8_192, 131_072):
    linear = n * (4 * width * width + 4 * width * kv_heads * head)
    linear += n * 6 * width * ff  # the feed-forward layers
    square = 4 * n * n * width  # scores and blend: n * n pairs
    cache_gib = 2 * layers * kv_heads * head * 2 * n / 2**30
    print(f"context window {n:>7,d} tokens: "
          f"{square / (linear + square):4.0%} of compute from n * n, "
          f"key/value cache {cache_gib:5.1f} GiB")
