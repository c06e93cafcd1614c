"""Forgetting as accuracy (recurrence page, R3b and T2): carry one item past k distractors.

The task: a sequence holds one item token (one of `items`), then k distractor tokens (from a
separate vocabulary of `distractors`), then a query token; the answer is the item. Every
sequence has the same length, max_delay + 2: one with a shorter delay is left-padded with
more distractors, so the item sits exactly k steps before the query. Delays from 1 to
max_delay are mixed in training, by default drawn log-uniformly so that every octave of
delays (1, 2-3, 4-7, …) weighs about the same in the loss: the short delays teach a model
what to keep, and their gain in the loss is large enough for the stopping rule to see
(`RecallConfig.sampling = "uniform"` draws every delay equally often instead).

Three models with about the same number of parameters, trained the same way (same data,
optimiser, learning rate and stopping rule):

* ``elman``: an Elman RNN (torch.nn.RNN, tanh) reads the sequence; its last state answers;
* ``lstm``: the same with an LSTM, the gated RNN built to forget less;
* ``attention``: one attention layer; the query token, tagged like every token with a learned
  position vector, looks over the whole sequence and reads out what it finds.

Training stops by a stated rule (`train`): when the loss on a fixed validation set has not
fallen by at least `min_improvement` of its best value for `patience` evaluations in a row,
when it is at or below `solved_loss`, or at `max_steps`. Training is seeded and runs
single-threaded with deterministic algorithms, so a run gives the same numbers every time on
the same machine and library versions.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator

import torch
from torch import nn

from ._checks import (
    describe,
    require_choice,
    require_finite_parameters,
    require_ndim,
    require_no_overflow,
    require_positive_int,
    require_real,
    require_seed,
    require_token_ids,
)
from .attention import attention_torch
from .experiments.measure import num_threads

__all__ = ["MODELS", "SAMPLINGS", "STOPS", "AttentionRecall", "RecallConfig", "RecurrentRecall",
           "accuracy_by_k", "answers", "delays", "deterministic", "epoch_seconds",
           "held_out_sequences", "make_model", "make_sequences", "parameter_count", "run",
           "sensitivity_by_k", "train"]

MODELS = ("elman", "lstm", "attention")
SAMPLINGS = ("log-uniform", "uniform")  # how training delays are drawn (see make_sequences)
STOPS = ("plateau", "solved", "cap")  # why training stopped (see `train`)
_VALIDATION_SEED, _HELD_OUT_SEED = 888_888, 999_999  # fixed sets, never trained on
_PROBES_PER_K = 16  # held-out sequences per delay used for the sensitivities


@dataclass(frozen=True)
class RecallConfig:
    """Everything that defines one run of the experiment (the page's figure uses one)."""

    items: int = 8  # item vocabulary: chance accuracy is 1 / items
    distractors: int = 8  # distractor vocabulary, disjoint from the items
    max_delay: int = 64  # k runs 1 … max_delay; every sequence has max_delay + 2 tokens
    sampling: str = "log-uniform"  # how training delays are drawn: one of SAMPLINGS
    width: int = 32  # embedding width of every model; the attention model's width
    train_size: int = 4096  # training sequences (a fixed set, reshuffled every pass)
    val_size: int = 1024  # the fixed validation set the stopping rule reads
    test_per_k: int = 200  # held-out sequences for each delay
    batch: int = 64
    lr: float = 0.003  # Adam's rate, constant, the same for every model
    eval_every: int = 100  # training steps between two validation losses
    patience: int = 5  # evaluations in a row without a new best before stopping
    min_improvement: float = 0.01  # a new best is this fraction below the previous best
    solved_loss: float = 0.01  # stop once the validation loss is this low (nats)
    max_steps: int = 4000  # the cap
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        for name in ("items", "distractors", "max_delay", "width", "train_size", "val_size",
                     "test_per_k", "batch", "eval_every", "patience", "max_steps"):
            require_positive_int(name, getattr(self, name))
        for name in ("lr", "min_improvement", "solved_loss"):
            require_real(name, getattr(self, name), positive=True)
        require_choice("sampling", self.sampling, SAMPLINGS)
        if self.items < 2:  # one item would need no memory at all
            raise ValueError(f"items must be at least 2: got {self.items}")
        if self.min_improvement >= 1:  # no loss can fall by 100% or more: it would never stop
            raise ValueError(f"min_improvement must be below 1 (a fraction of the best "
                             f"loss): got {self.min_improvement!r}")
        # A tuple (the config is frozen and hashable), and not empty: run() reports the
        # first seed's sensitivities.
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise ValueError(f"seeds must be a non-empty tuple of seeds: got {self.seeds!r}")
        for i, seed in enumerate(self.seeds):
            require_seed(f"seeds[{i}]", seed)

    @property
    def vocab(self) -> int:
        """Token ids: items first, then distractors, then the query token."""
        return self.items + self.distractors + 1

    @property
    def query(self) -> int:
        return self.items + self.distractors

    @property
    def length(self) -> int:
        """Tokens per sequence: the longest delay, its item and the query."""
        return self.max_delay + 2

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


# --- the task ---------------------------------------------------------------------------------


def _build(ks: torch.Tensor, config: RecallConfig, generator: torch.Generator) -> torch.Tensor:
    """Sequences (b, length) with delays `ks` (b,): random distractors, one random item k
    steps before the query token at the end."""
    count = len(ks)
    sequences = torch.randint(config.items, config.items + config.distractors,
                              (count, config.length), generator=generator)
    items = torch.randint(0, config.items, (count,), generator=generator)
    sequences[torch.arange(count), config.length - 2 - ks] = items
    sequences[:, -1] = config.query
    return sequences


def make_sequences(count: int, config: RecallConfig, seed: int) -> torch.Tensor:
    """`count` training-style sequences (count, length), delays in 1 … max_delay drawn as
    config.sampling says: "log-uniform" (each octave of delays about equally often) or
    "uniform" (each delay equally often)."""
    require_positive_int("count", count)
    _require_config(config)
    require_seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(count, generator=generator, dtype=torch.float64)  # uniform in [0, 1)
    if config.sampling == "uniform":
        ks = 1 + (u * config.max_delay).long()
    else:  # floor((max_delay + 1)^u): P(k) ∝ log((k + 1) / k)
        ks = torch.floor((config.max_delay + 1) ** u).long().clamp(1, config.max_delay)
    return _build(ks, config, generator)


def held_out_sequences(config: RecallConfig) -> torch.Tensor:
    """The held-out sequences (max_delay * test_per_k, length): test_per_k for k = 1, then for
    k = 2, …; the same for every model and seed, never trained on."""
    _require_config(config)
    ks = torch.arange(1, config.max_delay + 1).repeat_interleave(config.test_per_k)
    return _build(ks, config, torch.Generator().manual_seed(_HELD_OUT_SEED))


def _item_positions(sequences, config: RecallConfig) -> torch.Tensor:
    """Where each sequence's item is (b,), after checking that `sequences` (b, length) are
    task sequences: token ids, one item each, the query token last and only there."""
    if (not isinstance(sequences, torch.Tensor) or sequences.dtype == torch.bool
            or sequences.is_floating_point() or sequences.is_complex()):
        raise ValueError(f"sequences must be a torch.Tensor of token ids: got "
                         f"{describe(sequences)}")
    require_ndim("sequences", sequences, 2, "(b, length)")
    if sequences.shape[0] < 1 or sequences.shape[1] != config.length:
        raise ValueError(f"sequences must have shape (b, length) with b >= 1 and length = "
                         f"max_delay + 2 = {config.length}: got sequences.shape="
                         f"{tuple(sequences.shape)}")
    require_token_ids("sequences", sequences, config.vocab)
    is_item = sequences < config.items  # (b, length)
    per_row = is_item.sum(1)
    if not bool((per_row == 1).all()):
        row = int((per_row != 1).nonzero()[0])
        raise ValueError(f"sequences must hold exactly one item (id < items = {config.items}) "
                         f"each: row {row} holds {int(per_row[row])}")
    is_query = sequences == config.query
    if not bool(is_query[:, -1].all()) or int(is_query.sum()) != len(sequences):
        raise ValueError(f"sequences must end with the query token {config.query} and hold it "
                         f"nowhere else")
    positions = is_item.long().argmax(1)  # (b,)
    if int(positions.max()) > config.length - 3:  # right before the query: no delay at all
        row = int(positions.argmax())
        raise ValueError(f"sequences must have at least one distractor between item and "
                         f"query (k >= 1): row {row} has none")
    return positions


def answers(sequences, config: RecallConfig) -> torch.Tensor:
    """The answer to each sequence (b,): its item."""
    _require_config(config)
    positions = _item_positions(sequences, config)
    return sequences[torch.arange(len(sequences)), positions]


def delays(sequences, config: RecallConfig) -> torch.Tensor:
    """The delay k of each sequence (b,): how many distractors stand between item and query."""
    _require_config(config)
    return config.length - 2 - _item_positions(sequences, config)


# --- the models -------------------------------------------------------------------------------


def _require_ids(model: nn.Module, sequences) -> None:
    """Token ids (b, length) for `model`: b >= 1 (a mean over no sequences is NaN), ids in its
    vocabulary, exactly its length (the attention model has one position vector per place)."""
    config = model.config
    require_token_ids("sequences", sequences, config.vocab)
    require_ndim("sequences", sequences, 2, "(b, length)")
    if sequences.shape[0] < 1 or sequences.shape[1] != config.length:
        raise ValueError(f"sequences must have shape (b, length) with b >= 1 and the model's "
                         f"length = {config.length}: got sequences.shape="
                         f"{tuple(sequences.shape)}")


class RecurrentRecall(nn.Module):
    """An Elman RNN or an LSTM reads the sequence; its state after the query answers."""

    def __init__(self, cell: str, config: RecallConfig, hidden: int):
        super().__init__()
        require_choice("cell", cell, ("elman", "lstm"))
        _require_config(config)
        require_positive_int("hidden", hidden)
        rnn_class = {"elman": nn.RNN, "lstm": nn.LSTM}[cell]
        self.config = config
        self.tokens = nn.Embedding(config.vocab, config.width)
        self.rnn = rnn_class(config.width, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, config.items)

    def embed(self, sequences: torch.Tensor) -> torch.Tensor:
        return self.tokens(sequences)  # (b, length, width)

    def answer(self, embedded: torch.Tensor) -> torch.Tensor:
        """Logits (b, items) from the embedded sequence (b, length, width)."""
        states, _ = self.rnn(embedded)  # (b, length, hidden)
        # The state after reading the query token; O(b items) to check.
        logits = self.readout(states[:, -1])  # (b, items)
        require_no_overflow("logits", logits)
        return logits

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        """sequences (b, length) token ids -> logits (b, items)."""
        _require_ids(self, sequences)
        require_finite_parameters(type(self).__name__, self)  # O(parameters)
        return self.answer(self.embed(sequences))


class AttentionRecall(nn.Module):
    """One attention layer: the query token attends over the position-tagged sequence."""

    def __init__(self, config: RecallConfig):
        super().__init__()
        _require_config(config)
        d = config.width
        self.config = config
        self.tokens = nn.Embedding(config.vocab, d)
        self.positions = nn.Parameter(torch.randn(config.length, d))  # one vector per place
        self.w_q = nn.Linear(d, d, bias=False)
        self.w_k = nn.Linear(d, d, bias=False)
        self.w_v = nn.Linear(d, d, bias=False)
        self.readout = nn.Linear(d, config.items)

    def embed(self, sequences: torch.Tensor) -> torch.Tensor:
        return self.tokens(sequences)  # (b, length, d)

    def answer(self, embedded: torch.Tensor, return_weights: bool = False):
        """Logits (b, items), and optionally the query's weights (b, length)."""
        tagged = embedded + self.positions  # (b, length, d): what and where
        q = self.w_q(tagged[:, -1:])  # (b, 1, d): the query token asks
        k, v = self.w_k(tagged), self.w_v(tagged)  # (b, length, d) each
        for name, projected in (("tokens + positions", tagged), ("w_q(x)", q), ("w_k(x)", k),
                                ("w_v(x)", v)):  # O(b length d)
            require_no_overflow(name, projected)
        out, weights = attention_torch(q, k, v, return_weights=True)  # (b, 1, d), (b, 1, length)
        logits = self.readout(out[:, 0])  # (b, items)
        require_no_overflow("logits", logits)
        return (logits, weights[:, 0]) if return_weights else logits

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        """sequences (b, length) token ids -> logits (b, items)."""
        _require_ids(self, sequences)
        require_finite_parameters(type(self).__name__, self)  # O(parameters)
        return self.answer(self.embed(sequences))


def parameter_count(model: nn.Module) -> int:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module: got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters())


def _hidden_size_matching(cell: str, config: RecallConfig, target: int) -> int:
    """The hidden size whose parameter count is closest to `target` (ties: the smaller)."""
    gates = 4 if cell == "lstm" else 1

    def count(hidden):
        per_gate = config.width * hidden + hidden * hidden + 2 * hidden  # w_ih, w_hh, biases
        readout = hidden * config.items + config.items
        return config.vocab * config.width + gates * per_gate + readout

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


def _layout(config: RecallConfig) -> tuple[int, int, int, int]:
    """What a model's shapes depend on; the training settings may differ."""
    return config.items, config.distractors, config.max_delay, config.width


def _require_recall_model(model, config: RecallConfig | None = None) -> None:
    """A model from make_model, with finite weights, built for `config` if one is given."""
    if not isinstance(model, (RecurrentRecall, AttentionRecall)):
        raise ValueError(f"model must be a RecurrentRecall or AttentionRecall (make_model): "
                         f"got {type(model).__name__}")
    if config is not None and _layout(model.config) != _layout(config):
        raise ValueError(f"model must be built for config: it has (items, distractors, "
                         f"max_delay, width) = {_layout(model.config)}, config has "
                         f"{_layout(config)}")
    require_finite_parameters("model", model)


# --- training ---------------------------------------------------------------------------------


def _batches(size: int, batch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index batches over `size` items without end, reshuffled at every pass."""
    while True:
        yield from torch.randperm(size, generator=generator).split(batch)


def _step(model: nn.Module, optimiser, sequences: torch.Tensor, targets: torch.Tensor,
          where: str) -> float:
    """One Adam step on a batch (sequences (b, length), targets (b,)); its loss before it."""
    # The model was checked once before training, not per step: the forward's own checks
    # would be timed (T2).
    logits = model.answer(model.embed(sequences))  # (b, items)
    loss = nn.functional.cross_entropy(logits, targets)
    value = loss.item()
    if not math.isfinite(value):  # free: the loss is read anyway
        raise ValueError(f"training diverged: the loss is {value} at {where} "
                         f"(config.lr too large?)")
    optimiser.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
    optimiser.step()
    return value


def _loss(model: nn.Module, sequences: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean cross-entropy over sequences (b, length) against targets (b,), no gradients."""
    with torch.no_grad():
        return nn.functional.cross_entropy(model.answer(model.embed(sequences)),
                                           targets).item()


def _optimiser(model: nn.Module, config: RecallConfig):
    return torch.optim.Adam(model.parameters(), lr=config.lr, foreach=True)


class _StoppingRule:
    """The stopping rule's memory: the best validation loss so far, and how many readings
    have gone by without a new one."""

    def __init__(self, config: RecallConfig):
        self.config, self.best, self.stale = config, math.inf, 0

    def read(self, value: float) -> str | None:
        """Take one validation loss; return why to stop now ("solved", "plateau") or None."""
        # Relative: a fall of 0.01 nats matters at a loss of 0.05, not at 2.
        if value <= self.best * (1 - self.config.min_improvement):
            self.best, self.stale = value, 0
        else:
            self.stale += 1
        if value <= self.config.solved_loss:
            return "solved"
        return "plateau" if self.stale >= self.config.patience else None


def train(model: nn.Module, config: RecallConfig, seed: int, max_steps: int | None = None
          ) -> dict:
    """Train in place until the stopping rule says stop; return the log.

    Adam at a constant rate, cross-entropy of the answer, gradients clipped to norm 1, batches
    drawn from this seed's fixed training set, reshuffled each pass by a seeded generator.
    Every `eval_every` steps the loss on the fixed validation set is read. A value counts as a
    new best when it is at least `min_improvement` (a fraction) below the best so far.
    Training stops at the first of: the validation loss at or below `solved_loss`
    ("solved"); `patience` evaluations in a row without a new best ("plateau"); `max_steps`
    steps (config.max_steps unless given; "cap"). The model is left with the weights of its
    lowest validation loss. Call inside `deterministic()` for reproducible weights.

    Returns {"steps": steps taken, "stopped": one of STOPS, "best_step": step of the lowest
    validation loss, "eval_steps": [step of each evaluation], "val_loss": [validation loss
    at each], "train_loss": [mean training loss since the previous evaluation],
    "seconds": wall time of the training loop}.
    """
    _require_config(config)
    _require_recall_model(model, config)
    require_seed("seed", seed)
    if max_steps is not None:
        require_positive_int("max_steps", max_steps)
    cap = config.max_steps if max_steps is None else max_steps
    sequences = make_sequences(config.train_size, config, seed=1000 + seed)
    targets = answers(sequences, config)
    validation = make_sequences(config.val_size, config, seed=_VALIDATION_SEED)
    val_targets = answers(validation, config)
    batches = _batches(config.train_size, config.batch, torch.Generator().manual_seed(seed))
    optimiser = _optimiser(model, config)
    rule = _StoppingRule(config)
    log = {"eval_steps": [], "val_loss": [], "train_loss": []}
    since, lowest, kept = [], math.inf, None  # training losses since the last reading
    start = time.perf_counter()
    for step in range(1, cap + 1):
        batch = next(batches)
        since.append(_step(model, optimiser, sequences[batch], targets[batch], f"step {step}"))
        if step % config.eval_every and step < cap:
            continue
        value = _loss(model, validation, val_targets)
        if not math.isfinite(value):
            raise ValueError(f"training diverged: the validation loss is {value} at step "
                             f"{step} (config.lr = {config.lr} too large?)")
        log["eval_steps"].append(step)
        log["val_loss"].append(value)
        log["train_loss"].append(statistics.fmean(since))
        since = []
        if value < lowest:  # the weights kept: a copy only when they are the best yet
            lowest, best_step, kept = value, step, copy.deepcopy(model.state_dict())
        stopped = rule.read(value) or ("cap" if step == cap else None)
        if stopped:
            break
    seconds = time.perf_counter() - start
    # The kept weights gave a finite validation loss through a forward that checks every
    # weight first, so they are finite: no check needed here.
    model.load_state_dict(kept)
    return {"steps": step, "stopped": stopped, "best_step": best_step, **log,
            "seconds": seconds}


# --- what a trained model does ----------------------------------------------------------------


def _by_k(values: torch.Tensor, ks: torch.Tensor, max_delay: int) -> torch.Tensor:
    """Mean of `values` (b,) for each delay 1 … max_delay (max_delay,); every delay needed."""
    counts = torch.bincount(ks - 1, minlength=max_delay).double()
    if not bool((counts > 0).all()):
        missing = int((counts == 0).nonzero()[0]) + 1
        raise ValueError(f"sequences must include every delay from 1 to max_delay = "
                         f"{max_delay}: none has k = {missing}")
    return torch.zeros(max_delay, dtype=torch.float64).index_add_(
        0, ks - 1, values.double()) / counts


def accuracy_by_k(model: nn.Module, sequences) -> list[float]:
    """Fraction of correct answers for k = 1 … max_delay on `sequences` (b, length)."""
    _require_recall_model(model)
    _require_ids(model, sequences)  # first: a mismatch names the model as well
    config = model.config
    targets, ks = answers(sequences, config), delays(sequences, config)
    with torch.no_grad():
        logits = model.answer(model.embed(sequences))  # (b, items)
    correct = logits.argmax(-1) == targets  # (b,)
    return _by_k(correct, ks, config.max_delay).tolist()


def sensitivity_by_k(model: nn.Module, sequences, seed: int = 0) -> list[float]:
    """How strongly the answer depends on the item it must recall, for k = 1 … max_delay.

    The root-mean-square over the sequences with delay k of ‖∂logits / ∂e_item‖
    (Frobenius), with e the embedded sequence: the gradient of the answer with respect to
    the input k steps back. Estimated with one random probe per sequence (E‖Jᵀu‖² = ‖J‖² for
    u ~ N(0, I)); the sequences are independent, so one backward pass serves them all.
    """
    _require_recall_model(model)
    _require_ids(model, sequences)  # first: a mismatch names the model as well
    require_seed("seed", seed)
    config = model.config
    ks = delays(sequences, config)
    positions = config.length - 2 - ks
    generator = torch.Generator().manual_seed(seed)
    embedded = model.embed(sequences).detach().requires_grad_(True)  # (b, length, width)
    logits = model.answer(embedded)  # (b, items)
    probes = torch.randn(logits.shape, generator=generator)
    (grad,) = torch.autograd.grad((logits * probes).sum(), embedded)
    squared = grad[torch.arange(len(ks)), positions].pow(2).sum(-1)  # (b,): ‖Jᵀu‖² each
    return _by_k(squared, ks, config.max_delay).sqrt().tolist()


def _probe(held_out: torch.Tensor, config: RecallConfig) -> torch.Tensor:
    """The first few held-out sequences of every delay, for the sensitivities."""
    per_k = held_out.view(config.max_delay, config.test_per_k, config.length)
    return per_k[:, :_PROBES_PER_K].reshape(-1, config.length)


def run(config: RecallConfig, models=MODELS) -> dict:
    """Train every model with every seed; return what the page shows (JSON-ready).

    {"config", "parameters": {model: count}, "hidden": {model: hidden size or None},
     "accuracy": {model: [[held-out accuracy for k = 1 … max_delay] per seed]},
     "training": {model: [{"steps", "stopped", "best_step", "eval_steps", "val_loss",
                           "train_loss"} per seed]} (see `train`; wall times left out, so
                           the data is the same every run),
     "sensitivity": {model: [‖∂answer/∂item k back‖ for k]} (first seed, trained),
     "sensitivity_at_init": {model: [... for k]} (first seed, before training),
     "test_in_train": held-out sequences that also occur in a training set (expected 0)}
    """
    _require_config(config)
    _require_model_names(models)
    held_out = held_out_sequences(config)
    probe = _probe(held_out, config)
    result = {"config": config.to_dict(), "parameters": {}, "hidden": {}, "accuracy": {},
              "training": {}, "sensitivity": {}, "sensitivity_at_init": {}}
    seen = set()
    with deterministic():
        for seed in config.seeds:
            seen.update(map(tuple, make_sequences(config.train_size, config,
                                                  seed=1000 + seed).tolist()))
        result["test_in_train"] = sum(tuple(row) in seen for row in held_out.tolist())
        for name in models:
            result["accuracy"][name], result["training"][name] = [], []
            for seed in config.seeds:
                model = make_model(name, config, seed)
                first = seed == config.seeds[0]
                if first:
                    rnn = getattr(model, "rnn", None)
                    result["parameters"][name] = parameter_count(model)
                    result["hidden"][name] = rnn.hidden_size if rnn is not None else None
                    result["sensitivity_at_init"][name] = sensitivity_by_k(model, probe)
                log = train(model, config, seed)
                del log["seconds"]
                result["training"][name].append(log)
                result["accuracy"][name].append(accuracy_by_k(model, held_out))
                if first:
                    result["sensitivity"][name] = sensitivity_by_k(model, probe)
    return result


def epoch_seconds(config: RecallConfig, threads: int, *, timed: int = 1, models=MODELS,
                  seed: int = 0) -> dict[str, float]:
    """Median wall time of one training epoch per model, with `threads` threads (T2).

    An epoch is one pass over the training set: train_size / batch steps of `run`'s training,
    on the same models and data, with no evaluations. Each model first takes four steps on a
    throwaway copy (first calls pay for set-up), then trains `timed` epochs, each one timed.
    Not deterministic: it is a measurement.
    """
    _require_config(config)
    require_positive_int("threads", threads)
    require_positive_int("timed", timed)
    _require_model_names(models)
    require_seed("seed", seed)
    sequences = make_sequences(config.train_size, config, seed=1000 + seed)
    targets = answers(sequences, config)
    steps = -(-config.train_size // config.batch)
    result = {}
    with num_threads(threads):
        for name in models:
            batches = _batches(config.train_size, config.batch,
                               torch.Generator().manual_seed(seed))
            warm_up = make_model(name, config, seed)
            optimiser = _optimiser(warm_up, config)
            for i in range(4):
                batch = next(batches)
                _step(warm_up, optimiser, sequences[batch], targets[batch], f"warm-up step {i}")
            model = make_model(name, config, seed)
            optimiser = _optimiser(model, config)
            seconds = []
            for epoch in range(timed):
                start = time.perf_counter()
                for i in range(steps):
                    batch = next(batches)
                    _step(model, optimiser, sequences[batch], targets[batch],
                          f"epoch {epoch}, step {i}")
                seconds.append(time.perf_counter() - start)
            result[name] = statistics.median(seconds)
    return result
