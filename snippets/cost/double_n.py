"""Double the length, time it: the n x n score table grows like n squared."""
import time

import numpy as np

d = 64  # features per token
rng = np.random.default_rng(0)


def attention(q, k, v):
    """Plain attention; also returns the bytes of its score table."""
    scores = q @ k.T / d**0.5  # (n, n): the table that grows with n squared
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ v, scores.nbytes  # (n, d), bytes


def measure(n, repeats=5):
    """Median seconds of one call over n tokens, and the table's bytes."""
    q, k, v = rng.standard_normal((3, n, d)).astype(np.float32)
    attention(q, k, v)  # warm-up, not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, table_bytes = attention(q, k, v)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), table_bytes


print("      n   table MB   multiply-adds   seconds   time x previous")
rows = []
for n in (512, 1024, 2048, 4096):
    seconds, table_bytes = measure(n)
    multiply_adds = 2 * n * n * d  # q @ k.T, then weights @ v
    ratio = f"{seconds / rows[-1][1]:9.1f}" if rows else ""
    mb = table_bytes / 2**20
    print(f"{n:7d} {mb:10.0f} {multiply_adds:15,d} {seconds:9.4f}   {ratio}")
    rows.append((table_bytes, seconds))

# Each doubling of n: the score table (and the arithmetic) grows exactly 4x.
pairs = zip(rows, rows[1:])
assert all(later == 4 * earlier for (earlier, _), (later, _) in pairs)
