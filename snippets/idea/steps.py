"""Which inputs does each output depend on? Recurrence vs attention."""
import numpy as np

rng = np.random.default_rng(0)
n, d = 6, 4  # tokens, features
x = rng.standard_normal((n, d))  # (n, d): one row per token
w_xh, w_hh = rng.standard_normal((2, d, d)) / np.sqrt(d)


def rnn(x):
    """Read in order, carry a memory: state t is computed from state t-1."""
    h, states = np.zeros(d), []
    for x_t in x:  # n steps, and each must wait for the one before
        h = np.tanh(x_t @ w_xh + h @ w_hh)
        states.append(h)
    return np.stack(states)  # (n, d)


def attention(x):
    """Every position scores every position in one matrix product."""
    scores = x @ x.T / np.sqrt(d)  # (n, n): all pairs at once
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ x  # (n, d)


def depends(model):
    """depends[t, s] is True when nudging input s changes output t."""
    base = model(x)
    table = np.zeros((n, n), dtype=bool)
    for s in range(n):
        nudged = x.copy()
        nudged[s] += 1e-3
        table[:, s] = np.abs(model(nudged) - base).max(axis=1) > 0
    return table


for name, model in [("RNN", rnn), ("attention", attention)]:
    print(f"{name}: output t (row) depends on input s (column)?")
    for row in depends(model):
        print("   " + " ".join("x" if hit else "." for hit in row))

past_only = np.tril(np.ones((n, n), dtype=bool))
assert (depends(rnn) == past_only).all()  # the past only, in order
assert depends(attention).all()  # everyone sees everyone
# From the first token to the last: n - 1 hand-offs in order, or one look.
print(f"hand-offs from first to last token: RNN {n - 1}, attention 1")
