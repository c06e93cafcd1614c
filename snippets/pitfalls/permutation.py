"""Attention has no sense of order: shuffle the tokens, the outputs shuffle."""
import numpy as np

rng = np.random.default_rng(0)
n, d = 6, 8  # tokens, features
x = rng.standard_normal((n, d))  # (n, d): one row per token, no positions
w_q, w_k, w_v = rng.standard_normal((3, d, d)) / np.sqrt(d)


def self_attention(x):
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (n, d) each
    scores = q @ k.T / np.sqrt(d)  # (n, n)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ v  # (n, d)


def positions(n, d):
    """Sinusoidal position encodings: a different pattern per position."""
    pos = np.arange(n)[:, None]  # (n, 1)
    freq = 1.0 / 10000 ** (np.arange(0, d, 2) / d)  # (d/2,)
    enc = np.zeros((n, d))
    enc[:, 0::2], enc[:, 1::2] = np.sin(pos * freq), np.cos(pos * freq)
    return enc  # (n, d)


order = rng.permutation(n)  # a shuffled word order
print("shuffle:", order)

same = np.allclose(self_attention(x[order]), self_attention(x)[order])
print("no positions:   shuffled in -> same outputs, shuffled?", same)
assert same  # order is invisible: the model sees a bag of tokens

pe = positions(n, d)
shuffled_in = self_attention(x[order] + pe)
same_with_pe = np.allclose(shuffled_in, self_attention(x + pe)[order])
print("with positions: shuffled in -> same outputs, shuffled?", same_with_pe)
assert not same_with_pe  # adding positions is what makes order matter
