"""Experiments of the cost page (C1-C4): counts, measurements and tables of attention's cost.

* `flop_check` (C1): the FLOP formula against operations counted by torch's FlopCounterMode;
* `time_sweep` (C1): plain attention's time over n, the fitted exponent, the achieved FLOP/s
  and where the time goes (`time_breakdown`);
* `memory_sweep` (C2): its peak memory over n beside the bytes of the n x n table;
* `context_table` (C3): what a context of n tokens costs two published models, 1k to 1M tokens:
  compute (and its time on an A100), the key/value cache, the avoidable score table;
* `trained_length` (C3): a small model trained at one length, scored past it;
* `chunked_check`, `sliding_window_error`, `side_by_side` (C4): the cheaper variants of
  `attnsheet.efficient`, checked and measured beside plain attention and torch's SDPA.

Each returns plain data (raw seconds, bytes, counts) and echoes the parameters it used; the
renderers in `attnsheet.evidence.render.cost` turn it into figures and prose. The formulas
count a multiply-add as 2 FLOPs, the convention of FlopCounterMode.
"""

from __future__ import annotations

import functools
import math

from ..hardware import A100_MEMORY_BYTES, A100_NAME, A100_TENSOR_FLOPS
from . import measure

HEAD_SIZE = 64  # d of the measured single head: the size of one head in many models
MATMUL_SIZE = 1024  # the reference matrix product: (size x size) @ (size x size)
BYTES_FP32 = 4
BYTES_FP16 = 2

# Published configurations (each release's config.json): Llama 2 7B keeps a key and a value per
# head (multi-head attention; Touvron et al., 2023), Llama 3 8B shares each key/value head
# between 4 query heads (grouped-query attention, Ainslie et al., 2023; Grattafiori et al.,
# 2024). `trained_context`: the sequence length of their pretraining.
LLAMA2_7B = {"name": "Llama 2 7B", "layers": 32, "heads": 32, "kv_heads": 32, "head_size": 128,
             "d_model": 4096, "d_ff": 11008, "trained_context": 4096}
LLAMA3_8B = {"name": "Llama 3 8B", "layers": 32, "heads": 32, "kv_heads": 8, "head_size": 128,
             "d_model": 4096, "d_ff": 14336, "trained_context": 8192}
# The accelerator the compute is priced on: an A100's peak dense matrix-multiply rate in
# fp16/bf16 and its larger memory (attnsheet.hardware).
A100 = {"name": f"{A100_NAME} 80GB", "peak_flops": A100_TENSOR_FLOPS,
        "memory_bytes": A100_MEMORY_BYTES}

METHODS = ("plain", "chunked", "sliding window", "SDPA")


# --- formulas -------------------------------------------------------------------------------


def projection_flops(n: int, d_model: int, kv_width: int | None = None) -> int:
    """x @ w_q and the output projection (n, d) @ (d, d), and x @ w_k, x @ w_v, which are
    (n, d) @ (d, kv_width) (kv_width = d unless key/value heads are shared)."""
    kv_width = d_model if kv_width is None else kv_width
    return 2 * 2 * n * d_model * d_model + 2 * 2 * n * d_model * kv_width


def attention_flops(n: int, d_model: int) -> int:
    """q @ k^T (n x n scores) and weights @ v, summed over heads: the part that grows with n^2."""
    return 2 * (2 * n * n * d_model)


def feed_forward_flops(n: int, d_model: int, d_ff: int) -> int:
    """A gated feed-forward layer: gate, up and down projections, 3 products of n x d x d_ff."""
    return 3 * 2 * n * d_model * d_ff


def table_bytes(n: int, bytes_per_entry: int) -> int:
    """One head's n x n score table."""
    return n * n * bytes_per_entry


# --- shared pieces ----------------------------------------------------------------------------


def plain_attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v in a few torch operations: the library's attention_torch
    without its input checks, so that the time measured is attention's own."""
    import torch

    q = q / math.sqrt(q.shape[-1])  # scaling q, not the scores: n*d numbers instead of n^2
    return torch.softmax(q @ k.mT, dim=-1) @ v


def random_qkv(n: int, d: int = HEAD_SIZE, seed: int = 0):
    """q, k, v of shape (1, 1, n, d) in float32: batch 1, one head, as SDPA expects them."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.randn(3, 1, 1, n, d, generator=generator).unbind(0)


# --- C1: the FLOP formula against counted operations ------------------------------------------


def flop_check(*, d_model: int, heads: int, lengths: list[int]) -> dict:
    """Count the matrix-product FLOPs of the library's multi-head attention with torch's
    FlopCounterMode, beside the formulas, term by term (the claim requires them equal)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..attention import multi_head_attention_torch

    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(4, d_model, d_model, generator=generator).unbind(0)
    rows = []
    for n in lengths:
        x = torch.randn(n, d_model, generator=generator)
        with FlopCounterMode(display=False) as counter:
            multi_head_attention_torch(x, *weights, n_heads=heads)
        counted = {str(op).removeprefix("aten."): int(flops)
                   for op, flops in counter.get_flop_counts()["Global"].items()}
        rows.append({"n": n, "counted": counted,
                     "formula": {"mm": projection_flops(n, d_model),
                                 "bmm": attention_flops(n, d_model)}})
    return {"d_model": d_model, "heads": heads, "lengths": lengths, "rows": rows,
            "crossover": 2 * d_model}  # 4 n^2 d = 8 n d^2 at n = 2d


# --- C1: time over n ------------------------------------------------------------------------


def time_breakdown(n: int, repeats: int) -> dict[str, float]:
    """Median seconds of plain attention's three steps, each on its own, and of the whole."""
    import torch

    q, k, v = random_qkv(n)
    scaled_q = q / math.sqrt(q.shape[-1])
    scores = scaled_q @ k.mT
    weights = torch.softmax(scores, dim=-1)
    steps = {
        "scores": lambda: scaled_q @ k.mT,
        "softmax": lambda: torch.softmax(scores, dim=-1),
        "blend": lambda: weights @ v,
        "whole": lambda: plain_attention(q, k, v),
    }
    for step in steps.values():
        step()  # warm-up
    return measure.interleaved_medians(steps, dict.fromkeys(steps, repeats))


def time_sweep(*, lengths: list[int], repeats: int, repeats_long: int, long_from: int,
               fit_from_multiple: int, breakdown_n: int, threads: int) -> dict:
    """Median time of plain attention over n, the fitted exponent where n >> d, the FLOPs
    of each length and this machine's matrix-multiply rate, and the time of each step."""
    inputs = {n: random_qkv(n) for n in lengths}
    calls = {n: functools.partial(plain_attention, *inputs[n]) for n in lengths}
    with measure.measuring(threads):
        matmul_rate = measure.matmul_flops_per_second(MATMUL_SIZE)
        for call in calls.values():
            call()  # warm-up
        medians = measure.interleaved_medians(
            calls, {n: repeats_long if n >= long_from else repeats for n in lengths})
        parts = time_breakdown(breakdown_n, repeats_long)
        machine = measure.machine(threads)  # the load while measuring
    seconds = [medians[n] for n in lengths]
    fit_from = fit_from_multiple * HEAD_SIZE
    fit = [(n, s) for n, s in zip(lengths, seconds) if n >= fit_from]
    cache = measure.last_level_cache_bytes()
    return {
        "lengths": lengths, "seconds": seconds,
        "flops": [attention_flops(n, HEAD_SIZE) for n in lengths],
        "exponent": measure.fitted_exponent(*zip(*fit)),
        "fit_from": fit_from, "fit_from_multiple": fit_from_multiple,
        "head_size": HEAD_SIZE, "repeats": repeats, "repeats_long": repeats_long,
        "long_from": long_from, "threads": threads,
        "matmul_size": MATMUL_SIZE, "matmul_flops_per_second": matmul_rate,
        # Softmax reads the scores and writes the weights: two float32 tables, 8 n^2 bytes.
        "cache_bytes": cache,
        "tables_fill_cache_at": math.sqrt(cache / (2 * BYTES_FP32)) if cache else None,
        "breakdown": {"n": breakdown_n, "flops": attention_flops(breakdown_n, HEAD_SIZE),
                      **parts},
        "machine": machine,
    }


# --- C2: memory over n ----------------------------------------------------------------------


def memory_sweep(*, lengths: list[int], fit_from: int, threads: int) -> dict:
    """Peak extra memory of one plain-attention call over n, beside the n x n table's bytes;
    the fitted exponent over all lengths and over n >= fit_from (fixed costs left out)."""
    peaks = []
    with measure.measuring(threads):
        for n in lengths:
            q, k, v = random_qkv(n)
            plain_attention(q, k, v)  # warm-up
            peaks.append(measure.peak_bytes(lambda: plain_attention(q, k, v)))
            del q, k, v
        machine = measure.machine(threads)
    large = [(n, p) for n, p in zip(lengths, peaks) if n >= fit_from]
    return {
        "lengths": lengths, "peak_bytes": peaks,
        "table_bytes": [table_bytes(n, BYTES_FP32) for n in lengths],
        "exponent": measure.fitted_exponent(lengths, peaks),
        "fit_from": fit_from, "exponent_large": measure.fitted_exponent(*zip(*large)),
        "head_size": HEAD_SIZE, "threads": threads, "machine": machine,
    }


# --- C3: why context windows exist ------------------------------------------------------------


def kv_cache_bytes(model: dict, n: int, bytes_per_value: int = BYTES_FP16) -> int:
    """Keys and values of n tokens kept for generation: 2 x layers x key/value heads x head
    size numbers per token."""
    return 2 * model["layers"] * model["kv_heads"] * model["head_size"] * bytes_per_value * n


def forward_flops(model: dict, n: int) -> tuple[int, int]:
    """(all FLOPs, the n^2 part's) of one forward pass over n tokens through every layer
    (the embedding and output layers aside)."""
    d_model = model["d_model"]
    quadratic = attention_flops(n, d_model)
    per_layer = (projection_flops(n, d_model, model["kv_heads"] * model["head_size"])
                 + quadratic + feed_forward_flops(n, d_model, model["d_ff"]))
    return model["layers"] * per_layer, model["layers"] * quadratic


def context_rows(models: list[dict], device: dict, lengths: list[int]) -> list[dict]:
    """One row per context length n: for each model, one forward pass's FLOPs, the share of
    the n^2 part, its time at the device's peak rate, the key/value cache, and one layer's
    score tables (all heads, fp16) if they were held whole."""
    rows = []
    for n in lengths:
        row = {"n": n, "models": {}}
        for model in models:
            flops, quadratic = forward_flops(model, n)
            table = model["heads"] * table_bytes(n, BYTES_FP16)
            row["models"][model["name"]] = {
                "flops": flops, "flops_per_token": flops / n, "quadratic_share": quadratic / flops,
                # A causal model's kernels skip the masked half of the table.
                "quadratic_share_causal": (quadratic / 2) / (flops - quadratic / 2),
                "seconds_at_peak": flops / device["peak_flops"],
                "kv_cache_bytes": kv_cache_bytes(model, n),
                "layer_table_bytes": table,
                "kv_cache_fits": kv_cache_bytes(model, n) <= device["memory_bytes"],
                "layer_table_fits": table <= device["memory_bytes"],
            }
        rows.append(row)
    return rows


def causal_flops_per_token(model: dict, n: int) -> float:
    """FLOPs per token of a causal forward pass over n tokens, the masked half of the n^2
    part skipped. Training costs about 3x the forward pass (forward plus backward), at every
    length alike, so ratios of this are ratios of training cost per token."""
    flops, quadratic = forward_flops(model, n)
    return (flops - quadratic / 2) / n


def training_cost(model: dict, multiples: list[int]) -> list[dict]:
    """Per-token compute of training at multiples of the model's pretraining length,
    relative to its pretraining length."""
    base = causal_flops_per_token(model, model["trained_context"])
    return [{"multiple": k, "n": k * model["trained_context"],
             "relative": causal_flops_per_token(model, k * model["trained_context"]) / base}
            for k in multiples]


def context_table(*, lengths: list[int], training_multiples: list[int]) -> dict:
    """What a context of n tokens costs two published models on one A100: compute, the
    key/value cache (with and without grouped-query attention) and the avoidable score table;
    and what training each at longer sequences than it was pretrained on costs per token."""
    models = [LLAMA2_7B, LLAMA3_8B]
    return {"models": models, "device": A100, "rows": context_rows(models, A100, lengths),
            "training_cost": {m["name"]: training_cost(m, training_multiples) for m in models}}


def markov_source(vocab: int, seed: int, sharpness: float = 2.5):
    """A random order-2 Markov chain over `vocab` symbols: (next-symbol table (v, v, v), its
    entropy rate in nats, the best loss any model can reach on it)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    table = torch.softmax(torch.randn(vocab, vocab, vocab, generator=generator) * sharpness, -1)
    entropy = float(-(table * table.log()).sum(-1).mean())  # pairs equally likely, roughly
    return table, entropy


def markov_sequences(table, count: int, length: int, seed: int):
    """`count` sequences of `length` symbols drawn from the chain, (count, length) int64."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    vocab = table.shape[0]
    x = torch.randint(vocab, (count, length), generator=generator)
    for t in range(2, length):
        x[:, t] = torch.multinomial(table[x[:, t - 2], x[:, t - 1]], 1, generator=generator)[:, 0]
    return x


def trained_length(*, vocab: int, trained: int, d_model: int, heads: int, layers: int,
                   steps: int, batch: int, lr: float, seed: int, evaluate_multiple: int,
                   threads: int) -> dict:
    """C3(c): a small causal transformer (the library's blocks, sinusoidal positions) trained
    on sequences of `trained` tokens from a Markov source, then scored at every position of
    sequences `evaluate_multiple` times longer: mean next-token loss per position."""
    import torch
    from torch import nn

    from ..transformer import TransformerBlock, causal_mask, sinusoidal_positions

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.blocks = nn.ModuleList(TransformerBlock(d_model, heads, 4 * d_model)
                                        for _ in range(layers))
            self.norm, self.out = nn.LayerNorm(d_model), nn.Linear(d_model, vocab)

        def forward(self, ids):  # (b, n) -> logits (b, n, vocab)
            n = ids.shape[-1]
            h = self.embed(ids) + sinusoidal_positions(n, d_model)
            for block in self.blocks:
                h = block(h, causal_mask(n))
            return self.out(self.norm(h))

    with measure.num_threads(threads):
        torch.manual_seed(seed)
        table, entropy = markov_source(vocab, seed)
        model = Model()
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
        train = markov_sequences(table, steps * batch // 4, trained + 1, seed + 1)
        order = torch.Generator().manual_seed(seed + 2)
        losses = []
        for _ in range(steps):
            ids = train[torch.randint(len(train), (batch,), generator=order)]
            logits = model(ids[:, :-1])
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        test = markov_sequences(table, 256, evaluate_multiple * trained + 1, seed + 3)
        with torch.no_grad():
            logits = model(test[:, :-1])  # (256, n, vocab)
            per_position = nn.functional.cross_entropy(
                logits.transpose(1, 2), test[:, 1:], reduction="none").mean(0)
    return {"trained": trained, "positions": evaluate_multiple * trained,
            "loss_by_position": per_position.tolist(), "final_training_loss": losses[-1],
            "entropy_rate": entropy, "uniform_loss": math.log(vocab), "vocab": vocab,
            "model": {"d_model": d_model, "heads": heads, "layers": layers},
            "steps": steps, "batch": batch, "seed": seed}


# --- C4: cheaper attention ------------------------------------------------------------------


def chunked_check(*, cases: list[dict], tolerance: float) -> dict:
    """Largest difference between chunked attention, the library's plain attention and SDPA,
    in float32, over shapes, chunk sizes and masks (the claim requires <= `tolerance`)."""
    import torch
    import torch.nn.functional as F

    from ..attention import attention_torch
    from ..efficient import chunked_attention_torch

    generator = torch.Generator().manual_seed(0)
    batch = 2
    rows = []
    for case in cases:
        n, chunk, kind = case["n"], case["chunk"], case["mask"]
        q, k, v = torch.randn(3, batch, n, HEAD_SIZE, generator=generator).unbind(0)
        if kind == "causal":
            mask = torch.ones(n, n, dtype=torch.bool).tril()
            chunked = chunked_attention_torch(q, k, v, chunk_size=chunk, causal=True)
        elif kind == "random":
            mask = torch.rand(n, n, generator=generator) < 0.5
            mask[:, 0] = True  # every query may attend somewhere
            chunked = chunked_attention_torch(q, k, v, mask, chunk_size=chunk)
        else:
            mask = None
            chunked = chunked_attention_torch(q, k, v, chunk_size=chunk)
        plain = attention_torch(q, k, v, mask)
        sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        rows.append({"n": n, "chunk": chunk, "mask": kind,
                     "from_plain": float((chunked - plain).abs().max()),
                     "from_sdpa": float((chunked - sdpa).abs().max())})
    return {"tolerance": tolerance, "batch": batch, "head_size": HEAD_SIZE, "rows": rows,
            "worst": max(max(r["from_plain"], r["from_sdpa"]) for r in rows)}


def smooth_sequence(n: int, d: int, correlation: float, generator):
    """Token vectors that drift slowly (each close to its neighbours): x_t = c x_{t-1} + noise."""
    import torch

    noise = torch.randn(n, d, generator=generator)
    x = torch.empty(n, d)
    x[0] = noise[0]
    spread = math.sqrt(1 - correlation**2)  # keeps every x_t at unit variance
    for t in range(1, n):
        x[t] = correlation * x[t - 1] + spread * noise[t]
    return x


def sliding_window_error(*, n: int, windows: list[int], correlation: float) -> dict:
    """How far sliding-window attention is from full attention, by window size, on random
    vectors and on a slowly drifting sequence (where nearby tokens matter most): the share of
    full attention's weight beyond the window, and ||local - full|| / ||full||."""
    import torch

    from ..attention import attention_torch
    from ..efficient import sliding_window_attention_torch

    generator = torch.Generator().manual_seed(0)
    drifting = smooth_sequence(n, HEAD_SIZE, correlation, generator)
    sequences = {  # name -> (q, k, v)
        "random": tuple(torch.randn(3, n, HEAD_SIZE, generator=generator).unbind(0)),
        "drifting": (drifting, drifting, drifting),
    }
    distance = (torch.arange(n)[:, None] - torch.arange(n)).abs()  # (n, n)
    results = {}
    for name, (q, k, v) in sequences.items():
        full, weights = attention_torch(q, k, v, return_weights=True)
        dropped, error = [], []
        for window in windows:
            local = sliding_window_attention_torch(q, k, v, window=window)
            error.append(float((local - full).norm() / full.norm()))
            dropped.append(float(weights.masked_fill(distance < window, 0).sum(dim=-1).mean()))
        results[name] = {"weight_dropped": dropped, "error": error}
    return {"n": n, "head_size": HEAD_SIZE, "windows": windows, "correlation": correlation,
            "keys_per_query": [float((distance < w).sum(dim=-1).float().mean())
                               for w in windows],
            "sequence_names": list(results), "sequences": results}


def side_by_side(*, lengths: list[int], repeats: int, chunk_size: int,
                 query_chunk_size: int, window: int, threads: int) -> dict:
    """Time and peak memory of plain, chunked, sliding-window and torch's SDPA over n, and
    the fitted exponent of each method's peak memory over n."""
    import torch.nn.functional as F

    from ..efficient import chunked_attention_torch, sliding_window_attention_torch

    functions = {
        "plain": plain_attention,
        "chunked": lambda q, k, v: chunked_attention_torch(
            q, k, v, chunk_size=chunk_size, query_chunk_size=query_chunk_size),
        "sliding window": lambda q, k, v: sliding_window_attention_torch(q, k, v,
                                                                         window=window),
        "SDPA": F.scaled_dot_product_attention,
    }
    inputs = {n: random_qkv(n) for n in lengths}
    calls = {(method, n): functools.partial(function, *inputs[n])
             for n in lengths for method, function in functions.items()}
    with measure.measuring(threads):
        for method in METHODS:  # one-off set-up costs stay out of the first measurement
            calls[method, lengths[0]]()
        peak = {key: measure.peak_bytes(call) for key, call in calls.items()}  # warm-ups too
        median = measure.interleaved_medians(calls, dict.fromkeys(calls, repeats))
        machine = measure.machine(threads)
    peaks = {m: [peak[m, n] for n in lengths] for m in METHODS}
    return {
        "lengths": lengths, "methods": list(METHODS),
        "seconds": {m: [median[m, n] for n in lengths] for m in METHODS},
        "peak_bytes": peaks,
        "memory_exponent": {m: measure.fitted_exponent(lengths, peaks[m]) for m in METHODS},
        "head_size": HEAD_SIZE, "chunk_size": chunk_size,
        "query_chunk_size": query_chunk_size, "window": window,
        "repeats": repeats, "threads": threads, "machine": machine,
    }
