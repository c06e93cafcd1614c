"""Who is "it"? A tiny attention model trained on generated sentences (claim A3, part a).

Sentences have the cheatsheet's shape, "the animal didn't cross the street because it was
too tired": an animal, a place, and an adjective that decides which of the two "it" is
(tired, hungry, ... describe the animal; wide, busy, ... describe the place). The model
answers by **pointing**: its prediction is the attention row of "it" in its second layer,
trained so that the referent gets the most weight. So the answer cannot bypass attention:
the weights from "it" *are* the answer.

How can it handle words it never saw? Each word is a fixed random vector (never trained)
plus a shared vector for its kind: every animal carries the same "animal" direction, every
animal-describing adjective the same "describes an animal" direction, and so on. A held-out
word is a new random vector with its kind's direction, so "unseen" means: never seen as a
word, but its kind is given. The model learns the routing (bring the adjective's kind to
the nouns, point from "it" at the noun whose kind matches), not what the words mean; without
the shared directions (`kind_features=False`) its accuracy on unseen words falls, which the
attention page shows as a control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ._checks import (
    describe,
    require_finite,
    require_finite_parameters,
    require_flag,
    require_int,
    require_ndim,
    require_no_overflow,
    require_nonempty,
    require_positive_int,
    require_real,
    require_seed,
    require_token_ids,
)
from ._threads import single_thread
from .attention import attention_torch

__all__ = [
    "ANIMALS",
    "PLACES",
    "ANIMAL_ADJECTIVES",
    "PLACE_ADJECTIVES",
    "HELD_OUT",
    "TEMPLATES",
    "Sentence",
    "ReferentModel",
    "ReferentResult",
    "generate",
    "train_referent_model",
]

# Nouns and adjectives, in two kinds each. Word lists are data, not code: any list works.
ANIMALS = ("animal", "dog", "cat", "horse", "cow", "fox", "deer", "rabbit", "goat", "sheep",
           "pig", "mouse", "duck", "bear", "wolf", "lion", "tiger", "camel", "donkey", "hen",
           "goose", "frog", "turtle", "squirrel", "badger", "otter", "moose", "pony")
PLACES = ("street", "road", "river", "bridge", "field", "park", "square", "highway", "lane",
          "path", "yard", "desert", "valley", "forest", "lake", "track", "canal", "stream",
          "meadow", "beach", "hill", "plaza", "avenue", "trail", "ditch", "swamp", "glacier",
          "pasture")
ANIMAL_ADJECTIVES = ("tired", "hungry", "sleepy", "scared", "lazy", "weak", "slow", "sick",
                     "nervous", "timid", "afraid", "cautious", "exhausted", "frightened",
                     "injured", "weary", "shy", "old")
PLACE_ADJECTIVES = ("wide", "busy", "crowded", "long", "muddy", "icy", "steep", "noisy",
                    "flooded", "slippery", "dark", "deep", "rocky", "windy", "polluted",
                    "dangerous", "vast", "hot")
# Never used in training. The cheatsheet's own four words are among them.
HELD_OUT = frozenset({
    "animal", "cow", "otter", "moose", "pony", "badger",
    "street", "canal", "plaza", "swamp", "glacier", "pasture",
    "tired", "timid", "weary", "shy", "cautious",
    "wide", "steep", "polluted", "vast", "windy",
})
# "{a}" = the animal, "{p}" = the place, "{j}" = the adjective. The referent's position
# varies (the place comes first in the last two), so "point at word 2" cannot work.
TEMPLATES = (
    "the {a} didn't cross the {p} because it was too {j}",
    "the {a} did not cross the {p} because it was too {j}",
    "the {a} didn't reach the {p} since it was so {j}",
    "the {a} never left the {p} because it was very {j}",
    "the {p} was not crossed by the {a} because it was too {j}",
    "the {p} wasn't reached by the {a} as it was so {j}",
)
KINDS = ("animal", "place", "animal-adjective", "place-adjective")


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    it: int  # position of "it"
    referent: int  # position of the noun "it" stands for
    other: int  # position of the other noun

    def __post_init__(self) -> None:
        # Positions index the words: one past the end would point at padding in a batch.
        if not isinstance(self.words, tuple) or not all(isinstance(w, str) for w in self.words):
            raise ValueError(f"words must be a tuple of strings: got {self.words!r}")
        for name in ("it", "referent", "other"):
            require_int(name, getattr(self, name), 0, len(self.words) - 1)


def _require_word(name: str, word) -> None:
    """One word: a string without spaces (a multi-word noun would shift every position)."""
    if not isinstance(word, str) or not word or word.split() != [word]:
        raise ValueError(f"{name} must be a single word: got {word!r}")


def make_sentence(template: int, animal: str, place: str, adjective: str) -> Sentence:
    """One sentence from a template; the adjective's kind decides the referent."""
    # A negative index would silently pick a template from the end.
    require_int("template", template, 0, len(TEMPLATES) - 1)
    for name, word in (("animal", animal), ("place", place), ("adjective", adjective)):
        _require_word(name, word)
    if animal == place:  # "it" could not tell them apart, and index() finds the first
        raise ValueError(f"animal and place must be different words: got {animal!r} for both")
    if animal not in ANIMALS:
        raise ValueError(f"animal must be one of ANIMALS: got {animal!r}")
    if place not in PLACES:
        raise ValueError(f"place must be one of PLACES: got {place!r}")
    words = tuple(TEMPLATES[template].format(a=animal, p=place, j=adjective).split())
    a, p = words.index(animal), words.index(place)
    if adjective in ANIMAL_ADJECTIVES:
        referent, other = a, p
    elif adjective in PLACE_ADJECTIVES:
        referent, other = p, a
    else:
        raise ValueError(f"unknown adjective {adjective!r}: add it to one of the two lists")
    return Sentence(words, words.index("it"), referent, other)


def generate(held_out: bool, n: int, rng: np.random.Generator) -> list[Sentence]:
    """`n` random sentences over the held-out words only, or over the training words only."""
    require_flag("held_out", held_out)
    require_positive_int("n", n)
    if not isinstance(rng, np.random.Generator):  # a seed here would be a silent new stream
        raise ValueError(f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(0): "
                         f"got {type(rng).__name__}")

    def pick(words):
        pool = [w for w in words if (w in HELD_OUT) == held_out]
        return pool[rng.integers(len(pool))]

    sentences = []
    for _ in range(n):
        adjectives = ANIMAL_ADJECTIVES if rng.random() < 0.5 else PLACE_ADJECTIVES
        sentences.append(make_sentence(int(rng.integers(len(TEMPLATES))), pick(ANIMALS),
                                       pick(PLACES), pick(adjectives)))
    return sentences


def kind_of(word: str) -> str | None:
    for kind, words in zip(KINDS, (ANIMALS, PLACES, ANIMAL_ADJECTIVES, PLACE_ADJECTIVES)):
        if word in words:
            return kind
    return None  # a function word: the, it, because, ...


def vocabulary() -> list[str]:
    """Every word the templates and word lists can produce, sorted."""
    words = {w for t in TEMPLATES for w in t.split() if "{" not in w}
    return sorted(words | set(ANIMALS) | set(PLACES) | set(ANIMAL_ADJECTIVES)
                  | set(PLACE_ADJECTIVES))


@dataclass(frozen=True)
class WordVectors:
    """Fixed (never trained) word vectors: `table[index[w]]` is the vector of word w."""

    index: dict[str, int]
    table: torch.Tensor  # (n_words, d)


def word_vectors(d: int, seed: int, kind_features: bool) -> WordVectors:
    """A random vector per word, plus its kind's shared vector when `kind_features`."""
    require_positive_int("d", d)
    require_seed("seed", seed)
    require_flag("kind_features", kind_features)
    rng = np.random.default_rng(seed)
    words = vocabulary()
    kinds = {kind: rng.standard_normal(d) / np.sqrt(d) for kind in KINDS}
    table = rng.standard_normal((len(words), d)) / np.sqrt(d)  # (n_words, d), ~unit rows
    for row, word in enumerate(words):
        kind = kind_of(word)
        if kind_features and kind is not None:
            table[row] += kinds[kind]
    return WordVectors({w: i for i, w in enumerate(words)},
                       torch.tensor(table, dtype=torch.float32))


def _require_sentences(sentences) -> None:
    if not isinstance(sentences, (list, tuple)) or not sentences:
        raise ValueError(f"sentences must be a non-empty list of Sentence: got "
                         f"{type(sentences).__name__}"
                         + (" (empty)" if isinstance(sentences, (list, tuple)) else ""))
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, Sentence):
            raise ValueError(f"sentences[{i}] must be a Sentence: got {type(sentence).__name__}")


def _require_vectors(name: str, vectors) -> None:
    if not isinstance(vectors, WordVectors):
        raise ValueError(f"{name} must be WordVectors (from word_vectors): got "
                         f"{type(vectors).__name__}")


def _require_known_words(name: str, sentence: Sentence, vectors: WordVectors) -> None:
    unknown = [w for w in sentence.words if w not in vectors.index]
    if unknown:
        raise ValueError(f"{name} has the word {unknown[0]!r}, which vectors has no vector for")


def encode(sentences: list[Sentence], vectors: WordVectors):
    """Word ids padded to the longest sentence: ids (b, n), real (b, n) bool, it, referent."""
    _require_sentences(sentences)
    _require_vectors("vectors", vectors)
    for i, sentence in enumerate(sentences):
        _require_known_words(f"sentences[{i}]", sentence, vectors)
    b, n = len(sentences), max(len(s.words) for s in sentences)  # sentences, longest length
    ids = torch.zeros(b, n, dtype=torch.int64)
    real = torch.zeros(b, n, dtype=torch.bool)
    for row, sentence in enumerate(sentences):
        ids[row, :len(sentence.words)] = torch.tensor([vectors.index[w] for w in sentence.words])
        real[row, :len(sentence.words)] = True
    it = torch.tensor([s.it for s in sentences])
    referent = torch.tensor([s.referent for s in sentences])
    return ids, real, it, referent


class ReferentModel(torch.nn.Module):
    """Two single-head attention layers over fixed word vectors plus learned positions.

    Layer 1 lets each word gather context (x + attention(x)). Layer 2's weights from "it"
    are the prediction: the referent should get the largest weight.
    """

    def __init__(self, vectors: WordVectors, max_len: int) -> None:
        super().__init__()
        _require_vectors("vectors", vectors)
        table = vectors.table
        if not isinstance(table, torch.Tensor) or not table.is_floating_point():
            raise ValueError(f"vectors.table must be a floating-point torch.Tensor: got "
                             f"{describe(table)}")
        require_ndim("vectors.table", table, 2, "(n_words, d)")
        require_nonempty("vectors.table", table, "(n_words, d)")
        require_finite("vectors.table", table)
        if (not isinstance(vectors.index, dict)
                or sorted(vectors.index.values()) != list(range(table.shape[0]))):
            raise ValueError(f"vectors.index must map the words to the rows of vectors.table, "
                             f"0 to {table.shape[0] - 1}, one word each")
        require_positive_int("max_len", max_len)
        d = vectors.table.shape[1]  # features
        self.register_buffer("word_table", vectors.table)  # fixed: not a parameter
        self.positions = torch.nn.Parameter(0.1 * torch.randn(max_len, d))
        self.w_q1, self.w_k1, self.w_v1 = (torch.nn.Linear(d, d, bias=False) for _ in range(3))
        self.w_q2, self.w_k2 = (torch.nn.Linear(d, d, bias=False) for _ in range(2))

    def forward(self, ids: torch.Tensor, real: torch.Tensor):
        """ids (b, n), real (b, n) -> layer-1 and layer-2 weights, each (b, n, n)."""
        self._check_inputs(ids, real)
        require_finite_parameters("ReferentModel", self)  # O(parameters): a few thousand
        b, n = ids.shape  # sentences, words
        x = self.word_table[ids] + self.positions[:n]  # (b, n, d)
        mask = real[:, None, :].expand(b, n, n)  # any word may attend to any real word
        mixed, weights_1 = attention_torch(*self._projected(x, "w_q1", "w_k1", "w_v1"), mask,
                                           return_weights=True)
        h = x + mixed  # (b, n, d): each word plus what it gathered (layer 2's projections
        # of h are checked, and would report an overflow here)
        # Only layer 2's weights are used (its values, h itself, are not).
        _, weights_2 = attention_torch(*self._projected(h, "w_q2", "w_k2"), h, mask,
                                       return_weights=True)
        return weights_1, weights_2

    def _projected(self, x: torch.Tensor, *names: str) -> list[torch.Tensor]:
        """x (b, n, d) through each named projection, each (b, n, d), checked for overflow:
        O(b n d), and the message names the projection rather than attention's q, k or v."""
        projected = [getattr(self, name)(x) for name in names]
        for name, result in zip(names, projected):
            require_no_overflow(f"{name}(x)", result)
        return projected

    def _check_inputs(self, ids, real) -> None:
        require_token_ids("ids", ids, self.word_table.shape[0])
        require_ndim("ids", ids, 2, "(b, n)")
        require_nonempty("ids", ids, "(b, n)")
        max_len = self.positions.shape[0]
        if ids.shape[1] > max_len:
            raise ValueError(f"ids must have at most max_len = {max_len} words per sentence "
                             f"(the model's positions): got ids.shape={tuple(ids.shape)}")
        if not isinstance(real, torch.Tensor) or real.dtype != torch.bool:
            raise ValueError(f"real must be a bool torch.Tensor (True = a word, False = "
                             f"padding): got {describe(real)}")
        if real.shape != ids.shape:
            raise ValueError(f"real must have the shape of ids {tuple(ids.shape)}: got "
                             f"real.shape={tuple(real.shape)}")
        empty = ~real.any(dim=1)  # (b,): a sentence of padding only has nothing to attend to
        if bool(empty.any()):
            raise ValueError(f"real row {int(empty.nonzero()[0])} is all False: every sentence "
                             "needs at least one word")


def it_rows(model: ReferentModel, ids, real, it) -> torch.Tensor:
    """The prediction: layer-2 weights from "it" over the words, (b, n)."""
    _, weights_2 = model(ids, real)
    return weights_2[torch.arange(len(it)), it]


def _require_tensor_list(name: str, tensors) -> None:
    """A list or tuple of finite floating-point tensors (a bare tensor would be iterated
    row by row)."""
    if not isinstance(tensors, (list, tuple)):
        raise ValueError(f"{name} must be a list of torch.Tensor: got {type(tensors).__name__}")
    for i, tensor in enumerate(tensors):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise ValueError(f"{name}[{i}] must be a floating-point torch.Tensor: got "
                             f"{describe(tensor)}")
        require_finite(f"{name}[{i}]", tensor.detach())


def adam_step(parameters, gradients, state: dict, lr: float, step: int,
              betas=(0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam update, written out. (torch.optim's first use imports torch._dynamo, which
    costs seconds of every cold build; the update itself is four lines.)"""
    _require_tensor_list("parameters", parameters)
    _require_tensor_list("gradients", gradients)
    if len(parameters) != len(gradients):  # zip would silently drop the extra ones
        raise ValueError(f"parameters and gradients must have the same length: got "
                         f"{len(parameters)} and {len(gradients)}")
    for i, (p, g) in enumerate(zip(parameters, gradients)):
        if p.shape != g.shape or p.dtype != g.dtype:
            raise ValueError(f"gradients[{i}] must have the shape and dtype of parameters[{i}], "
                             f"{tuple(p.shape)} {p.dtype}: got {tuple(g.shape)} {g.dtype}")
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict (empty at the first step): got "
                         f"{type(state).__name__}")
    require_real("lr", lr, positive=True)
    require_positive_int("step", step)  # 1-based: step 0 divides by 1 - beta ** 0 = 0
    require_real("eps", eps, positive=True)  # eps = 0 is 0 / 0 where a gradient is 0
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta_1, beta_2): got {betas!r}")
    for i, beta in enumerate(betas):
        require_real(f"betas[{i}]", beta)
        if not 0 <= beta < 1:  # beta = 1 divides by 1 - 1 = 0
            raise ValueError(f"betas[{i}] must be in [0, 1): got {beta!r}")
    beta_1, beta_2 = betas
    with torch.no_grad():
        for i, (p, g) in enumerate(zip(parameters, gradients)):
            m, v = state.setdefault(id(p), (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(beta_1).add_(g, alpha=1 - beta_1)  # running mean of the gradient
            v.mul_(beta_2).addcmul_(g, g, value=1 - beta_2)  # ... and of its square
            m_hat, v_hat = m / (1 - beta_1 ** step), v / (1 - beta_2 ** step)
            p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
            # O(parameters): a step too large for the dtype must not go on unnoticed.
            require_finite(f"parameters[{i}]", p, f"after this update, with lr = {lr}")


@dataclass
class ReferentResult:
    """A trained model and how it did. Accuracies are fractions of sentences."""

    model: ReferentModel
    vectors: WordVectors
    train_accuracy: float  # fresh sentences over the training words
    held_out_accuracy: float  # sentences whose nouns and adjective were all held out
    n_train: int  # training sentences drawn (with repeats)
    n_test: int  # sentences in each accuracy
    losses: list[float] = field(default_factory=list)

    def weights(self, sentence: Sentence):
        """Layer-1 and layer-2 weight tables of one sentence, numpy (n, n) each."""
        if not isinstance(sentence, Sentence):
            raise ValueError(f"sentence must be a Sentence: got {type(sentence).__name__}")
        _require_fits(self.model, [sentence], "sentence")
        _require_known_words("sentence", sentence, self.vectors)
        ids, real, _, _ = encode([sentence], self.vectors)
        with torch.no_grad(), single_thread():
            weights_1, weights_2 = self.model(ids, real)
        return weights_1[0].numpy(), weights_2[0].numpy()


def _require_fits(model: ReferentModel, sentences, name: str) -> None:
    """Sentences no longer than the model's positions (checked here, to name them)."""
    max_len = model.positions.shape[0]
    for i, sentence in enumerate(sentences):
        if len(sentence.words) > max_len:
            shown = name if name == "sentence" else f"{name}[{i}]"
            raise ValueError(f"{shown} has {len(sentence.words)} words: the model has positions "
                             f"for at most {max_len}")


def accuracy(model: ReferentModel, sentences: list[Sentence], vectors: WordVectors) -> float:
    """Fraction of sentences where the largest layer-2 weight from "it" is on the referent."""
    if not isinstance(model, ReferentModel):
        raise ValueError(f"model must be a ReferentModel: got {type(model).__name__}")
    _require_sentences(sentences)
    _require_vectors("vectors", vectors)
    # Other vectors would give every word another meaning, or ids past the model's table.
    table = vectors.table
    if (not isinstance(table, torch.Tensor) or table.shape != model.word_table.shape
            or not torch.equal(table, model.word_table)):
        raise ValueError("vectors must be the word vectors the model was built with")
    _require_fits(model, sentences, "sentences")
    ids, real, it, referent = encode(sentences, vectors)
    with torch.no_grad(), single_thread():
        rows = it_rows(model, ids, real, it)  # (b, n)
    return float((rows.argmax(dim=1) == referent).float().mean())


def train_referent_model(seed: int = 0, d: int = 32, steps: int = 150, batch_size: int = 64,
                         n_test: int = 1000, kind_features: bool = True,
                         lr: float = 0.01) -> ReferentResult:
    """Train on generated sentences over the training words; test on held-out words."""
    require_seed("seed", seed)
    for name, value in {"d": d, "steps": steps, "batch_size": batch_size,
                        "n_test": n_test}.items():
        require_positive_int(name, value)
    # kind_features and lr are checked where they are used, by word_vectors (before any work)
    # and by adam_step (at the first step).
    with single_thread():
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        vectors = word_vectors(d, seed, kind_features)
        model = ReferentModel(vectors, max_len=max(len(t.split()) for t in TEMPLATES))
        parameters = list(model.parameters())
        # One pool of training sentences, encoded once; each step draws a batch from it.
        ids, real, it, referent = encode(generate(False, steps * batch_size, rng), vectors)
        state: dict = {}
        losses = []
        for step in range(1, steps + 1):
            rows = slice((step - 1) * batch_size, step * batch_size)
            predicted = it_rows(model, ids[rows], real[rows], it[rows])  # (b, n)
            # Cross-entropy on the pointer: -log(weight from "it" on the referent).
            picked = predicted[torch.arange(batch_size), referent[rows]]
            loss = -torch.log(picked + 1e-9).mean()
            gradients = torch.autograd.grad(loss, parameters)
            losses.append(loss.item())
            if not np.isfinite(losses[-1]):  # free: the loss is read anyway
                raise ValueError(f"training diverged: the loss at step {step} is {losses[-1]} "
                                 f"(lr = {lr} too large?)")
            adam_step(parameters, gradients, state, lr, step)
        model.eval()
        return ReferentResult(
            model=model,
            vectors=vectors,
            train_accuracy=accuracy(model, generate(False, n_test, rng), vectors),
            held_out_accuracy=accuracy(model, generate(True, n_test, rng), vectors),
            n_train=steps * batch_size,
            n_test=n_test,
            losses=losses,
        )
