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

from ._checks import require_positive_int
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


def make_sentence(template: int, animal: str, place: str, adjective: str) -> Sentence:
    """One sentence from a template; the adjective's kind decides the referent."""
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
    require_positive_int("n", n)

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


def encode(sentences: list[Sentence], vectors: WordVectors):
    """Word ids padded to the longest sentence: ids (b, n), real (b, n) bool, it, referent."""
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
        d = vectors.table.shape[1]  # features
        self.register_buffer("word_table", vectors.table)  # fixed: not a parameter
        self.positions = torch.nn.Parameter(0.1 * torch.randn(max_len, d))
        self.w_q1, self.w_k1, self.w_v1 = (torch.nn.Linear(d, d, bias=False) for _ in range(3))
        self.w_q2, self.w_k2 = (torch.nn.Linear(d, d, bias=False) for _ in range(2))

    def forward(self, ids: torch.Tensor, real: torch.Tensor):
        """ids (b, n), real (b, n) -> layer-1 and layer-2 weights, each (b, n, n)."""
        b, n = ids.shape  # sentences, words
        x = self.word_table[ids] + self.positions[:n]  # (b, n, d)
        mask = real[:, None, :].expand(b, n, n)  # any word may attend to any real word
        mixed, weights_1 = attention_torch(self.w_q1(x), self.w_k1(x), self.w_v1(x), mask,
                                           return_weights=True)
        h = x + mixed  # (b, n, d): each word plus what it gathered
        # Only layer 2's weights are used (its values, h itself, are not).
        _, weights_2 = attention_torch(self.w_q2(h), self.w_k2(h), h, mask, return_weights=True)
        return weights_1, weights_2


def it_rows(model: ReferentModel, ids, real, it) -> torch.Tensor:
    """The prediction: layer-2 weights from "it" over the words, (b, n)."""
    _, weights_2 = model(ids, real)
    return weights_2[torch.arange(len(it)), it]


def adam_step(parameters, gradients, state: dict, lr: float, step: int,
              betas=(0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam update, written out. (torch.optim's first use imports torch._dynamo, which
    costs seconds of every cold build; the update itself is four lines.)"""
    beta_1, beta_2 = betas
    with torch.no_grad():
        for p, g in zip(parameters, gradients):
            m, v = state.setdefault(id(p), (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(beta_1).add_(g, alpha=1 - beta_1)  # running mean of the gradient
            v.mul_(beta_2).addcmul_(g, g, value=1 - beta_2)  # ... and of its square
            m_hat, v_hat = m / (1 - beta_1 ** step), v / (1 - beta_2 ** step)
            p.sub_(lr * m_hat / (v_hat.sqrt() + eps))


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
        ids, real, _, _ = encode([sentence], self.vectors)
        with torch.no_grad(), single_thread():
            weights_1, weights_2 = self.model(ids, real)
        return weights_1[0].numpy(), weights_2[0].numpy()


def accuracy(model: ReferentModel, sentences: list[Sentence], vectors: WordVectors) -> float:
    """Fraction of sentences where the largest layer-2 weight from "it" is on the referent."""
    ids, real, it, referent = encode(sentences, vectors)
    with torch.no_grad(), single_thread():
        rows = it_rows(model, ids, real, it)  # (b, n)
    return float((rows.argmax(dim=1) == referent).float().mean())


def train_referent_model(seed: int = 0, d: int = 32, steps: int = 150, batch_size: int = 64,
                         n_test: int = 1000, kind_features: bool = True,
                         lr: float = 0.01) -> ReferentResult:
    """Train on generated sentences over the training words; test on held-out words."""
    for name, value in {"d": d, "steps": steps, "batch_size": batch_size,
                        "n_test": n_test}.items():
        require_positive_int(name, value)
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
            adam_step(parameters, gradients, state, lr, step)
            losses.append(loss.item())
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
