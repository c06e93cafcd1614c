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
# # Positions: sinusoidal encodings and rotary embeddings
#
# Attention on its own cannot see word order. This notebook shows that, then gives order back
# two ways: by adding sinusoidal position encodings to the token vectors, and by rotating the
# queries and keys (rotary embeddings). It measures what each does to the attention scores,
# in particular whether a score depends on where two tokens are or only on how far apart they
# are. It deepens the pitfall
# [transformers read left to right](../pitfalls.md#order-is-not-built-in). Runs with numpy,
# torch and matplotlib plus `attnsheet`, this site's small library
# (`pip install attnsheet-0.1.0-py3-none-any.whl`, the wheel this site offers under
# [run it yourself](../index.md#run-it-yourself)).

# %%
import math

import matplotlib.pyplot as plt
import torch

from attnsheet.attention import attention_torch
from attnsheet.rotary import apply_rotary, rotary_angles
from attnsheet.transformer import causal_mask, sinusoidal_positions

torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)
plt.rcParams["figure.dpi"] = 100
plt.rcParams["font.size"] = 11

generator = torch.Generator().manual_seed(0)
d_model = 32  # features per token throughout
# (d_model, d_model) each: one random attention head
W_q, W_k, W_v = (
    torch.randn(d_model, d_model, generator=generator) / math.sqrt(d_model)
    for _ in range(3))


def self_attention(x, mask=None):
    """One head of self-attention over x (n, d_model), through the library."""
    # (n, d_model)
    return attention_torch(x @ W_q, x @ W_k, x @ W_v, mask=mask)


# %% [markdown]
# ## Without positions, order is invisible
#
# Shuffle the tokens and the outputs come out shuffled the same way, with the same values:
# each output depends on the *set* of other tokens, not on where they stand. (In the terms of
# the maths, self-attention is permutation-equivariant.)

# %%
n = 6
# (n, d_model): six tokens, no positions
x = torch.randn(n, d_model, generator=generator)
order = torch.randperm(n, generator=generator)  # a shuffled word order
print("shuffle:", order.tolist())

shuffled_then_attended = self_attention(x[order])  # (n, d_model)
attended_then_shuffled = self_attention(x)[order]  # (n, d_model)
torch.testing.assert_close(shuffled_then_attended, attended_then_shuffled)
gap = float((shuffled_then_attended - attended_then_shuffled).abs().max())
print("no positions: largest difference after shuffling = "
      f"{gap:.1e} (rounding only)")

# A causal mask is a statement about order, so it breaks the symmetry:
mask = causal_mask(n)  # (n, n)
gap = float((self_attention(x[order], mask)
             - self_attention(x, mask)[order]).abs().max())
print(f"causal mask:  largest difference after shuffling = {gap:.2f}")
assert gap > 0.1, "the causal mask did not make the order matter"

# %% [markdown]
# The mask is itself a statement about order: a text generator reads left to right only
# [because it is told to](../pitfalls.md#left-to-right-is-a-choice). An encoder without a mask
# needs the order put into its vectors.

# %% [markdown]
# ## Sinusoidal encodings
#
# The original transformer adds to each token vector a position vector made of sines and
# cosines: feature 2i at position p is sin(p·ωᵢ) and feature 2i+1 is cos(p·ωᵢ), with
# frequencies ωᵢ = 10000^(−2i/d) falling from 1 radian per position to nearly 0. The library
# computes them with `sinusoidal_positions`.

# %%
n_positions = 64
P = sinusoidal_positions(n_positions, d_model)  # (n_positions, d_model)
print("P:", tuple(P.shape), "= (positions, d_model)")
print("first 3 positions, first 6 features:")
print(P[:3, :6])

# The dot product between two positions' encodings: is it a function of the
# offset only?
similarity = P @ P.T  # (n_positions, n_positions)
# j - i
offsets = (torch.arange(n_positions)[None, :]
           - torch.arange(n_positions)[:, None])


def spread_per_offset(table, offsets):
    """Largest (max - min) among the entries of `table` that share the same
    offset."""
    return max(float(table[offsets == k].max() - table[offsets == k].min())
               for k in offsets.unique())


print(f"P·P: largest spread among pairs with the same offset = "
      f"{spread_per_offset(similarity, offsets):.1e}")

# %%
fig, (ax_code, ax_dot) = plt.subplots(
    1, 2, figsize=(9.5, 4), layout="constrained", width_ratios=(1, 1.25))
image = ax_code.imshow(P, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
ax_code.set(xlabel="feature (2i = sin, 2i+1 = cos)", ylabel="position",
            title="Sinusoidal encodings (64 × 32)")
fig.colorbar(image, ax=ax_code, label="value")
for i, color in zip((0, 20, 40), ("tab:blue", "tab:orange", "tab:green")):
    ax_dot.plot(torch.arange(n_positions), similarity[i], color=color,
                label=f"position {i}")
    ax_dot.axvline(i, color=color, lw=0.8, ls=":")
ax_dot.set(xlabel="other position j", ylabel="dot product P[i] · P[j]",
           title="Similarity of a position to the others")
ax_dot.set_ylim(top=similarity.max() * 1.18)  # headroom for the legend
ax_dot.legend(loc="upper center", ncol=3, fontsize=10)
plt.show()

# The caption's claims, checked on P and on the dot products:
step = P.diff(dim=0).abs().mean(dim=0)  # (d_model,): mean change per row
assert step[0] > 0.5 and step[-1] < 0.01, "first fast, last slow: not so"
distances_between = torch.cdist(P, P) + torch.eye(n_positions)
assert distances_between.min() > 0.1, "two positions share a code"
assert (similarity.argmax(dim=-1) == torch.arange(n_positions)).all(), (
    "a position's dot product does not peak at itself")
assert spread_per_offset(similarity, offsets) < 1e-4, "not offset-only"
assert (similarity[0].diff() > 0).any(), "falls steadily with distance"

# %% [markdown]
# Every position gets its own pattern of stripes, and the dot product of two positions' codes
# peaks when they are the same and otherwise depends only on how far apart they are. On the
# left, each row is one position's code: the first features (fast frequencies) alternate
# quickly down the rows, the last ones barely change, so no two rows are alike. On the right,
# the curves around positions 0, 20 and 40 peak at the position itself and have the same
# shape, only shifted. The printed spread confirms it: P[i]·P[j] depends only on j − i,
# because sin(a)sin(b) + cos(a)cos(b) = cos(a − b).
# It is also symmetric, so the dot product alone cannot tell "3 before" from "3 after", and it
# does not fall steadily with distance.

# %% [markdown]
# ## What adding them does to the scores
#
# Put the same word at every position of an 8-token input. Without positions, every key is the
# same vector, so every score is the same and the weights are exactly even: the model cannot
# tell the copies apart. With the encodings added, the copies differ and the weights do too.

# %%
n_copies = 8
# (8, d_model)
word = torch.randn(1, d_model, generator=generator).expand(n_copies, d_model)
word_with_positions = word + sinusoidal_positions(n_copies, d_model)
row_3 = {}  # name -> (8,): the weights of the query at position 3
for name, tokens in (("without positions", word),
                     ("with positions   ", word_with_positions)):
    _, weights = attention_torch(tokens @ W_q, tokens @ W_k, tokens @ W_v,
                                 return_weights=True)  # weights (8, 8)
    row_3[name.strip()] = weights[3]
    print(f"{name}: weights of the query at position 3 = {weights[3]}")
even = torch.full((n_copies,), 1 / n_copies)
assert torch.allclose(row_3["without positions"], even), "not even"
assert not torch.allclose(row_3["with positions"], even, atol=0.01), (
    "with positions the weights are still even")

# And the shuffle test now fails, as it should: order changes the result.
x_with_positions = x + sinusoidal_positions(n, d_model)  # (n, d_model)
gap = float((self_attention(x[order] + sinusoidal_positions(n, d_model))
             - self_attention(x_with_positions)[order]).abs().max())
print(f"\nwith positions, shuffle test: largest difference = {gap:.2f}")
assert gap > 0.1, "with positions, shuffling still changes nothing"

# %% [markdown]
# Adding a position vector mixes "which word" and "where" in one vector. The score between a
# query at position m and a key at position n then has four parts, from
# ((x_m + p_m) W_q) · ((x_n + p_n) W_k): word–word, word–position, position–word and
# position–position. Only the last one can be a pure function of the offset m − n, and only if
# the learned matrices happen to preserve the sine–cosine structure. In general the score
# depends on the absolute positions. Rotary embeddings are built to avoid that.

# %% [markdown]
# ## Rotary embeddings: rotate instead of add
#
# Rotary embeddings leave the token vectors alone. After the projections, they take the query
# and key features in pairs (2i, 2i+1) and rotate each pair by the angle p·ωᵢ, with the same
# frequencies as the sinusoidal encodings. A rotation by angle a on the query and by angle b on
# the key leaves a dot product that only sees a − b, so the score sees only m − n.
# Values are not rotated.
#
# With 2 features there is a single pair turning by 1 radian per position; here it is by hand,
# as a 2 × 2 rotation matrix, against the library's `apply_rotary`.

# %%
# (2, 2): turns a row vector by `angle` radians, as v @ rotation(angle)
def rotation(angle):
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, s], [-s, c]])


v2 = torch.tensor([[1.0, 0.5]])  # (1, 2): one query, two features
for position in (0, 1, 2):
    by_hand = v2 @ rotation(position * 1.0)  # (1, 2)
    by_library = apply_rotary(v2, torch.tensor([position]))  # (1, 2)
    torch.testing.assert_close(by_library, by_hand)
    length = float(by_library.norm())
    print(f"position {position}: {by_library[0]}  (length {length:.3f})")
    assert math.isclose(length, float(v2.norm()), rel_tol=1e-6), "length"

print("\nangles per position for d = 32: "
      "first pair, second pair, ..., last pair")
angles = rotary_angles(4, d_model)  # (4, d_model / 2)
print(angles[:, [0, 1, 2, -1]])
# pair i turns by ωᵢ per step: 1 radian for the first pair, then ever slower
assert angles[1, 0] == 1 and (angles[1].diff() < 0).all(), "frequencies"

# %% [markdown]
# The length never changes; only the direction turns. Pair i turns by ωᵢ radians per step:
# 1 for the first pair, ever slower for the later ones.

# %% [markdown]
# ## Same offset, same score?
#
# The decisive measurement. Take one query word and one key word. Put the query word at every
# position m and the key word at every position n, from 0 to 47, and compute all 48 × 48
# scores twice with the same head:
#
# - **added**: q = (x + p_m) W_q, k = (x' + p_n) W_k, with sinusoidal encodings;
# - **rotary**: q = rotate(x W_q, m), k = rotate(x' W_k, n).
#
# If a score depends only on the offset m − n, all pairs with the same offset share one score.

# %%
n_pos = 48
query_word = torch.randn(1, d_model, generator=generator)  # (1, d_model)
key_word = torch.randn(1, d_model, generator=generator)  # (1, d_model)
positions_table = sinusoidal_positions(n_pos, d_model)  # (n_pos, d_model)

# (n_pos, d_model): the query word at each m
q_added = (query_word + positions_table) @ W_q
# (n_pos, d_model): the key word at each n
k_added = (key_word + positions_table) @ W_k
scores_added = q_added @ k_added.T / math.sqrt(d_model)  # (n_pos, n_pos)

# (n_pos, d_model)
q_rotary = apply_rotary((query_word @ W_q).expand(n_pos, d_model))
# (n_pos, d_model)
k_rotary = apply_rotary((key_word @ W_k).expand(n_pos, d_model))
scores_rotary = q_rotary @ k_rotary.T / math.sqrt(d_model)  # (n_pos, n_pos)

# (n_pos, n_pos): m - n
offset_table = torch.arange(n_pos)[:, None] - torch.arange(n_pos)[None, :]
spread_added = spread_per_offset(scores_added, offset_table)
spread_rotary = spread_per_offset(scores_rotary, offset_table)
print(f"score range overall:  added {float(scores_added.min()):+.2f} .. "
      f"{float(scores_added.max()):+.2f},  "
      f"rotary {float(scores_rotary.min()):+.2f} .. "
      f"{float(scores_rotary.max()):+.2f}")
print("largest spread among pairs with the same offset: "
      f"added {spread_added:.2f}, rotary {spread_rotary:.1e}")
assert spread_rotary < 1e-4 < 0.1 < spread_added

# The same check on a whole 5-word sentence, moved along from positions 0..4:
sentence = torch.randn(5, d_model, generator=generator)  # (5, d_model)


def sentence_scores(shift):
    """(5, 5) score tables of the sentence placed at positions
    shift .. shift + 4."""
    where = torch.arange(5) + shift  # (5,)
    # (5, d_model)
    added = sentence + sinusoidal_positions(shift + 5, d_model)[shift:]
    scores_add = (added @ W_q) @ (added @ W_k).T / math.sqrt(d_model)
    scores_rot = (apply_rotary(sentence @ W_q, where)
                  @ apply_rotary(sentence @ W_k, where).T / math.sqrt(d_model))
    return scores_add, scores_rot


added_at_0, rotary_at_0 = sentence_scores(0)
moved = {}  # shift -> (largest change added, largest change rotary)
for shift in (10, 100):
    added_moved, rotary_moved = sentence_scores(shift)
    moved[shift] = (float((added_moved - added_at_0).abs().max()),
                    float((rotary_moved - rotary_at_0).abs().max()))
    print(f"sentence moved by {shift:>3}: largest score change, "
          f"added {moved[shift][0]:.2f}, rotary {moved[shift][1]:.1e}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.5, 4), sharey=True,
                         layout="constrained")
flat_offsets = offset_table.flatten()
for ax, scores, title in (
        (axes[0], scores_added, "Added sinusoidal encodings"),
        (axes[1], scores_rotary, "Rotary embeddings")):
    ax.scatter(flat_offsets, scores.flatten(), s=8, alpha=0.35,
               color="tab:blue", linewidths=0)
    ax.set(xlabel="offset m − n (query position − key position)", title=title)
axes[0].set_ylabel("score q · k / √d")
fig.suptitle("One query word and one key word at every pair of positions "
             "0..47 (2,304 scores)")
plt.show()

# The caption's claims (the spreads per offset are checked above):
assert all(rotary < 1e-4 < 0.1 < added for added, rotary in moved.values()), (
    "moving the sentence: rotary scores changed or added ones did not")
# score at offset +k is scores_rotary[k, 0], at -k scores_rotary[0, k]
asymmetry = (scores_rotary[1:, 0] - scores_rotary[0, 1:]).abs()  # (n_pos-1,)
assert asymmetry.max() > 0.1, "the rotary scores are symmetric in the offset"

# %% [markdown]
# With rotary embeddings all pairs of positions at the same offset get the same score, while
# with added sinusoidal encodings one offset gives a whole band of different scores. Each dot
# is one (m, n) pair. With rotary embeddings, the dots of one offset fall on top of each other:
# the score is a function of m − n (the spread printed above is rounding error), and moving a
# whole sentence along leaves every score unchanged. With added encodings, the band comes from
# the word–position terms, which depend on where the words are. That is the exact sense in
# which rotary embeddings are "relative": the property holds for any weights, whereas with
# added encodings a model would have to learn it, if at all. Unlike the plain sinusoidal dot
# product, the rotary curve is not symmetric: an offset +k and its mirror −k generally give
# different scores.

# %% [markdown]
# ## Does the score fall with distance?
#
# Rotary embeddings are often said to make attention fade with distance. Measured: for 2,000
# random vectors u (64 features), the score between u rotated to position Δ and u at position
# 0, averaged and divided by the average score at Δ = 0; and the same for 2,000 pairs of
# unrelated vectors. For a vector against itself the average has a closed form, the mean over
# the pairs of cos(Δ·ωᵢ), drawn as a line at every whole distance.

# %%
d_wide, n_samples = 64, 2000
distances = torch.tensor([1, 2, 3, 5, 8, 12, 20, 32, 50, 80, 128, 200, 320,
                          500, 800, 1280, 2000, 3200, 5000])
# (samples, 1, d): one vector each
u = torch.randn(n_samples, 1, d_wide, generator=generator)
# (samples, 1, d): unrelated partner
w = torch.randn(n_samples, 1, d_wide, generator=generator)
# (samples, 1, d): position 0 is no rotation
at_zero = apply_rotary(u, torch.zeros(1))
norm_at_zero = (u**2).sum(-1).mean()  # the average score at Δ = 0


def mean_score(query, key_at_zero):
    """Mean over samples of rotate(query, Δ) · key, for every Δ in
    `distances`."""
    # (samples, Δ, d)
    rotated = apply_rotary(query.expand(-1, len(distances), -1), distances)
    return (rotated * key_at_zero).sum(-1).mean(0)  # (Δ,)


self_score = mean_score(u, at_zero) / norm_at_zero  # (Δ,), 1 at Δ = 0
unrelated_score = mean_score(w, at_zero) / norm_at_zero  # (Δ,)
every_distance = torch.arange(1, 5001)  # (5000,)
# (d/2,): angle per step, ωᵢ
frequencies = rotary_angles(2, d_wide, dtype=torch.float64)[1]
# (5000,)
closed_form = torch.cos(every_distance[:, None] * frequencies).mean(-1)
gap = float((self_score.double() - closed_form[distances - 1]).abs().max())
print(f"measured mean vs closed form, largest gap: {gap:.3f}")

fig, ax = plt.subplots(figsize=(8.5, 4))
ax.plot(every_distance, closed_form, color="tab:blue", lw=0.6, alpha=0.6,
        label="same vector: mean of cos(Δ·ωᵢ), every Δ")
ax.plot(distances, self_score, "o", color="tab:blue",
        label="same vector, measured")
ax.plot(distances, unrelated_score, "s", color="tab:orange",
        label="unrelated vectors, measured")
ax.axhline(0, color="gray", lw=0.8)
ax.set(xscale="log", xlabel="distance Δ between query and key (positions)",
       ylabel="mean score ÷ mean score at Δ = 0",
       title="Rotary embeddings, d = 64: a matching score against distance")
ax.legend(fontsize=10, loc="upper right")
plt.show()
shown = [0, 4, 7, 10, 13, 16, 18]  # a few of the measured distances
print("distance:      ", distances[shown].tolist())
print("same vector:   ", self_score[shown])
print("unrelated pair:", unrelated_score[shown])
# The trend under the swings: the closed form averaged over each decade of Δ
decades = [(1, 10), (10, 100), (100, 1000), (1000, 5000)]
decade_means = [float(closed_form[a - 1:b].mean()) for a, b in decades]
print("same vector, mean over Δ = 1-10, 10-100, 100-1000, 1000-5000:",
      [round(m, 2) for m in decade_means])

# The caption's claims:
assert gap < 0.02, "the measured points are off the closed-form line"
assert all(a > b for a, b in zip(decade_means, decade_means[1:])), (
    "the average score does not fall with distance")
assert float(closed_form[128:1000].max()) > float(closed_form[127]) + 0.1, (
    "no swing: the curve does not climb back above its value at Δ = 128")
first_negative = int((closed_form < 0).nonzero()[0])  # index, Δ - 1
assert first_negative >= 128 and (closed_form[first_negative:] > 0).any(), (
    "the curve does not cross zero both ways at long distances")
assert float(unrelated_score.abs().max()) < 0.02, "unrelated: not zero"

# %% [markdown]
# For a vector matched with itself the average rotary score falls with distance, but with large
# swings that take it back up in places and, far out, across zero both ways; for unrelated
# vectors it stays at zero. The measured points sit on the closed-form line (largest gap
# printed above). The table printed below the figure gives the values at a few distances, and
# its last line the averages over each decade of distance, which fall from one decade to the
# next. The fall is not smooth, though: past 128 positions the curve climbs back above its
# value there, and at long distances it crosses zero, downwards and upwards. So the fading is a
# trend in the average for well-matched queries and keys, with large swings on top, not a rule
# that every score obeys; and it is a property of the untrained rotation, which a trained model
# can work with or against.
