"""One matrix product gives the whole score table; a loop gives the same."""
import numpy as np

rng = np.random.default_rng(1)
n, d = 5, 4  # tokens, features
# Small whole numbers keep every product exact, so "equal" can mean exactly.
q = rng.integers(-3, 4, size=(n, d)).astype(float)  # (n, d)
k = rng.integers(-3, 4, size=(n, d)).astype(float)  # (n, d)

all_at_once = q @ k.T  # (n, n): every query against every key, one product

one_by_one = np.zeros((n, n))
for i in range(n):  # query by query...
    for j in range(n):  # ...key by key
        one_by_one[i, j] = sum(q[i, f] * k[j, f] for f in range(d))

print("score table from one matrix product:")
print(all_at_once.astype(int))
same = np.array_equal(all_at_once, one_by_one)
print("identical to the loop, entry for entry:", same)
assert same
print(f"the same {n * n} dot products: 1 call, free to run them in parallel;")
print(f"the loop made {n * n} calls, one after another")
