"""Double the length, time it: attention's work grows like n squared."""
import time

import torch

d = 64  # features per token
torch.manual_seed(0)
torch.set_num_threads(1)  # one thread: steadier timings on a busy machine


def attention(q, k, v):
    """Plain attention; also returns the bytes of its score table."""
    scores = q @ k.T / d**0.5  # (n, n): the table that grows with n squared
    weights = torch.softmax(scores, dim=-1)  # (n, n), rows sum to 1
    return weights @ v, scores.nbytes  # (n, d), bytes


def measure(n, repeats=5):
    """Median seconds of one call over n tokens, and the table's bytes."""
    q, k, v = torch.randn(3, n, d)
    attention(q, k, v)  # warm-up, not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, table_bytes = attention(q, k, v)
        times.append(time.perf_counter() - start)
    return sorted(times)[repeats // 2], table_bytes


print(f"d = {d}, {torch.get_num_threads()} torch thread")
print("      n   table MiB            FLOPs   seconds   time x previous")
rows = []
for n in (512, 1024, 2048, 4096):
    seconds, table_bytes = measure(n)
    flops = 4 * n * n * d  # 2 n^2 d for q @ k.T, 2 n^2 d for weights @ v
    ratio = f"{seconds / rows[-1][2]:9.1f}" if rows else ""
    mib = table_bytes / 2**20
    print(f"{n:7d} {mib:11.0f} {flops:16,d} {seconds:9.4f}   {ratio}")
    rows.append((table_bytes, flops, seconds))

# Each doubling of n: the score table and the arithmetic grow exactly 4x.
for (bytes_1, flops_1, _), (bytes_2, flops_2, _) in zip(rows, rows[1:]):
    assert bytes_2 == 4 * bytes_1 and flops_2 == 4 * flops_1
last_ratio = rows[-1][2] / rows[-2][2]
print(f"last doubling: table x4, FLOPs x4, time x{last_ratio:.1f}")
