"""Forgetting as accuracy (recurrence page, R3b and T2): recall the token k steps back.

The task: read `n_ctx` random tokens (from a vocabulary of `vocab`), then a query token
that names a distance k (1 … n_ctx); answer with the token seen k steps before the query.
Every sequence is asked every k at once: the models read the context once and answer all
n_ctx queries from it, so the answers to a sequence are the sequence reversed.

Three models with about the same number of parameters, trained the same way (same data,
steps, batch, optimiser, learning rate):

* ``elman``: an Elman RNN (torch.nn.RNN, tanh) reads the context, then the query token;
* ``lstm``: the same with an LSTM, the gated RNN built to forget less;
* ``attention``: one attention layer; the query token looks at the context tokens, each
  tagged with a learned position vector, and reads out the one it needs.

Training is seeded and runs single-threaded with deterministic algorithms, so a run gives
the same numbers every time on the same machine and library versions.
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Iterator

import torch
from torch import nn

from ._checks import (
    describe,
    require_choice,
    require_finite,
    require_finite_parameters,
    require_ndim,
    require_positive_int,
    require_real,
    require_seed,
    require_token_ids,
)
from .attention import attention_torch
from .experiments.measure import num_threads

__all__ = ["MODELS", "AttentionRecall", "RecallConfig", "RecurrentRecall", "accuracy_by_k",
           "answers", "deterministic", "epoch_seconds", "held_out_sequences", "make_model",
           "make_sequences", "parameter_count", "run", "sensitivity_by_k", "train"]

MODELS = ("elman", "lstm", "attention")
# Shown when logits are not finite although the weights are (they were checked first).
_OVERFLOW_HINT = "the weights are finite, so a value overflowed: are some far too large?"


@dataclass(frozen=True)
class RecallConfig:
    """Everything that defines one run of the experiment (the page's figure uses one)."""

    vocab: int = 8  # distinct tokens; chance accuracy is 1 / vocab
    n_ctx: int = 32  # context length, so k runs 1 … n_ctx
    width: int = 32  # embedding width of every model; the attention model's width
    train_size: int = 1536  # training sequences (fixed set, reshuffled every epoch)
    test_size: int = 1000  # held-out sequences, drawn with another seed
    epochs: int = 5
    batch: int = 64
    lr: float = 0.05  # Adam's starting rate, falling linearly to 0; the same for every model
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        for name in ("vocab", "n_ctx", "width", "train_size", "test_size", "epochs", "batch"):
            require_positive_int(name, getattr(self, name))
        require_real("lr", self.lr, positive=True)
        # A tuple (the config is frozen and hashable), and not empty: run() reports the
        # first seed's sensitivities.
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise ValueError(f"seeds must be a non-empty tuple of seeds: got {self.seeds!r}")
        for i, seed in enumerate(self.seeds):
            require_seed(f"seeds[{i}]", seed)

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def deterministic() -> Iterator[None]:
    """One thread and deterministic algorithms for the block, then the previous settings."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with num_threads(1):
            yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


def _require_config(config) -> None:
    if not isinstance(config, RecallConfig):
        raise ValueError(f"config must be a RecallConfig: got {type(config).__name__}")


def _require_model_names(models) -> None:
    """A non-empty tuple or list of distinct names from MODELS (a bare string would be read
    letter by letter; a repeat would overwrite its own results)."""
    if not isinstance(models, (tuple, list)) or not models:
        raise ValueError(f"models must be a non-empty tuple of names from {MODELS}: "
                         f"got {models!r}")
    for i, name in enumerate(models):
        require_choice(f"models[{i}]", name, MODELS)
    if len(set(models)) != len(models):
        raise ValueError(f"models must not repeat a name: got {models!r}")


def make_sequences(count: int, config: RecallConfig, seed: int) -> torch.Tensor:
    """`count` random contexts (count, n_ctx) of token ids in [0, vocab), seeded."""
    require_positive_int("count", count)
    _require_config(config)
    require_seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, config.vocab, (count, config.n_ctx), generator=generator)


def answers(contexts: torch.Tensor) -> torch.Tensor:
    """Targets (b, n_ctx): column k - 1 is the token k steps back, so the context reversed."""
    if (not isinstance(contexts, torch.Tensor) or contexts.dtype == torch.bool
            or contexts.is_floating_point() or contexts.is_complex()):
        raise ValueError(f"contexts must be a torch.Tensor of token ids: got "
                         f"{describe(contexts)}")
    require_ndim("contexts", contexts, 2, "(b, n_ctx)")
    return contexts.flip(-1)


def _require_contexts(model: nn.Module, contexts) -> None:
    """Token ids (b, n_ctx) for `model`: b >= 1 (a mean over no sequences is NaN), ids in
    its vocabulary, exactly its n_ctx columns (it asks one query per position)."""
    require_token_ids("contexts", contexts, model.tokens.num_embeddings)
    require_ndim("contexts", contexts, 2, "(b, n_ctx)")
    n_ctx = model.queries.num_embeddings
    if contexts.shape[0] < 1 or contexts.shape[1] != n_ctx:
        raise ValueError(f"contexts must have shape (b, n_ctx) with b >= 1 and the model's "
                         f"n_ctx = {n_ctx}: got contexts.shape={tuple(contexts.shape)}")


class RecurrentRecall(nn.Module):
    """An Elman RNN or an LSTM reads the context, then each query token, and answers."""

    def __init__(self, cell: str, config: RecallConfig, hidden: int):
        super().__init__()
        require_choice("cell", cell, ("elman", "lstm"))
        _require_config(config)
        require_positive_int("hidden", hidden)
        rnn_class = {"elman": nn.RNN, "lstm": nn.LSTM}[cell]
        self.n_ctx = config.n_ctx
        self.tokens = nn.Embedding(config.vocab, config.width)
        self.queries = nn.Embedding(config.n_ctx, config.width)  # query token k: row k - 1
        self.rnn = rnn_class(config.width, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, config.vocab)

    def embed(self, contexts: torch.Tensor) -> torch.Tensor:
        return self.tokens(contexts)  # (b, n_ctx, width)

    def answer(self, embedded: torch.Tensor) -> torch.Tensor:
        """Logits (b, n_ctx, vocab) for every query, from the embedded context."""
        _, state = self.rnn(embedded)  # the state after the last context token
        # Each of the n_ctx queries continues from that state for one more step, as if its
        # token were the next input. That one step is written out (the cell's own weights
        # and equations) so that the n_ctx queries broadcast against the b states instead
        # of running the RNN again on b * n_ctx copies; the tests check it against the RNN.
        rnn = self.rnn
        from_query = self.queries.weight @ rnn.weight_ih_l0.T + rnn.bias_ih_l0  # (n_ctx, g)
        if isinstance(rnn, nn.LSTM):
            h, c = (s[0, :, None] for s in state)  # (b, 1, hidden) each
            gates = from_query + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0  # (b, n_ctx, 4 hidden)
            i, f, g, o = gates.chunk(4, dim=-1)  # torch's gate order: input, forget, cell, out
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            out = torch.sigmoid(o) * torch.tanh(c)  # (b, n_ctx, hidden)
        else:
            h = state[0, :, None]  # (b, 1, hidden)
            out = torch.tanh(from_query + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        return self.readout(out)  # (b, n_ctx, vocab)

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        """contexts (b, n_ctx) token ids -> logits (b, n_ctx, vocab)."""
        _require_contexts(self, contexts)
        require_finite_parameters(type(self).__name__, self)  # O(parameters)
        return self.answer(self.embed(contexts))


class AttentionRecall(nn.Module):
    """One attention layer: each query token attends over the position-tagged context."""

    def __init__(self, config: RecallConfig):
        super().__init__()
        _require_config(config)
        d = config.width
        self.tokens = nn.Embedding(config.vocab, d)
        self.positions = nn.Parameter(torch.randn(config.n_ctx, d))  # one vector per slot
        self.queries = nn.Embedding(config.n_ctx, d)
        self.w_q = nn.Linear(d, d, bias=False)
        self.w_k = nn.Linear(d, d, bias=False)
        self.w_v = nn.Linear(d, d, bias=False)
        self.readout = nn.Linear(d, config.vocab)

    def embed(self, contexts: torch.Tensor) -> torch.Tensor:
        return self.tokens(contexts)  # (b, n_ctx, d)

    def answer(self, embedded: torch.Tensor, return_weights: bool = False):
        """Logits (b, n_ctx, vocab), and optionally the weights (b, n_ctx queries, n_ctx)."""
        b = embedded.shape[0]
        context = embedded + self.positions  # (b, n_ctx, d): what and where
        q = self.w_q(self.queries.weight).expand(b, -1, -1)  # (b, n_ctx queries, d)
        out, weights = attention_torch(q, self.w_k(context), self.w_v(context),
                                       return_weights=True)  # (b, n_ctx, d)
        logits = self.readout(out)
        return (logits, weights) if return_weights else logits

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        """contexts (b, n_ctx) token ids -> logits (b, n_ctx, vocab)."""
        _require_contexts(self, contexts)
        require_finite_parameters(type(self).__name__, self)  # O(parameters)
        return self.answer(self.embed(contexts))


def parameter_count(model: nn.Module) -> int:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module: got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters())


def _hidden_size_matching(cell: str, config: RecallConfig, target: int) -> int:
    """The hidden size whose parameter count is closest to `target` (ties: the smaller)."""
    def count(hidden):
        rnn_class = {"elman": nn.RNN, "lstm": nn.LSTM}[cell]
        per_gate = config.width * hidden + hidden * hidden + 2 * hidden  # w_ih, w_hh, biases
        gates = 4 if rnn_class is nn.LSTM else 1
        embeddings = (config.vocab + config.n_ctx) * config.width
        return embeddings + gates * per_gate + hidden * config.vocab + config.vocab

    return min(range(1, 4 * config.width + 1), key=lambda h: (abs(count(h) - target), h))


def make_model(name: str, config: RecallConfig, seed: int) -> nn.Module:
    """A freshly initialised model (seeded); the RNNs sized to the attention model's budget."""
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"unknown model name {name!r}: name must be one of {MODELS}")
    _require_config(config)
    require_seed("seed", seed)
    target = parameter_count(AttentionRecall(config))
    torch.manual_seed(seed)
    if name == "attention":
        return AttentionRecall(config)
    return RecurrentRecall(name, config, _hidden_size_matching(name, config, target))


def _require_recall_model(model, config: RecallConfig | None = None) -> None:
    """A model from make_model, with finite weights, built for `config` if one is given."""
    if not isinstance(model, (RecurrentRecall, AttentionRecall)):
        raise ValueError(f"model must be a RecurrentRecall or AttentionRecall (make_model): "
                         f"got {type(model).__name__}")
    if config is not None:
        built = (model.tokens.num_embeddings, model.queries.num_embeddings,
                 model.tokens.embedding_dim)
        wanted = (config.vocab, config.n_ctx, config.width)
        if built != wanted:
            raise ValueError(f"model must be built for config: it has (vocab, n_ctx, width) = "
                             f"{built}, config has {wanted}")
    require_finite_parameters("model", model)


def train(model: nn.Module, config: RecallConfig, seed: int, epochs: int | None = None
          ) -> dict:
    """Train in place; return {"seconds": [...], "loss": [...]}, one entry per epoch.

    Adam with the learning rate falling linearly to 0, cross-entropy averaged over every
    query of every sequence, gradients clipped to norm 1. The training set is the same
    for every model with this seed; the batch order is reshuffled each epoch by a seeded
    generator. Call inside `deterministic()` for reproducible weights; "loss" is the mean
    training loss of the epoch, "seconds" its wall time.
    """
    _require_config(config)
    _require_recall_model(model, config)
    require_seed("seed", seed)
    if epochs is not None:
        require_positive_int("epochs", epochs)
    contexts = make_sequences(config.train_size, config, seed=1000 + seed)
    targets = answers(contexts)
    generator = torch.Generator().manual_seed(seed)
    epochs = config.epochs if epochs is None else epochs
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, foreach=True)
    steps = epochs * -(-config.train_size // config.batch)
    # The same budget ends closer to a minimum when the step size shrinks towards the end.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
    log = {"seconds": [], "loss": []}
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(config.train_size, generator=generator)
        total = 0.0
        for i, batch in enumerate(order.split(config.batch)):
            # Checked once above, not per step: the forward's own checks would be timed (T2).
            logits = model.answer(model.embed(contexts[batch]))  # (b, n_ctx, vocab)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets[batch].flatten())
            value = loss.item()
            if not math.isfinite(value):  # free: the loss is read anyway
                raise ValueError(f"training diverged: the loss is {value} at epoch {epoch}, "
                                 f"batch {i} (config.lr = {config.lr} too large?)")
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
            optimiser.step()
            schedule.step()
            total += value * len(batch)
        log["seconds"].append(time.perf_counter() - start)
        log["loss"].append(total / config.train_size)
    try:  # the last step's update is in no loss yet
        require_finite_parameters("model", model)
    except ValueError as error:
        raise ValueError(f"training diverged (config.lr = {config.lr}): {error}") from error
    return log


def held_out_sequences(config: RecallConfig) -> torch.Tensor:
    """The held-out contexts: the same for every model and seed, never trained on."""
    _require_config(config)
    return make_sequences(config.test_size, config, seed=999_999)


def accuracy_by_k(model: nn.Module, contexts: torch.Tensor) -> list[float]:
    """Fraction of correct answers for k = 1 … n_ctx on `contexts`."""
    _require_recall_model(model)
    _require_contexts(model, contexts)
    with torch.no_grad():
        logits = model.answer(model.embed(contexts))  # (b, n_ctx, vocab)
        require_finite("model's logits", logits, _OVERFLOW_HINT)  # O(outputs): NaN has no argmax
        correct = logits.argmax(-1) == answers(contexts)  # (b, n_ctx)
    return correct.double().mean(0).tolist()


def sensitivity_by_k(model: nn.Module, contexts: torch.Tensor, seed: int = 0) -> list[float]:
    """How strongly each answer depends on the token it must recall, for k = 1 … n_ctx.

    The root-mean-square over `contexts` of ‖∂logits_k / ∂e_{n_ctx - k}‖ (Frobenius), with
    e the embedded context: the gradient of the answer for distance k with respect to the
    input k steps back. Estimated with one random probe per sequence (E‖Jᵀu‖² = ‖J‖² for
    u ~ N(0, I)), one backward pass per k.
    """
    _require_recall_model(model)
    _require_contexts(model, contexts)
    require_seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    embedded = model.embed(contexts).detach().requires_grad_(True)  # (b, n_ctx, width)
    logits = model.answer(embedded)  # (b, n_ctx, vocab)
    require_finite("model's logits", logits.detach(), _OVERFLOW_HINT)
    n_ctx = logits.shape[1]
    probes = torch.randn(logits.shape, generator=generator)
    result = []
    for k in range(1, n_ctx + 1):
        (grad,) = torch.autograd.grad((logits[:, k - 1] * probes[:, k - 1]).sum(), embedded,
                                      retain_graph=k < n_ctx)
        squared = grad[:, n_ctx - k].pow(2).sum(-1)  # (b,): ‖Jᵀu‖² per sequence
        result.append(float(squared.mean().sqrt()))
    return result


def run(config: RecallConfig, models=MODELS) -> dict:
    """Train every model with every seed; return what the page shows (JSON-ready).

    {"config", "parameters": {model: count}, "hidden": {model: hidden size or None},
     "accuracy": {model: [[accuracy for k = 1 … n_ctx] per seed]},
     "loss": {model: [[mean training loss per epoch] per seed]},
     "sensitivity": {model: [‖∂answer_k/∂input k back‖ for k]} (first seed, trained),
     "sensitivity_at_init": {model: [... for k]} (first seed, before training),
     "test_in_train": held-out contexts that also occur in a training set (expected 0)}
    """
    _require_config(config)
    _require_model_names(models)
    contexts = held_out_sequences(config)
    probe = contexts[:128]
    result = {"config": config.to_dict(), "parameters": {}, "hidden": {}, "accuracy": {},
              "loss": {}, "sensitivity": {}, "sensitivity_at_init": {}}
    seen = set()
    with deterministic():
        for seed in config.seeds:
            seen.update(map(tuple, make_sequences(config.train_size, config,
                                                  seed=1000 + seed).tolist()))
        result["test_in_train"] = sum(tuple(row) in seen for row in contexts.tolist())
        for name in models:
            result["accuracy"][name], result["loss"][name] = [], []
            for seed in config.seeds:
                model = make_model(name, config, seed)
                first = seed == config.seeds[0]
                if first:
                    rnn = getattr(model, "rnn", None)
                    result["parameters"][name] = parameter_count(model)
                    result["hidden"][name] = rnn.hidden_size if rnn is not None else None
                    result["sensitivity_at_init"][name] = sensitivity_by_k(model, probe)
                log = train(model, config, seed)
                result["loss"][name].append(log["loss"])
                result["accuracy"][name].append(accuracy_by_k(model, contexts))
                if first:
                    result["sensitivity"][name] = sensitivity_by_k(model, probe)
    return result


def epoch_seconds(config: RecallConfig, threads: int, *, timed: int = 1, models=MODELS,
                  seed: int = 0) -> dict[str, float]:
    """Median wall time of one training epoch per model, with `threads` threads (T2).

    The same models, data and steps as `run`. Each model first trains a throwaway copy for
    four steps (first calls pay for set-up), then trains `timed` epochs, each one timed.
    Not deterministic: it is a measurement.
    """
    _require_config(config)
    require_positive_int("threads", threads)
    require_positive_int("timed", timed)
    _require_model_names(models)
    require_seed("seed", seed)
    warm_up = replace(config, train_size=4 * config.batch)
    result = {}
    with num_threads(threads):
        for name in models:
            train(make_model(name, warm_up, seed), warm_up, seed, epochs=1)
            model = make_model(name, config, seed)
            result[name] = statistics.median(train(model, config, seed, epochs=timed)["seconds"])
    return result
