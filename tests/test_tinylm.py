"""The tiny language model: generation with the key/value cache gives the same tokens and
logits as re-running the whole sequence, it cannot see the future, a short training run
lowers its loss, and bad input is refused with a ValueError that says what is wrong."""

from __future__ import annotations

import math

import pytest
import torch

import attnsheet
from attnsheet._threads import single_thread
from attnsheet.tinylm import CharVocab, TinyLM, train
from attnsheet.transformer import KVCache

TOLERANCE = 1e-5  # float32, cached vs full forward
TEXT = ("Beautiful is better than ugly.\nExplicit is better than implicit.\n"
        "Simple is better than complex.\nComplex is better than complicated.\n")


@pytest.fixture(autouse=True)
def one_thread():
    """These matrices are tiny: on a busy 2-core machine, two torch threads fighting over the
    cores made the training test take tens of seconds instead of under one."""
    with single_thread():
        yield


def seeded_model(vocab_size=20, max_len=48, seed=0, **sizes):
    torch.manual_seed(seed)
    return TinyLM(vocab_size, max_len=max_len, d_model=32, n_heads=4, n_layers=2, d_ff=64,
                  **sizes).eval()


def random_ids(shape, vocab_size=20, seed=1):
    return torch.randint(0, vocab_size, shape, generator=torch.Generator().manual_seed(seed))


# --- the vocabulary ---------------------------------------------------------------------------


def test_vocab_round_trip_and_ids():
    vocab = CharVocab(TEXT)
    assert len(vocab) == len(set(TEXT))
    assert list(vocab.chars) == sorted(set(TEXT))
    ids = vocab.encode("Simple")
    assert ids.dtype == torch.int64 and ids.shape == (6,)
    assert [vocab.chars[i] for i in ids.tolist()] == list("Simple")
    assert vocab.decode(ids) == "Simple"
    assert vocab.decode([0, 1]) == vocab.chars[0] + vocab.chars[1]


def test_vocab_rejects_bad_input():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match="text must not be empty"):
        CharVocab("")
    with pytest.raises(ValueError, match="2 character\\(s\\) not in the vocabulary: first is 'd' "
                                         "at index 1"):
        vocab.encode("adcz")
    with pytest.raises(ValueError, match="out of the vocabulary's range 0..2: got 3"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match="integer token ids"):
        vocab.decode(torch.tensor([0.0, 1.0]))


# --- the model: causal, and the cache changes nothing but the work ----------------------------


@pytest.mark.parametrize("shape", [(17,), (3, 17)], ids=["one sequence", "batch"])
def test_forward_shapes_and_no_peeking(shape):
    model, ids = seeded_model(), random_ids(shape)
    changed = ids.clone()
    changed[..., 10] = (changed[..., 10] + 1) % 20  # a different character at position 10
    with torch.no_grad():
        logits, logits_changed = model(ids), model(changed)
    assert logits.shape == (*shape, 20)
    gap = (logits - logits_changed).abs().amax(dim=-1)  # (..., n): change at each position
    assert gap[..., :10].max().item() == 0.0  # positions before 10 cannot see it...
    assert gap[..., 10:].min().item() > 1e-4  # ...every later one does


@pytest.mark.parametrize("shape", [(20,), (2, 20)], ids=["one sequence", "batch"])
def test_forward_cached_in_pieces_equals_forward(shape):
    model, ids = seeded_model(), random_ids(shape)
    with torch.no_grad():
        full = model(ids)
        pieces, caches, start = [], None, 0
        for size in (7, 1, 1, 4, 1, 6):
            logits, caches = model.forward_cached(ids[..., start:start + size], caches)
            pieces.append(logits)
            start += size
    assert len(caches) == 2 and all(isinstance(c, KVCache) and c.length == 20 for c in caches)
    assert (torch.cat(pieces, dim=-2) - full).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("shape", [(5,), (3, 5)], ids=["one prompt", "batch of prompts"])
@pytest.mark.parametrize("greedy", [True, False], ids=["greedy", "sampled"])
def test_generate_with_and_without_cache_agree(shape, greedy):
    model, prompt, n_new = seeded_model(), random_ids(shape), 30
    runs = {}
    for use_cache in (False, True):
        generator = None if greedy else torch.Generator().manual_seed(7)
        runs[use_cache] = model.generate(prompt, n_new, use_cache=use_cache, greedy=greedy,
                                         generator=generator, return_logits=True)
    (ids_full, logits_full), (ids_cached, logits_cached) = runs[False], runs[True]
    assert ids_full.shape == (*shape[:-1], shape[-1] + n_new)
    assert torch.equal(ids_full[..., :shape[-1]], prompt)
    assert torch.equal(ids_cached, ids_full)
    assert logits_cached.shape == (*shape[:-1], n_new, 20)
    assert (logits_cached - logits_full).abs().max().item() < TOLERANCE
    # The logits each token was chosen from are the full forward's on the final text.
    with torch.no_grad():
        replayed = model(ids_full[..., :-1])[..., shape[-1] - 1:, :]
    assert (logits_cached - replayed).abs().max().item() < TOLERANCE
    if greedy:
        assert torch.equal(ids_full[..., shape[-1]:], logits_full.argmax(dim=-1))
    else:  # a sampled text is not the greedy one (so the sampling path really ran)
        assert not torch.equal(ids_full[..., shape[-1]:], logits_full.argmax(dim=-1))


def test_sampling_repeats_with_the_seed_and_changes_without_it():
    model, prompt = seeded_model(), random_ids((4,))

    def sample(seed):
        return model.generate(prompt, 25, use_cache=True, greedy=False,
                              generator=torch.Generator().manual_seed(seed))

    assert torch.equal(sample(3), sample(3))
    assert not torch.equal(sample(3), sample(4))


def test_generate_can_fill_the_whole_context():
    model = seeded_model(max_len=24)
    prompt = random_ids((4,))
    out = model.generate(prompt, 20, use_cache=True)
    assert out.shape == (24,)
    assert torch.equal(out, model.generate(prompt, 20, use_cache=False))


# --- training -------------------------------------------------------------------------------


def test_training_lowers_the_loss_and_repeats():
    vocab = CharVocab(TEXT)
    ids = vocab.encode(TEXT)

    def run():
        model = seeded_model(vocab_size=len(vocab), max_len=32)
        return model, train(model, ids, steps=40, batch=8, context=24, lr=1e-2, seed=0)

    model, losses = run()
    assert len(losses) == 40 and all(math.isfinite(loss) for loss in losses)
    # An untrained model guesses about uniformly: loss near ln(vocab size).
    assert abs(losses[0] - math.log(len(vocab))) < 0.5
    # 40 steps take the loss at least 1 nat below where it started...
    assert sum(losses[-5:]) / 5 < losses[0] - 1.0
    assert not model.training  # train leaves the model ready to generate
    # ...and a second run with the same seeds gives the same losses.
    assert run()[1] == losses


# --- input checks ---------------------------------------------------------------------------


def test_model_rejects_bad_input():
    model = seeded_model(max_len=16)
    prompt = torch.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="prompt_ids must not be empty"):
        model.generate(torch.tensor([], dtype=torch.int64), 3, use_cache=True)
    with pytest.raises(ValueError, match="out of the vocabulary's range 0..19: got 20"):
        model.generate(torch.tensor([1, 20]), 3, use_cache=True)
    with pytest.raises(ValueError, match="out of the vocabulary's range 0..19: got -1"):
        model(torch.tensor([-1, 2]))
    with pytest.raises(ValueError, match=r"prompt_ids \(3 positions\) \+ n_new \(14\) is longer "
                                         "than the model's max context max_len=16"):
        model.generate(prompt, 14, use_cache=False)
    with pytest.raises(ValueError, match="ids has 17 positions, longer than the model's max "
                                         "context max_len=16"):
        model(random_ids((17,)))
    with pytest.raises(ValueError, match="must hold integer token ids: got dtype torch.float32"):
        model.generate(prompt.float(), 3, use_cache=True)
    with pytest.raises(ValueError, match="must hold integer token ids: got dtype torch.bool"):
        model(torch.tensor([True, False]))
    with pytest.raises(ValueError, match="must be a torch.Tensor of token ids: got list"):
        model([1, 2, 3])
    with pytest.raises(ValueError, match=r"layout \(n,\) or \(batch, n\)"):
        model(random_ids((2, 2, 3)))
    with pytest.raises(ValueError, match="n_new must be a positive integer"):
        model.generate(prompt, 0, use_cache=True)
    with pytest.raises(ValueError, match="use_cache must be True or False"):
        model.generate(prompt, 3, use_cache="yes")
    with pytest.raises(ValueError, match="sampling \\(greedy=False\\) needs generator"):
        model.generate(prompt, 3, use_cache=True, greedy=False)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        model.generate(prompt, 3, use_cache=True, greedy=False,
                       generator=torch.Generator(), temperature=0)
    with torch.no_grad():
        _, caches = model.forward_cached(random_ids((10,)))
    with pytest.raises(ValueError, match="caches' 10 positions \\+ ids_new's 7 are longer"):
        model.forward_cached(random_ids((7,)), caches)
    with pytest.raises(ValueError, match="one KVCache per block \\(2\\): got list of length 1"):
        model.forward_cached(random_ids((1,)), caches[:1])


def test_train_rejects_bad_input():
    model, ids = seeded_model(max_len=16), random_ids((40,))
    with pytest.raises(ValueError, match="context=17 is longer than the model's max context"):
        train(model, ids, steps=1, batch=2, context=17)
    with pytest.raises(ValueError, match="ids has 40 characters: a window of context=40"):
        train(seeded_model(max_len=64), ids, steps=1, batch=2, context=40)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train(model, ids, steps=0, batch=2, context=8)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        train(model, ids, steps=1, batch=2, context=8, lr=float("nan"))
    with pytest.raises(ValueError, match="must hold integer token ids"):
        train(model, ids.float(), steps=1, batch=2, context=8)
    with pytest.raises(ValueError, match="model must be a TinyLM"):
        train(torch.nn.Linear(2, 2), ids, steps=1, batch=2, context=8)


def test_public_names():
    for name in ("TinyLM", "CharVocab", "train", "KVCache"):
        assert name in attnsheet.__all__
        assert getattr(attnsheet, name) is not None
    assert attnsheet.TinyLM is TinyLM
