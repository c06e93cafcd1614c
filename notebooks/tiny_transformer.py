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
# # A tiny transformer, trained here
#
# This page builds a very small language model that reads and writes one character at a
# time, trains it briefly on text that ships with Python, and lets it write. Then it times
# text generation twice: once recomputing everything at every step, once with a key/value
# cache that remembers the work already done. Runs with numpy, torch and matplotlib plus
# `attnsheet`, this site's small library (`pip install attnsheet-0.1.0-py3-none-any.whl`,
# the wheel this site offers under [run it yourself](../index.md#run-it-yourself)).

# %%
import argparse
import codecs
import collections
import contextlib
import io
import json
import math
import os
import platform
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from attnsheet.tinylm import CharVocab, TinyLM, train
from attnsheet.transformer import causal_mask

plt.rcParams["figure.dpi"] = 100
plt.rcParams["font.size"] = 11
# One thread for torch throughout. This page is built on a small machine
# (2 cores) shared with other work; there, two threads competing for the
# cores made these small computations slower and far more erratic than one.
# The timings at the end need steady numbers most.
torch.set_num_threads(1)

# %% [markdown]
# ## The text and its characters
#
# The model needs some text to learn from. Python carries a little inside itself: the Zen
# of Python (what `import this` prints) and the documentation at the top of its standard
# modules. These texts change slightly between Python versions, so the counts below and
# everything learned from them can differ a little with another version of Python.
#
# Each distinct character gets a number, its id. The model only ever sees these ids.

# %%
# `import this` prints the Zen; keep it quiet
with contextlib.redirect_stdout(io.StringIO()):
    import this
# the module stores the Zen scrambled (rot13)
zen = codecs.decode(this.s, "rot13")
text = "\n\n".join([zen, json.__doc__, collections.__doc__, argparse.__doc__])

vocab = CharVocab(text)
ids = vocab.encode(text)  # (n_chars,) one id per character
print(f"Python {platform.python_version()}: {len(text)} characters, "
      f"{len(vocab)} distinct ones (the vocabulary)")
print("vocabulary:", repr("".join(vocab.chars)))
print("first 60 characters as ids:", ids[:60].tolist())

# %% [markdown]
# ## The model, and why it cannot peek ahead
#
# The model is a stack of the [transformer layers](../transformer.md#one-layer) this site
# describes: each character's id becomes a vector, a position signal is added, two layers of
# attention and feed-forward work on all positions at once, and a final linear layer scores
# every character of the vocabulary as the next one.
#
# To learn to predict the next character, a position must not see the characters after it,
# or it could just copy the answer. A causal mask forbids that: row i says which positions
# i may look at (1 = allowed). Nothing in attention itself reads
# [left to right](../pitfalls.md#left-to-right-is-a-choice); the mask makes it so.

# %%
word = "Simple"
mask = causal_mask(len(word))  # (6, 6) bool, True = may attend
print("      " + " ".join(word))
for char, row in zip(word, mask.int().tolist()):
    print(f"  {char} | " + " ".join(map(str, row)))

# %%
torch.manual_seed(0)  # the starting weights are random: fix them
model = TinyLM(len(vocab), max_len=192, d_model=64, n_heads=4, n_layers=2,
               d_ff=128)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters, "
      f"context of at most {model.max_len} characters")

# The check: change one character and see which positions' outputs move.
sample = ids[:40]  # (40,)
changed_at = 25
altered = sample.clone()
# a different character there
altered[changed_at] = (altered[changed_at] + 1) % len(vocab)
with torch.no_grad():
    # each (40, vocab_size)
    logits, logits_altered = model(sample), model(altered)
# (40,) largest change per position
change = (logits - logits_altered).abs().amax(dim=-1)
print(f"largest change before position {changed_at}: "
      f"{change[:changed_at].max().item():.3g}")
print(f"smallest change from position {changed_at} on: "
      f"{change[changed_at:].min().item():.3g}")
assert change[:changed_at].max().item() == 0.0, (
    "an earlier position saw a later character")
assert change[changed_at:].min().item() > 0.0

# %% [markdown]
# The outputs before the changed character did not move at all; every output from it
# onwards did. This holds before any training: it comes from the mask, not from learning.
#
# ## A short training run
#
# Training shows the model random stretches of 64 characters and nudges its weights so
# that, at every position, the true next character gets a higher score. The loss is the
# average of −ln(probability the model gave to the true next character). A model that
# guesses uniformly among all characters scores ln(vocabulary size); anything below that
# has learned something. The last tenth of the text is kept aside to check the model on
# characters it never trained on. The time the training took on this run is printed with
# the losses.

# %%
split = int(0.9 * len(ids))
train_ids, held_out_ids = ids[:split], ids[split:]  # (n_train,), (n_held_out,)
context = 64

start = time.perf_counter()
losses = train(model, train_ids, steps=200, batch=8, context=context,
               lr=1e-2, seed=0)
train_seconds = time.perf_counter() - start

uniform_loss = math.log(len(vocab))
for step in range(0, len(losses), 25):
    print(f"step {step:3d}: loss {losses[step]:.2f}")
print(f"step {len(losses) - 1:3d}: loss {losses[-1]:.2f}   "
      f"({train_seconds:.1f} s of training)")
print(f"guessing uniformly: ln({len(vocab)}) = {uniform_loss:.2f}")

# Held-out text, cut into consecutive windows of `context` characters.
n_windows = (len(held_out_ids) - 1) // context
# (windows, context)
inputs = held_out_ids[: n_windows * context].reshape(n_windows, context)
targets = held_out_ids[1 : n_windows * context + 1].reshape(n_windows, context)
with torch.no_grad():
    held_out_logits = model(inputs)  # (windows, context, vocab_size)
held_out_loss = torch.nn.functional.cross_entropy(
    held_out_logits.reshape(-1, len(vocab)), targets.reshape(-1)).item()
print(f"held-out text ({n_windows * context} characters never trained on): "
      f"loss {held_out_loss:.2f}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(losses, color="tab:blue", linewidth=1,
        label="training loss (one batch per step)")
ax.axhline(uniform_loss, color="gray", linestyle="--",
           label="guessing uniformly: ln(vocabulary)")
ax.axhline(held_out_loss, color="tab:orange", linestyle=":", linewidth=2,
           label="held-out text, after training")
ax.set_xlabel("training step")
ax.set_ylabel("loss (nats per character)")
ax.set_title("The tiny model's loss while it trains")
# room for the legend above the lines
ax.set_ylim(top=max(losses[0], uniform_loss) + 1.5)
ax.legend(fontsize=10, loc="upper right")
plt.tight_layout()
plt.show()

# The caption's claims: it starts near the uniform line, ends well below it.
assert abs(losses[0] - uniform_loss) < 0.5, "did not start near uniform"
assert max(losses[len(losses) // 2:]) < uniform_loss, (
    "the loss did not fall below the uniform line")

# %% [markdown]
# The loss starts near the uniform-guessing line and falls below it as training goes on;
# each step's loss is from a different random batch, hence the wiggles. The dotted line is
# the loss on the held-out text after training: where it sits above the end of the training
# curve, part of what the model learned holds only for the text it trained on. The printed
# numbers above say how far each one got on this run.
#
# ## Letting it write
#
# To write, the model scores every character as the next one, one is picked, appended, and
# the model runs again on the longer text. Here the pick is random, weighted by the model's
# probabilities (sharpened a little by a temperature below 1), with a fixed seed so the
# page shows the same text each time it is built on the same machine.

# %%
prompt = "Beautiful is "
# (context,) prompt ids, then the new ones
generated = model.generate(vocab.encode(prompt), n_new=context - len(prompt),
                           use_cache=True, greedy=False,
                           generator=torch.Generator().manual_seed(0),
                           temperature=0.8)
print(vocab.decode(generated))

# %% [markdown]
# The output imitates the look of its training text (words, spacing, punctuation) more than
# its sense: a model this small, trained this briefly on so little text (its length is
# printed at the top), has mostly learned which characters tend to follow which.
#
# ## Generating with and without a key/value cache
#
# Every new character needs one more run of the model. The simple way is to run it on the
# whole text so far, every time. But the layers' results for the earlier positions cannot
# change (the mask stops them from seeing the new character), so most of that work repeats.
# Attention at a position combines the keys and values of all earlier positions
# ([score, weigh, blend](../attention.md#score-weigh-blend)). A key/value cache keeps each
# layer's keys and values from the previous steps, so a step only computes them for the one
# new character, then scores it against everything cached.
#
# Counting the work for a text of n characters:
#
# - without the cache, step t runs the layers on all t positions again, keys and values
#   included, and attention scores t × t pairs. The layers alone add up to about n²/2
#   position-computations over the whole text, and attention to more than that
#   ([the work of attention](../cost.md#the-work) grows with the square of the length);
# - with the cache, step t runs the layers on one position, and only its t scores against
#   the cached keys grow with t. The layers add up to n position-computations, the scores
#   to about n²/2 single products of a query with a key.
#
# Below, both ways write the same greedy text up to the model's full context, each step timed
# on its own. The model was trained on windows of 64 characters, so what it writes past that
# is not meant to be read: only the times and the equality of the two texts matter here.
# Torch still runs on the single thread set at the top: on a small machine shared with
# other work, one thread gives steadier timings than two competing for the cores.

# %%
def generate_timed(prompt_ids, n_new, use_cache):
    """Greedy generation as in TinyLM.generate, with the time each step took.
    """
    # ids: (n,) grows by one per step
    ids, caches, step_seconds = prompt_ids, None, []
    with torch.no_grad():
        for _ in range(n_new):
            start = time.perf_counter()
            if not use_cache:  # the whole text so far, again
                logits = model(ids)[-1]  # (n, vocab_size) -> last row
            elif caches is None:
                # first step: the prompt, once, filling the caches
                logits, caches = model.forward_cached(ids)
                logits = logits[-1]
            else:
                # only the newest character; earlier keys and values come
                # from the caches
                logits, caches = model.forward_cached(ids[-1:], caches)
                logits = logits[-1]
            # the most likely character
            ids = torch.cat([ids, logits.argmax().reshape(1)])
            step_seconds.append(time.perf_counter() - start)
    return ids, np.array(step_seconds)


prompt_ids = vocab.encode(prompt)  # (13,)
n_new = model.max_len - len(prompt)  # fill the context
repeats = 3
# use_cache -> one array of step times per repeat
step_times = {False: [], True: []}
texts = {}
generate_timed(prompt_ids, 10, use_cache=True)  # warm-up, not timed
for _ in range(repeats):
    for use_cache in (False, True):
        out, seconds = generate_timed(prompt_ids, n_new, use_cache)
        step_times[use_cache].append(seconds)
        texts[use_cache] = out

# The same text both ways, and the same as the library's own generate().
assert torch.equal(texts[False], texts[True])
assert torch.equal(texts[True],
                   model.generate(prompt_ids, n_new, use_cache=True))
print(f"same {len(texts[True])} characters with and without the cache: "
      f"{torch.equal(texts[False], texts[True])}")

total = {use_cache: np.median([s.sum() for s in runs])
         for use_cache, runs in step_times.items()}
print(f"{n_new} new characters, median of {repeats} runs on "
      f"{torch.get_num_threads()} thread(s):")
# The machine that measured it: other machines give other numbers.
print(f"  (machine: {platform.machine()}, {os.cpu_count()} cores, "
      f"Python {platform.python_version()}, torch {torch.__version__})")
print(f"  without cache: {total[False] * 1e3:7.1f} ms")
print(f"  with cache:    {total[True] * 1e3:7.1f} ms")
print(f"  the cache made generation {total[False] / total[True]:.1f} "
      "times faster")
step_ranges = (
    (f"just after the prompt (positions {len(prompt) + 1} to "
     f"{len(prompt) + 10})", slice(1, 11)),
    (f"near the end (the last 20, up to {model.max_len})", slice(-20, None)),
)
for where, steps in step_ranges:
    # median over repeats and steps
    per_step = {use_cache: np.median(np.stack(runs)[:, steps])
                for use_cache, runs in step_times.items()}
    print(f"  one step {where}: {per_step[False] * 1e3:.2f} ms without, "
          f"{per_step[True] * 1e3:.2f} ms with the cache")

# %%
# the position each step writes
positions = np.arange(len(prompt), model.max_len)
labels = {False: "without cache (whole text again)",
          True: "with key/value cache"}
colors = {False: "tab:red", True: "tab:green"}
fig, (ax_step, ax_total) = plt.subplots(1, 2, figsize=(8, 3.5))
for use_cache in (False, True):
    runs = np.stack(step_times[use_cache])  # (repeats, n_new) seconds
    ax_step.plot(positions, np.median(runs, axis=0) * 1e3,
                 color=colors[use_cache], linewidth=1,
                 label=labels[use_cache])
    ax_total.plot(positions, np.median(np.cumsum(runs, axis=1), axis=0),
                  color=colors[use_cache], linewidth=1.5,
                  label=labels[use_cache])
ax_step.set_title("Time of each step")
ax_step.set_xlabel("position being written")
ax_step.set_ylabel("milliseconds")
ax_total.set_title("Total time so far")
ax_total.set_xlabel("position being written")
ax_total.set_ylabel("seconds")
ax_step.legend(fontsize=10)
for ax in (ax_step, ax_total):
    ax.set_ylim(bottom=0)
plt.tight_layout()
plt.show()

# %% [markdown]
# On this run, a step without the cache took longer the further along the text it was,
# because it redoes every earlier position, while with the cache the time per step stayed
# low and hardly grew over this range. That is the left panel; the right one adds the same
# steps up: on this run the total without the cache curved upwards, and with it rose almost
# in a straight line. Each point is the median of a few runs, and single steps are short
# enough that the machine's other work shows up as spikes.
#
# ## What was measured, and what was not
#
# - The speed-up printed above is a measurement on this machine for this tiny model, on
#   one thread, not a general figure.
# - On this run it was also smaller than the work saved would suggest, because for a model
#   this small much of a step's time does not depend on how much there is to compute:
#   compare, in the printed times, a step just after the prompt without the cache (a dozen
#   positions) with a cached step (one position). That fixed part is Python and the
#   launching of many small tensor operations (the library's input checks among them), and
#   the cache cannot remove it. In a large model the arithmetic dominates, and saving it
#   counts for more.
# - The cache costs memory: for every layer, a key and a value vector per position, kept
#   for the whole text. That is the price for not recomputing them.
# - The cache changes the work, not the result: the assertion above checks that both ways
#   write exactly the same characters, and the library's tests check that their scores
#   agree to within float rounding.
