"""The recurrence page (R1–R4, T2) on tiny settings, a few seconds in all: the library's
speed, forgetting and recall modules, the experiments' data, the renderers and the verdicts."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

from attnsheet import attention_torch, elman_rnn_torch, init_elman_np
from attnsheet.evidence import stage
from attnsheet.evidence.render import recurrence as render
from attnsheet.evidence.sections import recurrence as section
from attnsheet.evidence.sections.recurrence import (
    ACCELERATOR,
    EPOCHS,
    FORWARD,
    GRADIENTS,
    RECALL,
    WORK_SPAN,
    r1_verdict,
    r2_verdict,
    r3_verdict,
    r4_verdict,
    t2_verdict,
)
from attnsheet.evidence.spec import (
    FAILS_HERE,
    HOLDS,
    NEEDS_HARDWARE,
    CriterionFailed,
    Figure,
    MachineLine,
)
from attnsheet.experiments import recurrence as experiments
from attnsheet.experiments.measure import fitted_exponent, num_threads
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
from attnsheet.speed import FORWARDS, critical_path, make_forwards, measure_forwards

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
    assert 0.1 < render.window_ratio(direct) < 10  # flat: no trend with distance


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


# --- experiments and renderers, end to end on tiny settings ----------------------------------


def published(data):
    """What the pipeline hands a renderer: the data as written (rounded JSON)."""
    return json.loads(stage.json_text(data))


@pytest.fixture(scope="module")
def tiny_data(tiny_run):
    config = {**TINY.to_dict(), "seeds": list(TINY.seeds)}
    data = {
        FORWARD: published(experiments.forward_times(lengths=[4, 8, 16], d=8, seed=0)),
        GRADIENTS: published(experiments.gradients(n=24, d=4, scales=[0.5, 2.0], seed=0)),
        RECALL: published(tiny_run),
        EPOCHS: published(experiments.epoch_times(**{**config, "train_size": 64})),
    }
    data[WORK_SPAN] = published(experiments.work_span(upstream={FORWARD: data[FORWARD]},
                                                      accelerator=ACCELERATOR))
    return data


def test_experiments_echo_their_parameters_and_machine(tiny_data):
    timing = tiny_data[FORWARD]
    assert timing["lengths"] == [4, 8, 16] and timing["d"] == 8
    assert timing["forwards"] == list(FORWARDS) and 1 in timing["threads"]
    assert len(timing["rows"]) == 3 * 3 * len(timing["threads"])
    assert timing["machine"]["cores"] == timing["cpu_count"]
    gradients = tiny_data[GRADIENTS]
    assert gradients["scales"] == [0.5, 2.0] and gradients["n_sequences"] == 4
    assert set(gradients["rnn_at_init"]) == {"0.5", "2.0"}
    assert all(len(curve) == 24 for curve in gradients["rnn_at_init"].values())
    epochs = tiny_data[EPOCHS]
    assert epochs["threads"] == 1 and epochs["config"]["train_size"] == 64
    assert set(epochs["seconds_per_epoch"]) == set(MODELS)
    assert epochs["machine"]["threads"] == 1


def test_recall_experiment_is_the_library_run(monkeypatch, tiny_run):
    seen = []
    monkeypatch.setattr("attnsheet.recall.run", lambda config: seen.append(config) or tiny_run)
    assert experiments.recall(**{**TINY.to_dict(), "seeds": [0]}) is tiny_run
    assert seen == [TINY]


def render_all(data):
    d = data
    return {
        "r1-timing-figure": render.forward_time(d[FORWARD], experiment=FORWARD),
        "r2-threads-figure": render.threads(d[FORWARD], experiment=FORWARD),
        "r3b-recall-figure": render.recall(d[RECALL], experiment=RECALL),
        "r3a-gradient-figure": render.gradient(d[GRADIENTS], d[RECALL], experiment=GRADIENTS),
        "t2-epoch-time": render.epoch_time(d[EPOCHS], d[RECALL], experiment=EPOCHS),
        "r4-caption": render.one_cause(d[FORWARD], d[GRADIENTS], d[RECALL]),
        "r1-work-span": render.work_span(d[WORK_SPAN]),
    }


def text_of(rendered):
    """Every caption, alt text and Markdown block of a rendering, joined."""
    parts = []
    for block in rendered.parts[""]:
        if isinstance(block, Figure):
            parts += [block.alt, block.caption]
        elif isinstance(block, str):
            parts.append(block)
    return "\n".join(parts)


def test_renderers_write_figures_and_captions_from_the_numbers(tmp_path, tiny_data, tiny_run):
    site, include = tmp_path / "site", tmp_path / "include"
    rendered = render_all(tiny_data)
    files = [f for name, r in rendered.items() for f in stage.stage(name, r, include, site)]
    assert all(f.is_file() for f in files)
    names = {f.name for f in files}
    for theme in ("light", "dark"):
        for name in ("r1-timing-figure", "r2-threads-figure", "r3b-recall-figure",
                     "r3a-gradient-figure"):
            assert f"{name}-{theme}.svg" in names

    timing = tiny_data[FORWARD]
    loop_16 = next(r for r in timing["rows"] if r["forward"] == "elman-loop" and r["n"] == 16
                   and r["threads"] == 1)
    fragment = (include / "evidence/r1-timing-figure.md").read_text()
    assert f"{loop_16['critical_path']:,} for the RNN at n = 16" in fragment
    assert "-light.svg){ .figure-light }" in fragment
    assert "-dark.svg){ .figure-dark }" in fragment
    assert f"data/{FORWARD}.json" in fragment and "machine-line" in fragment

    recall = (include / "evidence/r3b-recall-figure.md").read_text()
    attention_last = tiny_run["accuracy"]["attention"][0][-1]
    assert f"attention {100 * attention_last:.0f}%" in recall
    table = (include / "evidence/r4-caption.md").read_text()
    assert f"n = 16 ([R1](#slow)) | {loop_16['critical_path']:,} |" in table  # longest n
    assert "R3b" in table
    epoch = (include / "evidence/t2-epoch-time.md").read_text()
    assert epoch.count("\n|") >= 4  # header, rule, three models
    bound = (include / "evidence/r1-work-span.md").read_text()
    assert "Brent's bound" in bound and "NVIDIA A100 (312 TFLOP/s" in bound
    bound_table = (include / "evidence/r1-work-span.table.md").read_text()
    assert bound_table.count("\n|") >= 2 + 2 * 3 - 1  # header, rule, two forwards, three n


def test_measured_renderings_carry_their_machine(tiny_data):
    rendered = render_all(tiny_data)
    for name in ("r1-timing-figure", "r2-threads-figure", "t2-epoch-time", "r4-caption",
                 "r1-work-span"):
        assert any(isinstance(b, MachineLine) for b in rendered[name].parts[""]), name
    r1_line = next(b for b in rendered["r1-timing-figure"].parts[""]
                   if isinstance(b, MachineLine))
    assert r1_line.machine["threads"] == 1  # the figure shows one-thread times


def test_renderers_read_every_number_from_the_data(tiny_data):
    """Change a number in the data: the caption changes with it."""
    changed = json.loads(json.dumps(tiny_data))
    changed[EPOCHS]["seconds_per_epoch"]["lstm"] = 123.456
    changed[GRADIENTS]["n_sequences"] = 7
    rendered = render_all(changed)
    assert "123.456" in text_of(rendered["t2-epoch-time"])
    assert "over 7 random sequences" in text_of(rendered["r3a-gradient-figure"])


def test_one_cause_says_where_this_machine_contradicts_the_story(tiny_data):
    timing = json.loads(json.dumps(tiny_data[FORWARD]))
    for row in timing["rows"]:
        if row["forward"] == "attention":
            row["seconds"] *= 1000  # attention far slower than the RNN
    text = text_of(render.one_cause(timing, tiny_data[GRADIENTS], tiny_data[RECALL]))
    assert "not yet the slower road" in text


def test_window_ratio_compares_the_ends_of_a_curve():
    curve = [1.0] + [2.0] * render.WINDOW + [0.5] * render.WINDOW
    assert render.window_ratio(curve) == pytest.approx(0.25)
    assert render.window_ratio(curve, parts=True) == pytest.approx((2.0, 0.5))
    assert fitted_exponent([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0)


# --- the verdicts, on hand-made data ------------------------------------------------------------

LENGTHS = [16, 32, 64, 128]


def timing_data(one, many=None, chain=None):
    """R1 data: `one` / `many` = {forward: [seconds per length]} on 1 and 2 threads."""
    many = many or one
    chain = chain or {"elman-loop": [6 * n + 2 for n in LENGTHS], "attention": [6] * 4}
    rows = [{"forward": f, "n": n, "threads": threads, "seconds": table[f][i], "calls": 1,
             "rounds": 5, "critical_path": chain["attention" if f == "attention"
                                                 else "elman-loop"][i]}
            for threads, table in ((2, many), (1, one)) for i, n in enumerate(LENGTHS)
            for f in FORWARDS]
    return {"d": 8, "lengths": LENGTHS, "forwards": list(FORWARDS), "threads": [2, 1],
            "slow_s": 0.02, "cpu_count": 2, "load_average": [0.1, 0.2], "rows": rows,
            "machine": {"cpu": "test", "cores": 2, "threads": 2, "load": 0.1,
                        "python": "3", "numpy": "2", "torch": "2"}}


RNN_TIMES = {"elman-loop": [2e-5 * n for n in LENGTHS], "torch-rnn": [1e-5 * n for n in LENGTHS]}
FAST = {**RNN_TIMES, "attention": [1e-6 * n for n in LENGTHS]}  # faster at every n
SLOW_LONG = {**RNN_TIMES, "attention": [1e-7 * n * n for n in LENGTHS]}  # slower from n = 128
HALVED = {f: [s / (2 if f == "attention" else 1) for s in v] for f, v in FAST.items()}


def r1_data(timing: dict, accelerator=ACCELERATOR) -> dict:
    """What R1 reads: the timings, and the work-span bound computed from them."""
    return {FORWARD: timing, WORK_SPAN: experiments.work_span_rows(timing, accelerator, 5e10)}


def test_r1_holds_when_attention_is_faster_and_needs_hardware_when_it_is_not():
    assert r1_verdict(r1_data(timing_data(FAST))).status == HOLDS
    verdict = r1_verdict(r1_data(timing_data(SLOW_LONG)))
    assert verdict.status == NEEDS_HARDWARE
    assert verdict.numbers["attention_fastest_up_to_n"] == 64
    assert verdict.numbers["rnn_chain_per_token"] == 6


def test_r1_fails_when_the_rnn_time_does_not_grow_with_its_chain():
    flat = {**FAST, "torch-rnn": [1e-3] * 4, "elman-loop": [2e-3] * 4}
    assert r1_verdict(r1_data(timing_data(flat))).status == FAILS_HERE


def test_r1_span_counts_are_a_deterministic_criterion():
    growing = {"elman-loop": [6 * n + 2 for n in LENGTHS], "attention": [6, 7, 8, 9]}
    with pytest.raises(CriterionFailed, match="attention's chain changes"):
        r1_verdict(r1_data(timing_data(FAST, chain=growing)))
    uneven = {"elman-loop": [98, 194, 300, 770], "attention": [6] * 4}
    with pytest.raises(CriterionFailed, match="fixed amount"):
        r1_verdict(r1_data(timing_data(FAST, chain=uneven)))


def test_r1_work_span_bound_is_a_deterministic_criterion():
    # A device whose time is all arithmetic: attention's extra work never pays off there.
    arithmetic_only = {**ACCELERATOR, "peak_flops": 1.0, "step_latency": 0.0}
    with pytest.raises(CriterionFailed, match="never puts attention below"):
        r1_verdict(r1_data(timing_data(SLOW_LONG), arithmetic_only))


def test_work_span_counts_and_bounds():
    data = experiments.work_span_rows(timing_data(SLOW_LONG), ACCELERATOR, 5e10)
    row = {(r["forward"], r["n"]): r for r in data["rows"]}
    assert row["attention", 128]["work"] == 6 * 128 * 8 * 8 + 4 * 128 * 128 * 8
    assert row["torch-rnn", 128]["work"] == 4 * 128 * 8 * 8
    assert data["step_latency"] == pytest.approx(1e-5 * 128 / (6 * 128 + 2))
    assert row["torch-rnn", 128]["bound_accelerator"] == pytest.approx((6 * 128 + 2) * 5e-6)
    assert render.bound_crossing(data, "bound_accelerator") == 16
    # Two cores at 50 GFLOP/s: on these short lengths attention stays below at every n.
    assert render.bound_below_up_to(data, "bound_here") == 128


def test_r2_holds_only_when_attention_gains_clearly_more_from_threads():
    assert r2_verdict({FORWARD: timing_data(FAST, HALVED)}).status == HOLDS
    little = {f: [s / (1.1 if f == "attention" else 1) for s in v] for f, v in FAST.items()}
    verdict = r2_verdict({FORWARD: timing_data(FAST, little)})
    assert verdict.status == FAILS_HERE
    assert verdict.numbers["attention_speedup"] == pytest.approx(1.1)
    both = {f: [s / 2 for s in v] for f, v in FAST.items()}  # the RNNs gain as much
    assert r2_verdict({FORWARD: timing_data(FAST, both)}).status == FAILS_HERE


def gradient_data(scale_one_end=1e-9):
    n = 40
    return {"n": n, "d": 4, "seed": 0, "scales": [0.5, 1.0, 2.0], "n_sequences": 4,
            "rnn_at_init": {"0.5": [0.5 ** t for t in range(n)],
                            "1.0": [1.0] * (n - 1) + [scale_one_end],
                            "2.0": [1.0 + t for t in range(n)]},
            "attention_at_init": [1.0] + [0.05] * (n - 1)}


def recall_data(attention=(1, 1, 1, 1), elman=(0.9, 0.4, 0.2, 0.1)):
    return {"config": {"n_ctx": 4, "vocab": 8, "seeds": [0]},
            "accuracy": {"elman": [list(elman)], "lstm": [[1, 0.6, 0.3, 0.2]],
                         "attention": [list(attention)]},
            "sensitivity": {"elman": [1, 0.1, 0.01, 0.001], "lstm": [1, 0.5, 0.2, 0.1],
                            "attention": [1, 1.1, 0.9, 1]}}


def test_r3_holds_on_fading_gradients_and_short_rnn_recall():
    verdict = r3_verdict({GRADIENTS: gradient_data(), RECALL: recall_data()})
    assert verdict.status == HOLDS and verdict.numbers["elman_reach_k"] == 1


def test_r3_fails_when_attention_forgets_or_the_gradient_does_not_fade():
    forgetful = recall_data(attention=(1, 1, 0.6, 0.3))
    assert r3_verdict({GRADIENTS: gradient_data(), RECALL: forgetful}).status == FAILS_HERE
    lasting = gradient_data(scale_one_end=0.9)
    assert r3_verdict({GRADIENTS: lasting, RECALL: recall_data()}).status == FAILS_HERE
    remembers = recall_data(elman=(1, 0.9, 0.8, 0.7))
    assert r3_verdict({GRADIENTS: gradient_data(), RECALL: remembers}).status == FAILS_HERE
    no_small_scale = {**gradient_data(), "scales": [2.0]}
    with pytest.raises(CriterionFailed, match="scale of at most 1"):
        r3_verdict({GRADIENTS: no_small_scale, RECALL: recall_data()})


def test_r4_reads_the_rows_together():
    agreeing = {GRADIENTS: gradient_data(), RECALL: recall_data()}
    assert r4_verdict({FORWARD: timing_data(FAST, HALVED), **agreeing}).status == HOLDS
    slow = {f: [s / (2 if f == "attention" else 1) for s in v] for f, v in SLOW_LONG.items()}
    assert r4_verdict({FORWARD: timing_data(SLOW_LONG, slow), **agreeing}).status \
        == NEEDS_HARDWARE
    assert r4_verdict({FORWARD: timing_data(FAST), **agreeing}).status == FAILS_HERE
    forgetful = {GRADIENTS: gradient_data(), RECALL: recall_data(attention=(1, 0.4, 0.3, 0.2))}
    assert r4_verdict({FORWARD: timing_data(FAST, HALVED), **forgetful}).status == FAILS_HERE


def epoch_data(attention=0.05, elman=0.1, lstm=0.2):
    return {"config": {"n_ctx": 4}, "threads": 1, "cpu_count": 2,
            "seconds_per_epoch": {"attention": attention, "elman": elman, "lstm": lstm}}


def test_t2_holds_only_when_attention_trains_clearly_faster_and_recalls_further():
    assert t2_verdict({EPOCHS: epoch_data(), RECALL: recall_data()}).status == HOLDS
    close = t2_verdict({EPOCHS: epoch_data(attention=0.095), RECALL: recall_data()})
    assert close.status == NEEDS_HARDWARE and close.numbers["attention_s"] == 0.095
    forgetful = recall_data(attention=(1, 0.4, 0.3, 0.2))
    assert t2_verdict({EPOCHS: epoch_data(), RECALL: forgetful}).status == FAILS_HERE


def test_every_claim_of_the_section_has_a_criterion_and_a_predicate():
    from attnsheet.evidence.registry import REGISTRY

    claims = {c.id: c for c in REGISTRY.claims}
    for claim_id in ("R1", "R2", "R3", "R4", "T2"):
        assert claims[claim_id].criterion and claims[claim_id].predicate, claim_id
    shown = {item.name for item in section.EVIDENCE}
    assert {"r1-timing-figure", "r2-threads-figure", "r3a-gradient-figure",
            "r3b-recall-figure", "t2-epoch-time", "r4-caption"} <= shown
    assert all(item.page_file == "recurrence.md" for item in section.EVIDENCE)


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
