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
from torch import nn

from attnsheet import attention_torch, elman_rnn_torch, init_elman_np
from attnsheet import recall as recall_module
from attnsheet.evidence import stage
from attnsheet.evidence.render import recurrence as render
from attnsheet.evidence.sections import recurrence as section
from attnsheet.evidence.sections.recurrence import (
    ACCELERATOR,
    EPOCHS,
    FORWARD,
    GRADIENTS,
    RECALL,
    RECALL_UNIFORM,
    RECORDED_RUNS,
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
    RECORDED,
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
    STOPS,
    AttentionRecall,
    RecallConfig,
    RecurrentRecall,
    accuracy_by_k,
    answers,
    delays,
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

# Small enough to train in well under a second per model: delays up to 8, readings every 20
# steps, a cap of 400 steps.
TINY = RecallConfig(items=4, distractors=8, max_delay=8, width=16, train_size=512, val_size=128,
                    test_per_k=40, batch=32, lr=0.01, eval_every=20, patience=3,
                    min_improvement=0.01, solved_loss=0.02, max_steps=400, seeds=(0,))


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


def test_a_sequence_is_distractors_one_item_k_distractors_and_the_query():
    sequences = make_sequences(200, TINY, seed=0)
    assert sequences.shape == (200, TINY.max_delay + 2)
    items, ks = answers(sequences, TINY), delays(sequences, TINY)
    assert ((sequences < TINY.items).sum(1) == 1).all()  # one item each ...
    assert (sequences[:, -1] == TINY.query).all()  # ... the query last ...
    rows = torch.arange(200)
    assert torch.equal(sequences[rows, TINY.max_delay - ks], items)  # ... k steps before it
    assert ks.min() >= 1 and ks.max() <= TINY.max_delay
    # Everything else is a distractor.
    others = torch.ones_like(sequences, dtype=torch.bool)
    others[rows, TINY.max_delay - ks], others[:, -1] = False, False
    assert (sequences[others] >= TINY.items).all() and (sequences[others] < TINY.query).all()


def test_log_uniform_delays_give_each_octave_about_the_same_share():
    config = replace(TINY, max_delay=63)  # octaves 1, 2-3, 4-7, 8-15, 16-31, 32-63
    ks = delays(make_sequences(6000, config, seed=1), config)
    octaves = torch.bincount(torch.log2(ks.double()).floor().long(), minlength=6)
    assert octaves.min() > 0.8 * 1000 and octaves.max() < 1.2 * 1000, octaves
    flat = delays(make_sequences(6000, replace(config, sampling="uniform"), seed=1), config)
    counts = torch.bincount(flat - 1, minlength=63)
    assert counts.min() > 0.5 * 6000 / 63 and counts.max() < 1.5 * 6000 / 63  # no octave tilt


def test_held_out_sequences_hold_every_delay_equally_often():
    held_out = held_out_sequences(TINY)
    assert held_out.shape == (TINY.max_delay * TINY.test_per_k, TINY.max_delay + 2)
    assert torch.equal(delays(held_out, TINY), torch.arange(1, TINY.max_delay + 1)
                       .repeat_interleave(TINY.test_per_k))


@pytest.mark.parametrize("change, message", [
    (lambda s: s.masked_fill(s < TINY.items, TINY.items), "exactly one item"),  # no item
    (lambda s: s.index_fill(1, torch.tensor([0]), 0), "exactly one item"),  # a second item
    (lambda s: s.index_fill(1, torch.tensor([TINY.max_delay + 1]), TINY.items), "query"),
])
def test_answers_refuse_sequences_that_are_not_the_task(change, message):
    # k < max_delay: the first place holds a distractor, the second item goes there.
    sequences = held_out_sequences(TINY)[:-TINY.test_per_k]
    with pytest.raises(ValueError, match=message):
        answers(change(sequences.clone()), TINY)
    no_delay = sequences[:1].clone()
    no_delay[0, :-1] = TINY.items  # distractors only, then the item right before the query
    no_delay[0, -2] = 0
    with pytest.raises(ValueError, match="k >= 1"):
        delays(no_delay, TINY)


def test_the_elman_model_is_the_library_rnn_and_answers_from_its_last_state():
    model = RecurrentRecall("elman", TINY, hidden=6)
    sequences = make_sequences(2, TINY, seed=2)
    with torch.no_grad():
        embedded = model.embed(sequences)[0]  # (length, width)
        rnn = model.rnn
        states = elman_rnn_torch(embedded, rnn.weight_ih_l0.T, rnn.weight_hh_l0.T,
                                 rnn.bias_ih_l0 + rnn.bias_hh_l0)  # (length, hidden)
        torch.testing.assert_close(model(sequences)[0], model.readout(states[-1]))


def test_the_attention_model_uses_the_library_attention_from_the_query():
    model = AttentionRecall(TINY)
    sequences = make_sequences(2, TINY, seed=3)
    with torch.no_grad():
        logits, weights = model.answer(model.embed(sequences), return_weights=True)
        tagged = model.embed(sequences) + model.positions
        expected = attention_torch(model.w_q(tagged[:, -1:]), model.w_k(tagged),
                                   model.w_v(tagged))  # (2, 1, width)
    torch.testing.assert_close(logits, model.readout(expected[:, 0]))
    assert weights.shape == (2, TINY.max_delay + 2)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2))


def test_models_get_about_the_same_number_of_parameters():
    counts = {name: parameter_count(make_model(name, RecallConfig(), seed=0)) for name in MODELS}
    assert max(counts.values()) / min(counts.values()) < 1.1, counts
    with pytest.raises(ValueError, match="unknown model"):
        make_model("gru", TINY, seed=0)


def test_training_is_deterministic():
    def trained():
        with deterministic():
            model = make_model("lstm", TINY, seed=0)
            log = train(model, TINY, seed=0, max_steps=30)
        return log["val_loss"], [p.detach().clone() for p in model.parameters()]

    (loss_a, params_a), (loss_b, params_b) = trained(), trained()
    assert loss_a == loss_b
    assert all(torch.equal(a, b) for a, b in zip(params_a, params_b))


def validation_loss(model, config):
    """The loss the stopping rule reads, recomputed from the fixed validation set."""
    validation = make_sequences(config.val_size, config, seed=recall_module._VALIDATION_SEED)
    with torch.no_grad():
        return nn.functional.cross_entropy(model(validation), answers(validation, config)).item()


def test_training_stops_by_the_stated_rule():
    def stop(**changes):
        config = replace(TINY, **changes)
        with deterministic():
            return train(make_model("elman", config, seed=0), config, seed=0)

    solved = stop(solved_loss=100.0)  # any loss counts as solved: stop at the first reading
    assert (solved["stopped"], solved["steps"]) == ("solved", TINY.eval_every)
    # Only a 99% fall would be a new best: the first reading is one, the next two are not.
    plateau = stop(min_improvement=0.99, patience=2, solved_loss=1e-9)
    assert (plateau["stopped"], plateau["steps"]) == ("plateau", 3 * TINY.eval_every)
    assert plateau["eval_steps"] == [TINY.eval_every * i for i in (1, 2, 3)]
    capped = stop(max_steps=TINY.eval_every + 7, solved_loss=1e-9)
    assert (capped["stopped"], capped["steps"]) == ("cap", TINY.eval_every + 7)
    assert capped["eval_steps"] == [TINY.eval_every, TINY.eval_every + 7]  # read at the cap too


def test_training_keeps_the_weights_of_the_lowest_validation_loss():
    # A rate far too large, so the validation loss jumps about and the last is not the lowest.
    config = replace(TINY, lr=0.3, min_improvement=0.99, patience=4, solved_loss=1e-9)
    with deterministic():
        model = make_model("attention", config, seed=0)
        log = train(model, config, seed=0)
        kept = validation_loss(model, config)
    lowest = min(log["val_loss"])
    assert log["best_step"] == log["eval_steps"][log["val_loss"].index(lowest)]
    assert log["best_step"] < log["steps"]  # so the last weights were not the ones kept
    assert kept == pytest.approx(lowest, rel=1e-5)


@pytest.fixture(scope="module")
def tiny_run():
    return run(TINY)


def test_trained_models_recall_and_stop_by_the_rule(tiny_run):
    for name in MODELS:
        log = tiny_run["training"][name][0]
        assert log["stopped"] in STOPS and log["steps"] == log["eval_steps"][-1]
    assert min(tiny_run["accuracy"]["attention"][0]) > 0.9
    # Once trained, the Elman RNN's answer depends less and less on the item as k grows;
    # attention's does not fade that way.
    elman, attention = tiny_run["sensitivity"]["elman"], tiny_run["sensitivity"]["attention"]
    assert elman[-1] / elman[0] < attention[-1] / attention[0]


def test_run_reports_everything_the_page_needs(tiny_run):
    k_max = TINY.max_delay
    assert tiny_run["test_in_train"] == 0
    for name in MODELS:
        assert len(tiny_run["accuracy"][name]) == len(TINY.seeds)
        assert all(len(acc) == k_max and all(0 <= a <= 1 for a in acc)
                   for acc in tiny_run["accuracy"][name])
        log = tiny_run["training"][name][0]
        assert set(log) == {"steps", "stopped", "best_step", "eval_steps", "val_loss",
                            "train_loss"}  # no wall time: the data is the same every run
        assert len(log["val_loss"]) == len(log["train_loss"]) == len(log["eval_steps"])
        assert len(tiny_run["sensitivity"][name]) == k_max
        assert all(value > 0 for value in tiny_run["sensitivity"][name])
    assert tiny_run["hidden"]["attention"] is None and tiny_run["hidden"]["lstm"] > 0
    json.dumps(tiny_run)  # JSON-ready


def test_accuracy_by_k_counts_each_delay_separately():
    held_out = held_out_sequences(TINY)
    model = make_model("attention", TINY, seed=0)
    with torch.no_grad():
        correct = (model(held_out).argmax(-1) == answers(held_out, TINY)).double()
    expected = correct.view(TINY.max_delay, TINY.test_per_k).mean(1).tolist()
    assert accuracy_by_k(model, held_out) == pytest.approx(expected)
    with pytest.raises(ValueError, match="every delay"):
        accuracy_by_k(model, held_out[TINY.test_per_k:])  # no k = 1


def test_sensitivity_by_k_is_each_sequence_own_gradient_to_its_item():
    model = make_model("elman", TINY, seed=0)
    sequences = held_out_sequences(TINY)[::TINY.test_per_k // 2]  # two per delay
    probes = torch.randn(len(sequences), TINY.items, generator=torch.Generator().manual_seed(4))
    norms = []
    for sequence, probe in zip(sequences, probes):  # one sequence at a time
        embedded = model.embed(sequence[None]).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad((model.answer(embedded)[0] * probe).sum(), embedded)
        k = int(delays(sequence[None], TINY))
        norms.append(grad[0, TINY.max_delay - k].pow(2).sum())
    expected = torch.stack(norms).view(TINY.max_delay, 2).mean(1).sqrt()
    torch.testing.assert_close(torch.tensor(sensitivity_by_k(model, sequences, seed=4),
                                            dtype=torch.float64),
                               expected.double(), rtol=1e-5, atol=1e-8)


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
    rate = {"matmul_flops_per_second": 1e11, "matmul_size": 1024,
            "machine": data[FORWARD]["machine"]}
    data[WORK_SPAN] = published(experiments.work_span(
        upstream={FORWARD: data[FORWARD], "c1-time-sweep": rate}, accelerator=ACCELERATOR))
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
        # The tiny run stands in for both training regimes.
        "r3b-recall-uniform": render.recall_uniform(d[RECALL], d[RECALL],
                                                    experiment=RECALL_UNIFORM),
    }


def text_of(rendered):
    """Every caption, alt text and Markdown block of a rendering (all its parts), joined."""
    parts = []
    for block in (b for blocks in rendered.parts.values() for b in blocks):
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
    elman = tiny_run["training"]["elman"][0]
    assert f"Elman RNN {elman['steps']:,} steps ({render._STOP_TEXT[elman['stopped']]})" in recall
    assert "the answer is the item" in recall  # the task, said plainly
    assert f"without a new best at least {100 * TINY.min_improvement:.0f}% below" in recall
    assert f"stays at least {100 * render.REACH:.0f}%: the Elman RNN " in recall
    table = (include / "evidence/r4-caption.md").read_text()
    assert f"n = 16 ([R1](#slow)) | {loop_16['critical_path']:,} |" in table  # longest n
    assert "R3b" in table
    epoch = (include / "evidence/t2-epoch-time.md").read_text()
    assert epoch.count("\n|") >= 4  # header, rule, three models
    bound = (include / "evidence/r1-work-span.md").read_text()
    assert "(Brent, 1974)" in bound and "NVIDIA A100 (19.5 TFLOP/s" in bound
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
    changed[RECALL]["training"]["lstm"][0].update(steps=4321, stopped="cap")
    changed[RECALL]["config"]["patience"] = 17
    rendered = render_all(changed)
    assert "123.456" in text_of(rendered["t2-epoch-time"])
    assert "| 4,321 |" in text_of(rendered["t2-epoch-time"])
    assert "over 7 random sequences" in text_of(rendered["r3a-gradient-figure"])
    recall = text_of(rendered["r3b-recall-figure"])
    assert "LSTM 4,321 steps (at the cap)" in recall and "gone 17 readings" in recall


def with_elman_accuracy(data, accuracy):
    """The R3b data with the Elman RNN's held-out accuracy replaced (one value per k)."""
    changed = json.loads(json.dumps(data))
    changed["accuracy"]["elman"] = [list(accuracy)] * len(changed["accuracy"]["elman"])
    return changed


def test_recall_captions_say_how_far_each_model_reaches(tiny_data):
    k_max = TINY.max_delay
    short = with_elman_accuracy(tiny_data[RECALL], [1.0, 0.95] + [0.3] * (k_max - 2))
    full = with_elman_accuracy(tiny_data[RECALL], [1.0] * k_max)
    full["accuracy"]["lstm"] = full["accuracy"]["attention"] = [[1.0] * k_max]
    short_text = text_of(render.recall(short, experiment=RECALL))
    assert "The Elman RNN keeps the item up to k = 2;" in short_text
    assert "the Elman RNN up to k = 2," in short_text
    full_text = text_of(render.recall(full, experiment=RECALL))
    assert (f"Trained mostly on short delays, all three carry one item across every delay "
            f"tried, up to k = {k_max}") in full_text
    # The one-cause table says when the recall row does not follow the others.
    agree = text_of(render.one_cause(tiny_data[FORWARD], tiny_data[GRADIENTS], short))
    differ = text_of(render.one_cause(tiny_data[FORWARD], tiny_data[GRADIENTS], full))
    assert "Every row is the same chain" in agree and "does not follow" not in agree
    assert "The recall row does not follow here" in differ


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


def _recorded_file(attention_s: float, rnn_s: float) -> dict[str, str]:
    """One recorded GPU run, as scripts/gpu_evidence.py writes it, at LENGTHS."""
    rows = [{"forward": name, "n": n, "seconds": seconds}
            for n in LENGTHS for name, seconds in (("elman-loop", 2 * rnn_s),
                                                   ("torch-rnn", rnn_s),
                                                   ("attention", attention_s))]
    run = {"device": "Some GPU", "driver": "1.0", "torch": "2.x", "cuda": "12", "dirty": False,
           "date": "2026-01-01T00:00:00+00:00", "commit": "0123456789abcdef",
           "command": "python scripts/gpu_evidence.py",
           "r1": {"d": 64, "seed": 0, "lengths": LENGTHS, "repeats": 20, "rows": rows}}
    return {"recorded/gpu-some-gpu-2026-01-01.json": json.dumps(run)}


def test_r1_rests_on_a_recorded_gpu_run_only_when_that_run_shows_attention_faster():
    slow_here = r1_data(timing_data(SLOW_LONG))
    faster = {**slow_here, RECORDED_RUNS: experiments.recorded_runs(_recorded_file(1e-4, 1e-3))}
    verdict = r1_verdict(faster)
    assert verdict.status == RECORDED and "Some GPU" in verdict.reason
    slower = {**slow_here, RECORDED_RUNS: experiments.recorded_runs(_recorded_file(1e-3, 1e-3))}
    assert r1_verdict(slower).status == NEEDS_HARDWARE
    empty = {**slow_here, RECORDED_RUNS: experiments.recorded_runs({})}
    assert r1_verdict(empty).status == NEEDS_HARDWARE


def test_recorded_runs_are_shown_with_their_provenance_or_their_absence_said():
    runs = experiments.recorded_runs(_recorded_file(1e-4, 1e-3))
    shown = "".join(render.recorded(runs).parts[""])
    for fact in ("Recorded on Some GPU", "2026-01-01", "driver 1.0", "`0123456",
                 "python scripts/gpu_evidence.py", "10×"):
        assert fact in shown
    assert "no recorded run yet" in render.recorded({"runs": []}).parts[""][0]
    with pytest.raises(ValueError, match="lacks"):
        experiments.recorded_runs({"recorded/x.json": json.dumps({"device": "GPU"})})


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
    assert row["torch-rnn", 128]["bound_accelerator"] == pytest.approx((6 * 128 + 2) * 1e-6)
    assert render.bound_crossing(data, "bound_accelerator") == 16
    # One core at 50 GFLOP/s: attention's bound at n = 128 is its work over that rate (the
    # chain of 6 is far shorter), and it measured 1e-7 * 128² s; the RNN sits on its bound.
    one_core = row["attention", 128]["work"] / 5e10
    assert row["attention", 128]["bound_one_thread"] == pytest.approx(one_core)
    assert data["attention_slack"] == pytest.approx(1e-7 * 128 * 128 / one_core)
    assert row["torch-rnn", 128]["slack"] == pytest.approx(1.0)
    slowed = row["attention", 64]["work"] * data["attention_slack"] / ACCELERATOR["peak_flops"]
    assert row["attention", 64]["bound_accelerator_slack"] == pytest.approx(
        max(slowed, 6 * ACCELERATOR["step_latency"]))
    assert row["torch-rnn", 64]["bound_accelerator_slack"] == row["torch-rnn", 64][
        "bound_accelerator"]


def test_r1_fails_when_attention_misses_its_bound_by_more_than_the_accelerator_gains():
    # An A100 barely faster per step than this machine: scaled by its slack here, attention's
    # bound never gets below the RNN's.
    close = {**ACCELERATOR, "peak_flops": 1e10, "step_latency": 1e-6}
    verdict = r1_verdict(r1_data(timing_data(SLOW_LONG), close))
    assert verdict.status == FAILS_HERE and "slower than" not in verdict.reason
    assert verdict.numbers["with that slack, below the RNN on an A100 from n"] == "never"


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


def recall_data(attention=(1, 1, 1, 1), elman=(0.95, 0.5, 0.2, 0.1), lstm=(1, 1, 0.95, 0.9),
                elman_stopped="plateau", elman_sensitivity=(1, 0.1, 0.01, 0.001)):
    """R3b data for delays 1 … 4: by default the Elman RNN reaches k = 1 (at 90%), the LSTM
    every delay, attention every delay, and no run stopped at the cap."""
    def log(steps, stopped):
        return [{"steps": steps, "stopped": stopped}]

    return {"config": {"max_delay": 4, "items": 8, "seeds": [0]},
            "accuracy": {"elman": [list(elman)], "lstm": [list(lstm)],
                         "attention": [list(attention)]},
            "training": {"elman": log(900, elman_stopped), "lstm": log(400, "solved"),
                         "attention": log(200, "solved")},
            "sensitivity": {"elman": list(elman_sensitivity), "lstm": [1, 0.5, 0.2, 0.1],
                            "attention": [1, 1.1, 0.9, 1]}}


def regimes(log_uniform=None, uniform=None) -> dict:
    """R3's two recall runs: by default both as recall_data() has them (the Elman RNN short)."""
    return {RECALL: log_uniform or recall_data(), RECALL_UNIFORM: uniform or recall_data()}


def test_r3_holds_on_fading_gradients_and_an_lstm_that_reaches_much_further():
    verdict = r3_verdict({GRADIENTS: gradient_data(), **regimes()})
    assert verdict.status == HOLDS
    assert (verdict.numbers["elman_reach_k"], verdict.numbers["lstm_reach_k"]) == (1, 4)
    assert verdict.numbers["elman_median_steps"] == 900
    twice = recall_data(elman=(0.95, 0.9, 0.5, 0.1), lstm=(1, 1, 0.95, 0.9))  # 2 and 4
    assert r3_verdict({GRADIENTS: gradient_data(), **regimes(twice, twice)}).status == HOLDS


@pytest.mark.parametrize("gradients, recall, reason", [
    (gradient_data(), recall_data(attention=(1, 1, 0.6, 0.3)), "attention fell below"),
    (gradient_data(scale_one_end=0.9), recall_data(), "did not fall below"),
    (gradient_data(), recall_data(elman_sensitivity=(1, 0.9, 0.5, 0.2)), "not below 0.1"),
    (gradient_data(), recall_data(elman_stopped="cap"), "1 RNN training run stopped at the"),
    (gradient_data(), recall_data(elman_sensitivity=(1, 1, 1, 1)), "gradient fell no more"),
])
def test_r3_fails_when_any_part_of_its_criterion_fails(gradients, recall, reason):
    verdict = r3_verdict({GRADIENTS: gradients, **regimes(recall)})
    assert verdict.status == FAILS_HERE and reason in verdict.reason, verdict.reason


def test_r3_needs_a_regime_in_which_the_elman_rnn_falls_short():
    remembers = recall_data(elman=(1, 1, 1, 1))
    verdict = r3_verdict({GRADIENTS: gradient_data(), **regimes(remembers, remembers)})
    assert verdict.status == FAILS_HERE and "in neither training regime" in verdict.reason
    # One regime is enough, and the reason reads both.
    one = r3_verdict({GRADIENTS: gradient_data(), **regimes(remembers)})
    assert one.status == HOLDS and one.numbers["regime where only attention recalls every k"] \
        == "uniform"
    assert "trained on mostly short delays, the Elman RNN recalls every k up to 4" in one.reason
    assert "trained on every delay equally, the Elman RNN recalls up to k = 1" in one.reason


def test_r3_needs_a_small_recurrent_scale():
    no_small_scale = {**gradient_data(), "scales": [2.0]}
    with pytest.raises(CriterionFailed, match="scale of at most 1"):
        r3_verdict({GRADIENTS: no_small_scale, **regimes()})


def test_r4_reads_the_rows_together():
    agreeing = {GRADIENTS: gradient_data(), **regimes()}
    assert r4_verdict({FORWARD: timing_data(FAST, HALVED), **agreeing}).status == HOLDS
    slow = {f: [s / (2 if f == "attention" else 1) for s in v] for f, v in SLOW_LONG.items()}
    assert r4_verdict({FORWARD: timing_data(SLOW_LONG, slow), **agreeing}).status \
        == NEEDS_HARDWARE
    assert r4_verdict({FORWARD: timing_data(FAST), **agreeing}).status == FAILS_HERE
    forgetful = {GRADIENTS: gradient_data(), **regimes(recall_data(attention=(1, 0.4, 0.3, 0.2)))}
    assert r4_verdict({FORWARD: timing_data(FAST, HALVED), **forgetful}).status == FAILS_HERE
    # An Elman RNN that carries the item to every delay in one regime is reported, not a
    # failure, while the other regime shows it falling short.
    remembers = {GRADIENTS: gradient_data(), **regimes(recall_data(elman=(1, 1, 1, 1)))}
    assert r4_verdict({FORWARD: timing_data(FAST, HALVED), **remembers}).status == HOLDS
    assert "the Elman RNN recalls every k up to 4" in r3_verdict(remembers).reason
    assert "the Elman RNN recalls up to k = 1" in r3_verdict(agreeing).reason


def epoch_data(attention=0.05, elman=0.1, lstm=0.2):
    return {"config": {"max_delay": 4}, "threads": 1, "cpu_count": 2,
            "seconds_per_epoch": {"attention": attention, "elman": elman, "lstm": lstm}}


def test_t2_holds_only_when_attention_trains_clearly_faster_and_recalls_further():
    assert t2_verdict({EPOCHS: epoch_data(), **regimes()}).status == HOLDS
    close = t2_verdict({EPOCHS: epoch_data(attention=0.095), **regimes()})
    assert close.status == NEEDS_HARDWARE and close.numbers["attention_s"] == 0.095
    forgetful = recall_data(attention=(1, 0.4, 0.3, 0.2))
    assert t2_verdict({EPOCHS: epoch_data(), **regimes(forgetful, forgetful)}).status \
        == FAILS_HERE
    remembers = recall_data(elman=(1, 1, 1, 1))  # no delay attention recalls and it does not
    assert t2_verdict({EPOCHS: epoch_data(), **regimes(remembers, remembers)}).status \
        == FAILS_HERE
    # One regime that separates the models is enough.
    assert t2_verdict({EPOCHS: epoch_data(), **regimes(remembers)}).status == HOLDS


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
