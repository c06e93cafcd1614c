"""Attention in numpy: score every position, softmax, blend the values."""
import numpy as np
import torch


def attention(q, k, v):
    """q (n_q, d), k (n_k, d), v (n_k, d_v) -> out (n_q, d_v), weights."""
    n_q, d = q.shape  # queries, features
    scores = q @ k.T / np.sqrt(d)  # (n_q, n_k): every key against every query
    scores -= scores.max(axis=1, keepdims=True)  # same softmax, no overflow
    weights = np.exp(scores)
    weights /= weights.sum(axis=1, keepdims=True)  # (n_q, n_k): rows sum to 1
    return weights @ v, weights  # (n_q, d_v): weighted blend of the values


rng = np.random.default_rng(0)
n, d = 4, 8  # tokens, features
q, k, v = rng.standard_normal((3, n, d))
out, weights = attention(q, k, v)

np.set_printoptions(precision=3, suppress=True)
print("weights (row = query, column = key):")
print(weights)
print("row sums:", weights.sum(axis=1))

assert (weights >= 0).all()  # weights are positive...
assert np.allclose(weights.sum(axis=1), 1.0)  # ...and each row sums to 1
low, high = v.min(axis=0) - 1e-12, v.max(axis=0) + 1e-12
assert ((out >= low) & (out <= high)).all()  # a blend stays inside the values

# The same numbers as PyTorch's built-in attention:
q_t, k_t, v_t = (torch.from_numpy(a) for a in (q, k, v))
reference = torch.nn.functional.scaled_dot_product_attention(q_t, k_t, v_t)
gap = np.abs(out - reference.numpy()).max()
print(f"largest difference from torch: {gap:.1e}")
assert gap < 1e-12
