"""The all-MiniLM-L6-v2 loader (attnsheet.models), the analysis of its weights, and the
explorer's data. No network and no transformers: the reference outputs are a committed
fixture written by scripts/minilm_reference.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from attnsheet.evidence.render.attention import explorer
from attnsheet.evidence.sections.attention import EXPLORER
from attnsheet.evidence.stage import script_data_file
from attnsheet.experiments.attention import (
    PAIRS,
    Maps,
    Pair,
    pretrained_maps,
    referent_heads,
    token_groups,
)
from attnsheet.models import (
    MINILM_SHA256,
    WeightsHashError,
    load_minilm,
    minilm_dir,
    sha256_of,
    verify_sha256,
)

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def model():
    return load_minilm()


@pytest.fixture(scope="module")
def reference():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fixture_is_for_these_weights(reference):
    assert reference["weights_sha256"] == MINILM_SHA256
    assert reference["tolerance"] == TOLERANCE
    assert reference["largest_difference"]["hidden_states"] <= TOLERANCE
    assert reference["largest_difference"]["attentions"] <= TOLERANCE
    assert [s["text"] for s in reference["sentences"]] == list(PAIRS[0].sentences)


def test_loader_matches_the_transformers_reference(model, reference):
    for sentence in reference["sentences"]:
        encoded = model.encode(sentence["text"])
        assert encoded.tokens == sentence["tokens"]
        assert encoded.ids == sentence["ids"]
        it = sentence["it"]
        expected = torch.tensor(sentence["attention_it"])  # (layers, heads, n)
        gap = (encoded.attentions[:, :, it, :] - expected).abs().max()
        assert gap <= TOLERANCE, f"attention differs by {gap:.2e}"
        for layer, row in sentence.get("hidden_it", {}).items():
            gap = (encoded.hidden_states[int(layer), it] - torch.tensor(row)).abs().max()
            assert gap <= TOLERANCE, f"hidden state {layer} differs by {gap:.2e}"
    assert any("hidden_it" in s for s in reference["sentences"])


def test_shapes_and_rows(model):
    encoded = model.encode("the animal was tired.")
    n = len(encoded.tokens)
    assert encoded.tokens[0] == "[CLS]" and encoded.tokens[-1] == "[SEP]"  # no [PAD]
    assert encoded.hidden_states.shape == (7, n, 384)
    assert encoded.attentions.shape == (6, 12, n, n)
    torch.testing.assert_close(encoded.attentions.sum(-1), torch.ones(6, 12, n))


def test_value_norms_are_each_heads_value_through_its_output_columns(model):
    """‖v_j W_O^h‖ recomputed head by head from the layer's input (Kobayashi et al., 2020)."""
    encoded = model.encode("the animal was tired.")
    n, heads, d_head = len(encoded.tokens), 12, 32
    assert encoded.value_norms.shape == (6, heads, n)
    w = model.encoder.weights
    for layer in (0, 5):
        prefix = f"encoder.layer.{layer}.attention"
        x = encoded.hidden_states[layer]  # the layer's input, (n, 384)
        v = x @ w[f"{prefix}.self.value.weight"].T + w[f"{prefix}.self.value.bias"]
        w_out = w[f"{prefix}.output.dense.weight"]
        for h in range(heads):
            columns = slice(h * d_head, (h + 1) * d_head)
            expected = (v[:, columns] @ w_out[:, columns].T).norm(dim=-1)  # (n,)
            torch.testing.assert_close(encoded.value_norms[layer, h], expected)


def test_loader_refuses_a_file_with_the_wrong_hash(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(WeightsHashError, match=r"refusing to load .*model\.safetensors: its "
                                               r"SHA-256 is [0-9a-f]{64}, expected 53aa5117"):
        load_minilm(tmp_path)


def test_loader_refuses_the_real_file_against_another_hash():
    with pytest.raises(WeightsHashError, match="expected 0000"):
        load_minilm(expected_sha256="0" * 64)


def test_the_installed_weights_have_the_pinned_hash():
    path = minilm_dir() / "model.safetensors"
    assert sha256_of(path) == MINILM_SHA256
    verify_sha256(path, MINILM_SHA256.upper(), "the file")  # case does not matter


def test_bad_inputs_are_named(model):
    with pytest.raises(ValueError, match="non-empty string"):
        model.encode("  ")
    with pytest.raises(ValueError, match=r"ids must hold ids from 0 to 30521 \(the vocabulary\): "
                                         r"got 40000"):
        model.encoder(torch.tensor([101, 40000, 102]))
    with pytest.raises(ValueError, match=r"ids must be 1-D"):
        model.encoder(torch.tensor([[101, 102]]))


# --- the analysis of the weights ---------------------------------------------------------


def fake_maps(tokens: list[str], it_rows: np.ndarray) -> Maps:
    """Maps whose rows of "it" are `it_rows` (layers, heads, n); other rows uniform."""
    layers, heads, n = it_rows.shape
    attentions = np.full((layers, heads, n, n), 1 / n)
    attentions[:, :, tokens.index("it"), :] = it_rows
    return Maps(" ".join(tokens), tokens, attentions, np.ones((layers, heads, n)))


def test_referent_heads_count_follow_and_opposite():
    pair = Pair("the cat saw the dog and it was {}.", "cat", "dog", "sleepy", "loud")
    tokens = "[CLS] the cat saw the dog and it was X . [SEP]".split()
    cat, dog = tokens.index("cat"), tokens.index("dog")
    first, second = np.zeros((1, 3, len(tokens))), np.zeros((1, 3, len(tokens)))
    first[0, 0, cat], second[0, 0, dog] = 0.6, 0.6  # head 0 follows the referent
    first[0, 1, dog], second[0, 1, cat] = 0.6, 0.6  # head 1 does the opposite
    first[0, 2, cat], second[0, 2, cat] = 0.6, 0.6  # head 2 always picks the cat
    follows, opposite = referent_heads(pair, (fake_maps(tokens, first),
                                              fake_maps(tokens, second)))
    assert follows.tolist() == [[True, False, False]]
    assert opposite.tolist() == [[False, True, False]]
    # The gap between the nouns moves by 1.2 in heads 0 and 1: a margin up to that keeps
    # them, a larger one drops them.
    follows, opposite = referent_heads(pair, (fake_maps(tokens, first),
                                              fake_maps(tokens, second)), margin=1.2)
    assert follows.tolist() == [[True, False, False]]
    assert opposite.tolist() == [[False, True, False]]
    follows, opposite = referent_heads(pair, (fake_maps(tokens, first),
                                              fake_maps(tokens, second)), margin=1.25)
    assert not follows.any() and not opposite.any()


def test_token_groups_cover_every_token_once():
    tokens = "[CLS] the animal didn ' t cross the street because it was too tired . [SEP]"
    tokens = tokens.split()
    groups = token_groups(tokens, PAIRS[0])
    positions = sorted(j for idx in groups.values() for j in idx)
    assert positions == list(range(len(tokens)))
    assert [tokens[j] for j in groups["[CLS] and [SEP]"]] == ["[CLS]", "[SEP]"]
    assert [tokens[j] for j in groups["punctuation"]] == ["'", "."]


def test_every_pair_has_one_token_per_noun(model):
    for pair in PAIRS:
        for text in pair.sentences:
            tokens = model.encode(text).tokens
            assert tokens.count("it") == 1, text
            assert tokens.count(pair.first) == 1 and tokens.count(pair.second) == 1, text


# --- the explorer's data -----------------------------------------------------------------


@pytest.fixture(scope="module")
def maps_data():
    return pretrained_maps(margin=0.05)


def test_the_counts_at_a_margin_are_a_subset(maps_data):
    for pair in maps_data["pairs"]:
        assert pair["follows_at_margin"] <= pair["follows"]
        assert pair["opposite_at_margin"] <= pair["opposite"]
    n_pairs, heads = len(PAIRS), maps_data["layers"] * maps_data["heads"]
    per_head = np.array(maps_data["per_head_follows"])
    assert per_head.shape == (6, 12) and per_head.max() <= n_pairs
    assert per_head.sum() == sum(p["follows"] for p in maps_data["pairs"])
    assert sum(maps_data["mean_share"].values()) == pytest.approx(1, abs=1e-5)
    assert sum(maps_data["mean_added_share"].values()) == pytest.approx(1, abs=1e-5)
    assert 0 <= maps_data["heads_mostly_special"] <= heads


# The decoder's part of the explorer, as small as the renderer accepts (tests/test_smollm.py
# checks the real one against the model).
TINY_DECODER = {"model": "a decoder", "layers": 1, "heads": 1, "best": [0, 0],
                "quantisation": "4-bit", "file_sha256": "0" * 64,
                "all_sentences": [{"text": "It was.", "tokens": ["It", "Ġwas", "."], "it": 0,
                                   "weights": [[[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]]]}]}


def test_explorer_json_matches_the_library(maps_data, model):
    rendered = explorer(maps_data, TINY_DECODER, decimals=3, name=EXPLORER)
    # The container names the JSON the pipeline publishes for this item, from the site root.
    assert f'data-src="data/page/{EXPLORER}.json"' in rendered.parts[""][0]
    encoder, decoder = json.loads(json.dumps(rendered.scripts[""]))["models"]
    assert (encoder["causal"], decoder["causal"]) == (False, True)
    assert decoder["sentences"][0]["tokens"] == ["It", "was", "."]  # the space marker dropped
    assert decoder["sentences"][0]["src"] == script_data_file(EXPLORER, "causal-0")
    data = encoder
    assert data["sha256"] == MINILM_SHA256
    assert (data["layers"], data["heads"]) == (6, 12)
    default = data["default"]
    assert 0 <= default["layer"] < 6 and 0 <= default["head"] < 12
    # Every analysed sentence, each with its own weights file.
    assert [s["text"] for s in data["sentences"]] == [t for p in PAIRS for t in p.sentences]
    half_step = 0.5 * 10 ** -data["decimals"] + 1e-9  # rounding error allowed
    for i, sentence in enumerate(data["sentences"]):
        assert sentence["src"] == script_data_file(EXPLORER, str(i))
        encoded = model.encode(sentence["text"])
        assert sentence["tokens"] == encoded.tokens
        assert sentence["tokens"][sentence["it"]] == "it"
        shown = np.array(rendered.scripts[str(i)]["weights"])  # (layers, heads, n, n)
        assert shown.shape == tuple(encoded.attentions.shape)
        assert np.abs(shown - encoded.attentions.double().numpy()).max() <= half_step
