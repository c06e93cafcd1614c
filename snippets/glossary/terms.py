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

# Context window: the score table holds n * n numbers per head,
# so the number of tokens n cannot grow freely.
for n in (1_024, 8_192, 131_072):
    table_mib = n * n * 2 / 2**20  # one fp16 score per (query, key) pair
    print(f"context window {n:>7,d} tokens: {table_mib:>7,.0f} MiB per head")
