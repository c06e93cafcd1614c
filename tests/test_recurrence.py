"""The recurrence page's experiments (R1–R4, T2) on tiny settings: a few seconds in all."""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

from attnsheet import attention_torch, elman_rnn_torch, init_elman_np
from attnsheet.evidence import recurrence as evidence
from attnsheet.forgetting import (
    attention_jacobian_norms,
    attention_sensitivity,
    rnn_jacobian_norms,
    rnn_sensitivity,
)
from attnsheet.recall import (
    MODELS,
    AttentionRecall,
    RecallConfig,
    RecurrentRecall,
    accuracy_by_k,
    answers,
    deterministic,
    epoch_seconds,
    held_out_sequences,
    make_model,
    make_sequences,
    parameter_count,
    run,
    sensitivity_by_k,
    train,
)
from attnsheet.speed import critical_path, make_forwards, measure_forwards, num_threads

from .helpers import SNIPPETS

# Small enough to train in about a second per model, big enough for the effect to show.
TINY = RecallConfig(vocab=4, n_ctx=12, width=16, train_size=512, test_size=300, epochs=4,
                    batch=32, lr=0.03, seeds=(0,))


# --- R1 / R2: chains and timings -----------------------------------------------------------


def test_rnn_chain_grows_by_a_fixed_amount_per_token_attention_chain_is_constant():
    forwards = make_forwards(8, seed=0)
    chains = {}
    for n in (4, 8, 16):
        x = torch.randn(n, 8, requires_grad=True)
        chains[n] = {name: critical_path(forwards[name](x)) for name in ("elman-loop",
                                                                          "attention")}
    per_token = (chains[16]["elman-loop"] - chains[8]["elman-loop"]) / 8
    assert per_token == (chains[8]["elman-loop"] - chains[4]["elman-loop"]) / 4 >= 1
    assert chains[4]["attention"] == chains[8]["attention"] == chains[16]["attention"]
    assert chains[16]["attention"] < chains[4]["elman-loop"]


def test_critical_path_counts_a_known_graph():
    x = torch.ones(3, requires_grad=True)
    assert critical_path(((x * 2).exp() + x).sum()) == 4  # mul -> exp -> add -> sum
    assert critical_path((x + x).sum()) == 2
    with pytest.raises(ValueError, match="no autograd graph"):
        critical_path(torch.ones(3))


def test_the_timed_rnns_compute_the_same_states():
    forwards = make_forwards(16, seed=3)
    x = torch.randn(20, 16)
    with torch.no_grad():
        torch.testing.assert_close(forwards["torch-rnn"](x), forwards["elman-loop"](x),
                                   rtol=1e-5, atol=1e-5)


def test_measure_forwards_returns_a_row_per_forward_length_and_thread_count():
    rows = measure_forwards([4, 8], 8, [1, 2], rounds=2, sample_s=1e-4)
    assert len(rows) == 3 * 2 * 2
    assert {(r["forward"], r["n"], r["threads"]) for r in rows} == {
        (f, n, t) for f in ("elman-loop", "torch-rnn", "attention") for n in (4, 8)
        for t in (1, 2)}
    assert all(r["seconds"] > 0 and r["rounds"] == 2 and r["calls"] >= 1 for r in rows)


def test_num_threads_restores_the_previous_setting():
    before = torch.get_num_threads()
    with num_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# --- R3a: gradients ------------------------------------------------------------------------


def test_rnn_jacobian_norms_match_autograd():
    weights = {k: torch.from_numpy(v) for k, v in init_elman_np(3, 5, seed=1).items()}
    x = torch.randn(7, 3, dtype=torch.float64)

    def from_first(x0):
        return elman_rnn_torch(torch.cat([x0[None], x[1:]]), **weights)  # (7, 5)

    jacobian = torch.autograd.functional.jacobian(from_first, x[0])  # (7, 5, 3)
    torch.testing.assert_close(rnn_jacobian_norms(x, **weights),
                               jacobian.flatten(1).norm(dim=1), rtol=1e-10, atol=1e-12)


def test_attention_jacobian_norms_match_autograd():
    w = torch.randn(4, 4, dtype=torch.float64)
    x = torch.randn(6, 4, dtype=torch.float64)

    def forward(inp):
        return attention_torch(inp @ w, inp, inp)

    jacobian = torch.autograd.functional.jacobian(
        lambda x0: forward(torch.cat([x0[None], x[1:]])), x[0])  # (6, 4, 4)
    torch.testing.assert_close(attention_jacobian_norms(forward, x),
                               jacobian.flatten(1).norm(dim=1), rtol=1e-10, atol=1e-12)


def test_rnn_gradient_fades_with_small_weights_attention_does_not_fade_with_distance():
    fading = rnn_sensitivity(40, 8, recurrent_scale=0.5, n_sequences=2)
    assert fading[-1] < 1e-6 * fading[0]
    direct = attention_sensitivity(40, 8, n_sequences=2)
    assert 0.1 < evidence.window_ratio(direct) < 10  # flat: no trend with distance


# --- R3b / T2: the recall experiment ---------------------------------------------------------


def test_the_task_asks_for_the_context_reversed():
    contexts = make_sequences(5, TINY, seed=0)
    assert contexts.shape == (5, TINY.n_ctx)
    assert 0 <= contexts.min() and contexts.max() < TINY.vocab
    k = 3
    assert torch.equal(answers(contexts)[:, k - 1], contexts[:, TINY.n_ctx - k])


@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_the_written_out_query_step_is_the_rnn_reading_the_query_token(cell):
    model = RecurrentRecall(cell, TINY, hidden=6)
    contexts = make_sequences(3, TINY, seed=1)
    with torch.no_grad():
        logits = model(contexts)  # (3, n_ctx, vocab)
        for k in (1, 5, TINY.n_ctx):
            query = model.queries.weight[k - 1].expand(3, 1, -1)  # the query token as input
            inputs = torch.cat([model.embed(contexts), query], dim=1)
            out, _ = model.rnn(inputs)
            torch.testing.assert_close(logits[:, k - 1], model.readout(out[:, -1]))


def test_the_elman_model_is_the_library_rnn():
    model = RecurrentRecall("elman", TINY, hidden=6)
    contexts = make_sequences(1, TINY, seed=2)
    with torch.no_grad():
        embedded = model.embed(contexts)[0]  # (n_ctx, width)
        states, _ = model.rnn(embedded[None])
        rnn = model.rnn
        expected = elman_rnn_torch(embedded, rnn.weight_ih_l0.T, rnn.weight_hh_l0.T,
                                   rnn.bias_ih_l0 + rnn.bias_hh_l0)
    torch.testing.assert_close(states[0], expected)


def test_the_attention_model_uses_the_library_attention():
    model = AttentionRecall(TINY)
    contexts = make_sequences(2, TINY, seed=3)
    with torch.no_grad():
        logits, weights = model.answer(model.embed(contexts), return_weights=True)
        context = model.embed(contexts) + model.positions
        q = model.w_q(model.queries.weight).expand(2, -1, -1)
        expected = attention_torch(q, model.w_k(context), model.w_v(context))
    torch.testing.assert_close(logits, model.readout(expected))
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, TINY.n_ctx))


def test_models_get_about_the_same_number_of_parameters():
    counts = {name: parameter_count(make_model(name, RecallConfig(), seed=0)) for name in MODELS}
    assert max(counts.values()) / min(counts.values()) < 1.1, counts
    with pytest.raises(ValueError, match="unknown model"):
        make_model("gru", TINY, seed=0)


def test_training_is_deterministic():
    def trained():
        with deterministic():
            model = make_model("lstm", TINY, seed=0)
            log = train(model, TINY, seed=0, epochs=1)
        return log["loss"], [p.detach().clone() for p in model.parameters()]

    (loss_a, params_a), (loss_b, params_b) = trained(), trained()
    assert loss_a == loss_b
    assert all(torch.equal(a, b) for a, b in zip(params_a, params_b))


@pytest.fixture(scope="module")
def tiny_run():
    return run(TINY)


def test_trained_attention_beats_the_elman_rnn_at_the_longest_distance(tiny_run):
    accuracy = {name: tiny_run["accuracy"][name][0] for name in MODELS}
    assert accuracy["attention"][-1] > 0.9
    assert accuracy["attention"][-1] > accuracy["elman"][-1] + 0.3, accuracy
    assert accuracy["elman"][0] > accuracy["elman"][-1]  # the RNN does remember recent tokens


def test_run_reports_everything_the_page_needs(tiny_run):
    n = TINY.n_ctx
    assert tiny_run["test_in_train"] == 0
    for name in MODELS:
        assert len(tiny_run["accuracy"][name]) == len(TINY.seeds)
        assert all(len(acc) == n for acc in tiny_run["accuracy"][name])
        assert len(tiny_run["loss"][name][0]) == TINY.epochs
        assert len(tiny_run["sensitivity"][name]) == n
        assert all(value > 0 for value in tiny_run["sensitivity"][name])
    json.dumps(tiny_run)  # JSON-ready
    # After training the answer depends on the token it recalls, at every distance, for
    # attention; for the Elman RNN that dependence fades with the distance.
    elman, attention = tiny_run["sensitivity"]["elman"], tiny_run["sensitivity"]["attention"]
    assert elman[-1] / elman[0] < attention[-1] / attention[0]


def test_held_out_sequences_and_accuracy_shapes():
    contexts = held_out_sequences(TINY)
    assert contexts.shape == (TINY.test_size, TINY.n_ctx)
    model = make_model("attention", TINY, seed=0)
    accuracy = accuracy_by_k(model, contexts[:20])
    assert len(accuracy) == TINY.n_ctx and all(0 <= a <= 1 for a in accuracy)
    assert len(sensitivity_by_k(model, contexts[:8])) == TINY.n_ctx


def test_epoch_seconds_times_every_model():
    seconds = epoch_seconds(replace(TINY, train_size=64), threads=1)
    assert set(seconds) == set(MODELS) and all(s > 0 for s in seconds.values())


# --- the builders, end to end on tiny settings ---------------------------------------------------


def test_builders_write_figures_data_and_captions_from_the_numbers(tmp_path, tiny_run,
                                                                   monkeypatch):
    site, include = tmp_path / "site", tmp_path / "include"
    monkeypatch.setattr("attnsheet.recall.run", lambda config: tiny_run)
    config = {**TINY.to_dict(), "seeds": list(TINY.seeds)}
    files = evidence.forward_times(site, include, lengths=[4, 8, 16], d=8, seed=0)
    files += evidence.threads_figure(site, include)
    files += evidence.recall_figure(site, include, **config)
    files += evidence.gradient_figure(site, include, n=24, d=4, scales=[0.5, 2.0], seed=0)
    files += evidence.epoch_times(site, include, **{**config, "train_size": 64})
    files += evidence.one_cause(site, include)
    assert all(f.is_file() for f in files)
    names = {f"{f.parent.name}/{f.name}" for f in files}
    for theme in ("light", "dark"):
        for stem in ("forward-time", "threads", "recall", "gradient"):
            assert f"recurrence/{stem}-{theme}.svg" in names

    timing = json.loads((site / evidence.FORWARD_TIMES).read_text())
    loop_16 = next(r for r in timing["rows"] if r["forward"] == "elman-loop" and r["n"] == 16
                   and r["threads"] == 1)
    fragment = (include / "figures/recurrence/forward-time.md").read_text()
    assert f"{loop_16['critical_path']:,} for the RNN at n = 16" in fragment
    assert "-light.svg#only-light" in fragment and "-dark.svg#only-dark" in fragment

    recall = (include / "figures/recurrence/recall.md").read_text()
    attention_last = tiny_run["accuracy"]["attention"][0][-1]
    assert f"attention {100 * attention_last:.0f}%" in recall
    table = (include / "figures/recurrence/one-cause.md").read_text()
    assert f"n = 16 ([R1](#slow)) | {loop_16['critical_path']:,} |" in table  # longest n
    assert "R3b" in table
    epoch = (include / "figures/recurrence/epoch-time.md").read_text()
    assert epoch.count("\n|") >= 4  # header, rule, three models


def test_window_ratio_compares_the_ends_of_a_curve():
    curve = [1.0] + [2.0] * evidence.WINDOW + [0.5] * evidence.WINDOW
    assert evidence.window_ratio(curve) == pytest.approx(0.25)
    assert evidence.window_ratio(curve, parts=True) == pytest.approx((2.0, 0.5))
    assert math.isclose(evidence._slope([1, 2, 4], [3, 12, 48]), 2.0)


# --- the forgetting snippet -----------------------------------------------------------------


def test_forgetting_snippet_runs_in_under_five_seconds_of_cpu():
    # CPU time, not wall time: other work on a shared machine must not fail the test.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-I", str(SNIPPETS / "recurrence" / "forget.py")],
                          capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert done.returncode == 0, done.stderr
    assert cpu < 5, f"forget.py used {cpu:.1f} s of CPU ({wall:.1f} s wall)"
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    rnn = [float(row[1]) for row in rows]
    assert statistics.fmean(rnn[:2]) > statistics.fmean(rnn[-2:])
