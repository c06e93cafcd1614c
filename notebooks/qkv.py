# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Queries, keys and values from scratch
#
# This notebook builds one attention step by hand for a five-word sentence: projections to
# queries, keys and values, the score table, the scaling, the softmax, the blend and the masks,
# printing the shape of every intermediate. It deepens
# [score, weigh, blend](../attention.md#score-weigh-blend) on the attention page, measures why
# the scores are divided by √d, and ends by checking the hand-built result against the
# library and against PyTorch. Runs with numpy, torch and matplotlib plus `attnsheet`, this
# site's small library (`pip install attnsheet-0.1.0-py3-none-any.whl`, the wheel this site
# offers under [run it yourself](../index.md#run-it-yourself)).

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from attnsheet.attention import attention_torch
from attnsheet.transformer import causal_mask

torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)
plt.rcParams["figure.dpi"] = 100
plt.rcParams["font.size"] = 11

# %% [markdown]
# ## A tiny sentence
#
# Five tokens, each represented by a vector of `d_model = 8` numbers. In a trained model these
# vectors come from an embedding table; here they are random, which is enough to follow the
# mechanics (the numbers mean nothing, the shapes and the rules do).

# %%
tokens = ["the", "cat", "sat", "on", "mats"]
n, d_model = len(tokens), 8  # tokens, features per token

generator = torch.Generator().manual_seed(0)
# (n, d_model): one row per token
X = torch.randn(n, d_model, generator=generator)
print("X:", tuple(X.shape), "= (tokens, d_model)")

# %% [markdown]
# ## Three projections
#
# Each token's vector is multiplied by three matrices. In a trained model these are learned;
# here they are random, scaled by 1/√d_model so the projected vectors keep entries of about
# unit size.
#
# - the **query** `Q = X W_q` says what each token is looking for;
# - the **key** `K = X W_k` says what each token offers to be found by;
# - the **value** `V = X W_v` is what each token hands over when it is chosen.
#
# Queries and keys must have the same width `d_k`, since they are compared by dot products.
# The values can have any width `d_v`; here it differs, so the shapes below show which is
# which.

# %%
d_k, d_v = 4, 6  # query/key width, value width

# (d_model, d_k), (d_model, d_k), (d_model, d_v)
W_q = torch.randn(d_model, d_k, generator=generator) / math.sqrt(d_model)
W_k = torch.randn(d_model, d_k, generator=generator) / math.sqrt(d_model)
W_v = torch.randn(d_model, d_v, generator=generator) / math.sqrt(d_model)

Q = X @ W_q  # (n, d_k)
K = X @ W_k  # (n, d_k)
V = X @ W_v  # (n, d_v)
print("Q:", tuple(Q.shape), "= (tokens, d_k)")
print("K:", tuple(K.shape), "= (tokens, d_k)")
print("V:", tuple(V.shape), "= (tokens, d_v)")

# %% [markdown]
# ## Score every pair
#
# Row i of the score table holds the dot products of token i's query with every token's key:
# one matrix product `Q Kᵀ` fills the whole table at once (the point of
# [all at once](../attention.md#all-at-once) on the attention page).

# %%
scores = Q @ K.T  # (n, n): row = query token, column = key token
print("scores:", tuple(scores.shape), "= (query tokens, key tokens)")
print(scores)

# The entry for ("sat" asks, "cat" answers) is one dot product:
i, j = tokens.index("sat"), tokens.index("cat")
print(f"score[sat, cat] = Q[sat] · K[cat] = {float(Q[i] @ K[j]):.3f}")

# %% [markdown]
# ## Scale by √d_k
#
# The scores are divided by √d_k. Why this matters is measured further down; for now it is one
# division that leaves the shape alone.

# %%
scaled = scores / math.sqrt(d_k)  # (n, n)
print("scaled:", tuple(scaled.shape), "= (query tokens, key tokens)")

# %% [markdown]
# ## Weigh: a softmax on every row
#
# Each row becomes a set of weights: `exp(score)` divided by the row's total, so the weights are
# positive and each row sums to 1. Subtracting the row's largest score first changes nothing
# (it cancels in the ratio) but keeps `exp` from overflowing. The result is the kind of table
# drawn in [the weight table](../attention.md#the-weight-table) on the attention page.

# %%
exps = torch.exp(scaled - scaled.max(dim=-1, keepdim=True).values)  # (n, n)
weights = exps / exps.sum(dim=-1, keepdim=True)  # (n, n), rows sum to 1
print("weights:", tuple(weights.shape), "= (query tokens, key tokens)")
print(weights)
print("row sums:", weights.sum(dim=-1))
# same as torch's softmax
torch.testing.assert_close(weights, torch.softmax(scaled, dim=-1))

# %% [markdown]
# ## Blend the values
#
# Token i's output is the weighted average of all the value rows, with row i of the weights:
# `output = weights V`. Its width is the value width `d_v`.

# %%
output = weights @ V  # (n, n) @ (n, d_v) -> (n, d_v)
print("output:", tuple(output.shape), "= (tokens, d_v)")

# Row "sat" of the output, written as the explicit weighted sum of the value
# rows:
by_hand = sum(weights[i, j] * V[j] for j in range(n))  # (d_v,)
torch.testing.assert_close(output[i], by_hand)
print("output[sat]:", output[i])

# %% [markdown]
# ## Why divide by √d: a measurement
#
# If the entries of a query and a key are independent with mean 0 and variance 1, their dot
# product is a sum of d such products: its variance is d, so its typical size grows like √d.
# Fed to a softmax, large scores make the largest one win almost everything. Dividing by √d
# brings the variance back to 1 for every width.
#
# The cell below measures that: for several widths d it draws 2,000 random queries and 32
# random keys each (entries of variance 1), and compares the softmax weights with and without
# the division. It reports the mean of each row's largest weight (1 means all weight on one
# key; 1/32 ≈ 0.031 means spread evenly) and the mean entropy of the rows in bits (log₂ 32 = 5
# bits is perfectly even, 0 is one key).

# %%
n_queries, n_keys = 2000, 32
widths = [4, 16, 64, 256, 1024]


def weight_stats(scores):
    """Mean largest weight and mean entropy (bits) of the softmax rows of
    scores (..., n_keys)."""
    weights = torch.softmax(scores, dim=-1)
    largest = weights.max(dim=-1).values.mean()
    bits = weights * torch.log2(weights.clamp_min(1e-30))
    entropy = -bits.sum(dim=-1).mean()
    return float(largest), float(entropy)


# width -> (mean largest weight, mean entropy)
saturation = {"unscaled": [], "scaled": []}
print(f"{'':>5}  {'score std':^15}  "
      f"{'largest weight':^15}  {'entropy (bits)':^15}")
print(f"{'d':>5}" + f"  {'Q Kᵀ':>7}{'/ √d':>8}" * 3)
for d in widths:
    q = torch.randn(n_queries, d, generator=generator)  # (n_queries, d)
    k = torch.randn(n_keys, d, generator=generator)  # (n_keys, d)
    raw = q @ k.T  # (n_queries, n_keys)
    unscaled = weight_stats(raw)
    scaled_stats = weight_stats(raw / math.sqrt(d))
    saturation["unscaled"].append(unscaled)
    saturation["scaled"].append(scaled_stats)
    std = float(raw.std())
    print(f"{d:>5}  {std:>7.1f}{std / math.sqrt(d):>8.2f}  "
          f"{unscaled[0]:>7.3f}{scaled_stats[0]:>8.3f}  "
          f"{unscaled[1]:>7.2f}{scaled_stats[1]:>8.2f}")

# %%
fig, (ax_max, ax_entropy) = plt.subplots(1, 2, figsize=(9, 3.8))
for label, style in (("unscaled", "o-"), ("scaled", "s-")):
    largest, entropy = zip(*saturation[label])
    name = "Q Kᵀ (unscaled)" if label == "unscaled" else "Q Kᵀ / √d (scaled)"
    ax_max.plot(widths, largest, style, label=name)
    ax_entropy.plot(widths, entropy, style, label=name)
ax_max.axhline(1 / n_keys, color="gray", lw=0.8, ls=":")
ax_max.set(xscale="log", ylim=(0, 1.05), xlabel="feature width d",
           ylabel="mean largest weight in a row",
           title="How much the top key takes")
ax_entropy.axhline(math.log2(n_keys), color="gray", lw=0.8, ls=":")
ax_entropy.set(xscale="log", ylim=(0, 5.3), xlabel="feature width d",
               ylabel="mean row entropy (bits)",
               title="How spread the weights are")
ax_max.legend(loc="center right")
for ax in (ax_max, ax_entropy):
    ax.set_xticks(widths, [str(d) for d in widths])
fig.suptitle("Softmax over 32 random keys, 2,000 random queries per width")
fig.tight_layout()
plt.show()

# The caption's claims, checked on the numbers in the table:
top_raw, bits_raw = zip(*saturation["unscaled"])
top_scaled, bits_scaled = zip(*saturation["scaled"])
assert all(a < b for a, b in zip(top_raw, top_raw[1:])), "top share climbs"
assert all(a > b for a, b in zip(bits_raw, bits_raw[1:])), "entropy falls"
assert top_raw[-1] > 0.9 and bits_raw[-1] < 0.5, "unscaled rows saturate"
assert max(top_scaled) - min(top_scaled) < 0.05, "scaled: top share flat"
assert max(bits_scaled) - min(bits_scaled) < 0.25, "scaled: entropy flat"

# %% [markdown]
# Without the division, the rows saturate as d grows: the top key's share of the weight climbs
# towards 1 and the entropy falls towards 0 bits, so each query effectively picks a single key.
# With the division both curves stay flat, at about the same values for every width. The
# dotted lines mark perfectly even weights. This is a statement about random vectors of unit
# variance, the usual state at the start of training. Why saturation hurts learning is not
# measured here: the softmax's derivative, diag(p) − p pᵀ for weights p, is nearly zero when p
# is nearly one-hot, so the scores receive almost no gradient.

# %% [markdown]
# ## Masks: forbidding some keys
#
# A mask says which keys each query may use. The library follows PyTorch's boolean convention:
# True = may attend. A forbidden score is replaced by -∞ before the softmax, and exp(-∞) = 0,
# so the forbidden weight is exactly 0 and the other weights in the row still sum to 1.
#
# **Causal mask.** A text generator must not look ahead: token i may use tokens 0..i only.

# %%
causal = causal_mask(n)  # (n, n) bool, True on and below the diagonal
print("causal mask:", tuple(causal.shape), "= (query tokens, key tokens)")
print(causal.int())

causal_scores = scaled.masked_fill(~causal, float("-inf"))  # (n, n)
causal_weights = torch.softmax(causal_scores, dim=-1)  # (n, n)
causal_output = causal_weights @ V  # (n, d_v)
print("causal weights:")
print(causal_weights)
assert (causal_weights[~causal] == 0).all()  # exactly zero above the diagonal

# %% [markdown]
# A consequence worth checking: with the causal mask, changing the last token cannot change the
# outputs of the earlier ones.

# %%
X_changed = X.clone()
# a different last word
X_changed[-1] = torch.randn(d_model, generator=generator)
changed_output = attention_torch(
    X_changed @ W_q, X_changed @ W_k, X_changed @ W_v, mask=causal
)  # (n, d_v)
torch.testing.assert_close(changed_output[:-1], causal_output[:-1])
print("largest change in outputs 0..3:",
      f"{float((changed_output[:-1] - causal_output[:-1]).abs().max()):.1e}")
print("largest change in output 4:   ",
      f"{float((changed_output[-1] - causal_output[-1]).abs().max()):.1e}")

# %% [markdown]
# **Padding mask.** Sentences in a batch are padded to a common length with filler tokens that
# must not be attended to. Pretend the last two positions are padding (the vectors stay the
# same, only the mask changes): every query gets the key mask
# `[True, True, True, False, False]`.

# %%
# (n,): which positions are words
is_real = torch.tensor([True, True, True, False, False])
padded_tokens = tokens[:3] + ["<pad>", "<pad>"]
# (n, n): the same key mask for every query
padding = is_real[None, :].expand(n, n)
padded_scores = scaled.masked_fill(~padding, float("-inf"))  # (n, n)
padded_weights = torch.softmax(padded_scores, dim=-1)  # (n, n)
print("padding weights:")
print(padded_weights)
assert (padded_weights[:, ~is_real] == 0).all()  # no weight on the padding
# The padding rows (queries 3 and 4) still get outputs; a model ignores them
# downstream.

# %% [markdown]
# The two masks side by side: rows are the tokens asking, columns the tokens answering. Grey
# cells are forbidden and have weight exactly 0.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), layout="constrained")
panels = (
    (axes[0], causal_weights, causal, tokens,
     "Causal mask: no looking ahead"),
    (axes[1], padded_weights, padding, padded_tokens,
     "Padding mask: last two are pads"),
)
for ax, table, mask, labels, title in panels:
    # NaN cells are drawn in grey below
    shown = table.masked_fill(~mask, float("nan"))
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgray")
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1)
    for row in range(n):
        for col in range(n):
            value = float(table[row, col])
            dark = value > 0.6 or not mask[row, col]
            ax.text(col, row, f"{value:.2f}", ha="center", va="center",
                    fontsize=10, color="black" if dark else "white")
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set(xlabel="key (token answering)", title=title)
axes[0].set_ylabel("query (token asking)")
fig.colorbar(image, ax=axes, fraction=0.03, label="weight")
plt.show()

# The caption's claims (the padding columns are checked above):
assert causal_weights[0, 0] == 1, "the first token keeps all its weight"
assert (causal_weights[causal] > 0).all(), "every allowed key gets weight"
assert (causal_weights[1:].max(dim=-1).values < 0.9).all(), (
    "a later row puts nearly all its weight on one token")

# %% [markdown]
# In the causal table the first token puts all its weight on itself, the only key it may use,
# and each later row spreads its weight over all the tokens up to itself. In the padding table
# the two last columns are zero in every row. The weights themselves come from random vectors
# and carry no meaning.

# %% [markdown]
# ## The same numbers from the library and from PyTorch
#
# Everything above, in one call: `attnsheet.attention.attention_torch` (the function behind the
# site's pages) and PyTorch's `scaled_dot_product_attention`. If the hand-built steps and these
# functions ever disagree, the assertions stop this notebook.

# %%
# (n, d_v), (n, n)
library_output, library_weights = attention_torch(Q, K, V, return_weights=True)
torch.testing.assert_close(library_output, output)
torch.testing.assert_close(library_weights, weights)

torch_output = F.scaled_dot_product_attention(Q, K, V)  # (n, d_v)
torch.testing.assert_close(torch_output, output)

# With masks: the boolean convention is the same (True = may attend).
torch.testing.assert_close(attention_torch(Q, K, V, mask=causal),
                           causal_output)
torch.testing.assert_close(
    F.scaled_dot_product_attention(Q, K, V, is_causal=True), causal_output)
torch.testing.assert_close(
    F.scaled_dot_product_attention(Q, K, V, attn_mask=padding),
    padded_weights @ V)
print("hand-built == attnsheet.attention.attention_torch"
      " == F.scaled_dot_product_attention")
torch_gap = float((torch_output - output).abs().max())
print("largest gap to torch:", f"{torch_gap:.1e}")
