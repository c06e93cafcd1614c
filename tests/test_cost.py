"""The cost page: its formulas and experiments (attnsheet.experiments.cost), renderings
(attnsheet.evidence.render.cost), claims' predicates (sections/cost.py) and measuring tools
(attnsheet.experiments.measure)."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from attnsheet import attention_torch, multi_head_attention_torch
from attnsheet.evidence import stage
from attnsheet.evidence.render import common
from attnsheet.evidence.render import cost as render
from attnsheet.evidence.sections import cost as section
from attnsheet.evidence.spec import FAILS_HERE, HOLDS, CriterionFailed, Figure, MachineLine
from attnsheet.experiments import cost, measure

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("n, d_model, heads", [(8, 16, 2), (40, 12, 3), (64, 32, 1)])
def test_flop_formulas_equal_counted_operations(n, d_model, heads):
    x = torch.randn(n, d_model)
    weights = torch.randn(4, d_model, d_model).unbind(0)
    with FlopCounterMode(display=False) as counter:
        multi_head_attention_torch(x, *weights, n_heads=heads)
    counted = {str(op): flops for op, flops in counter.get_flop_counts()["Global"].items()}
    assert counted == {"aten.mm": cost.projection_flops(n, d_model),
                       "aten.bmm": cost.attention_flops(n, d_model)}


def test_flop_check_records_counted_and_formula_flops():
    data = cost.flop_check(d_model=16, heads=2, lengths=[8, 32])
    assert [row["n"] for row in data["rows"]] == [8, 32] and data["crossover"] == 32
    for row in data["rows"]:
        assert row["counted"] == row["formula"]


def test_the_quadratic_part_overtakes_the_projections_at_twice_the_width():
    d = 64
    assert cost.attention_flops(2 * d, d) == cost.projection_flops(2 * d, d)
    assert cost.attention_flops(2 * d + 1, d) > cost.projection_flops(2 * d + 1, d)


def test_plain_attention_is_the_library_attention():
    q, k, v = cost.random_qkv(50, d=8)
    torch.testing.assert_close(cost.plain_attention(q, k, v), attention_torch(q, k, v))


@pytest.mark.parametrize("count, text", [(2 * 2**20, "2 MiB"), (1536, "1.5 KiB"),
                                         (512 * 2**30, "512 GiB"), (2**41, "2 TiB"), (12, "12 B")])
def test_format_bytes(count, text):
    assert common.format_bytes(count) == text


@pytest.mark.parametrize("count, text", [(8.6e9, "8.6 GFLOP"), (1.23e15, "1.23 PFLOP"),
                                         (432e9, "432 GFLOP"), (5, "5 FLOP")])
def test_format_flops(count, text):
    assert common.format_flops(count) == text


def test_context_rows_for_published_models():
    lengths = [2**p for p in range(10, 21)]
    rows = cost.context_rows([cost.LLAMA2_7B, cost.LLAMA3_8B], cost.A100, lengths)
    first = rows[0]["models"]  # n = 1,024
    # Keys and values, 32 layers x 32 heads x 128 numbers x 2 bytes: 512 KiB a token for Llama 2
    # 7B; Llama 3 8B shares each key/value head between 4 query heads: a quarter of that.
    assert first["Llama 2 7B"]["kv_cache_bytes"] == 1024 * 2 * 32 * 32 * 128 * 2
    assert first["Llama 3 8B"]["kv_cache_bytes"] == first["Llama 2 7B"]["kv_cache_bytes"] // 4
    d, d_ff, n = 4096, 14336, 1024
    per_layer = 2 * 2 * n * d * d + 2 * 2 * n * d * 1024 + 4 * n * n * d + 6 * n * d * d_ff
    assert first["Llama 3 8B"]["flops"] == 32 * per_layer
    assert first["Llama 3 8B"]["seconds_at_peak"] == 32 * per_layer / 312e12
    assert first["Llama 3 8B"]["layer_table_bytes"] == 32 * n * n * 2  # all heads, fp16
    shares = [r["models"]["Llama 3 8B"]["quadratic_share"] for r in rows]
    assert shares == sorted(shares) and shares[0] < 0.1 and shares[-1] > 0.9
    for earlier, later in zip(rows, rows[1:]):  # double n: the cache 2x, every table 4x
        for name in ("Llama 2 7B", "Llama 3 8B"):
            e, l = earlier["models"][name], later["models"][name]
            assert l["kv_cache_bytes"] == 2 * e["kv_cache_bytes"]
            assert l["layer_table_bytes"] == 4 * e["layer_table_bytes"]


def test_context_table_renders_the_slider_the_page_table_and_the_slider_json():
    script = stage.script_data_file("c3-context-table")
    rendered = render.context_table(
        cost.context_table(lengths=[1024, 8192, 65536], training_multiples=[1, 2]), src=script)
    assert set(rendered.parts) == {"", "table"} and set(rendered.scripts) == {""}
    data = rendered.scripts[""]
    [slider] = rendered.parts[""]
    # The slider names the JSON it reads (site-root relative: the page's script resolves it
    # against the site root) and starts at the trained context of the model it prices,
    # labelled for screen readers.
    assert f'data-src="{script}"' in slider and script == "data/page/c3-context-table.json"
    assert 'for="context-length"' in slider and 'id="context-length"' in slider
    assert 'value="1" ' in slider and 'max="2"' in slider
    fields = set(re.findall(r'data-field="(\w+)"', slider))
    assert fields <= set(data["rows"][0]["labels"])  # every field the page shows is in the JSON
    assert f'>{data["rows"][1]["labels"]["kv_gqa"]}<' in slider  # 1 GiB, rendered at build
    assert data["rows"][1]["labels"]["kv_gqa"] == "1 GiB"
    [table] = rendered.parts["table"]
    assert "| 65,536 |" in table and "KV cache, Llama 3 8B" in table


def test_training_cost_table_reads_each_models_relative_cost():
    [text] = render.training_cost(_context_data()).parts[""]
    assert "| 16× | 65,536: 2.15× | 131,072: 3.00× |" in text
    assert "5.1× as much (Llama 3 8B)" in text


def _trained_length_data(past: float = 3.0) -> dict:
    inside = [1.6] * 4 + [1.45] * 28
    return {"trained": 32, "loss_by_position": inside + [past] * 96, "entropy_rate": 1.34,
            "uniform_loss": 2.77, "vocab": 16, "final_training_loss": 1.48, "steps": 400,
            "batch": 64, "seed": 0, "positions": 128,
            "model": {"d_model": 64, "heads": 4, "layers": 2}}


def test_trained_length_caption_reads_the_data():
    [figure] = render.trained_length(_trained_length_data()).parts[""]
    assert "past it, <strong>3.00</strong>" in figure.caption and "1.45 nats" in figure.caption
    assert "trained here for 400 steps on 32-token sequences" in figure.caption


def test_trained_length_experiment_on_a_tiny_model():
    data = cost.trained_length(vocab=5, trained=8, d_model=16, heads=2, layers=1, steps=3,
                               batch=8, lr=1e-3, seed=0, evaluate_multiple=2, threads=1)
    assert len(data["loss_by_position"]) == 16 and data["positions"] == 16
    assert 0 < data["entropy_rate"] < data["uniform_loss"] == pytest.approx(math.log(5))


def test_the_slider_script_reads_the_path_the_markup_names():
    script = (ROOT / "docs/javascripts/context-window.js").read_text()
    assert "widget.dataset.src" in script and "siteRoot" in script
    assert "data/cost/" not in script  # the old, hand-placed path is gone
    item = next(e for e in section.EVIDENCE if e.name == section.CONTEXT)
    assert item.params["src"] == stage.script_data_file(item.name)


def test_every_rendered_item_is_included_by_the_cost_page():
    page = (ROOT / "docs/cost.md").read_text()
    for item in section.EVIDENCE:
        if item.render:
            assert f'--8<-- "{stage.include_file(item.name)}"' in page, item.name
    assert "figures/cost/" not in page


def test_chunked_check_and_sliding_window_data_render():
    check = cost.chunked_check(cases=[{"n": 20, "chunk": 3, "mask": "none"},
                                      {"n": 20, "chunk": 8, "mask": "causal"},
                                      {"n": 20, "chunk": 8, "mask": "random"}], tolerance=1e-5)
    assert check["worst"] <= check["tolerance"] and len(check["rows"]) == 3
    assert "within the 1e-05" in render.chunked_check(check).parts[""][0]
    sliding = cost.sliding_window_error(n=32, windows=[2, 8, 32], correlation=0.9)
    assert sliding["sequence_names"] == ["random", "drifting"]
    for result in sliding["sequences"].values():
        assert result["error"][-1] < 1e-5 and result["weight_dropped"][-1] < 1e-6
    text = render.sliding_window_error(sliding).parts[""][0]
    assert "A window of 32 covers every token" in text
    assert "| weight dropped (random) | error (random) | weight dropped (drifting) |" in text


# --- the timing renderers, on hand-made data --------------------------------------------------

MACHINE = {"cpu": "test CPU", "cores": 2, "threads": 1, "load": 0.5, "python": "3.11",
           "numpy": "2", "torch": "2"}


def _time_data(exponent: float = 2.0) -> dict:
    lengths = [128 * 2**i for i in range(5)]
    seconds = [1e-9 * n**exponent for n in lengths]
    flops = [cost.attention_flops(n, cost.HEAD_SIZE) for n in lengths]
    return {"lengths": lengths, "seconds": seconds, "flops": flops, "exponent": exponent,
            "fit_from": 512, "fit_from_multiple": 8, "head_size": 64, "repeats": 5,
            "repeats_long": 3, "long_from": 1024, "threads": 1, "matmul_size": 1024,
            "matmul_flops_per_second": 1e11, "cache_bytes": 8 * 2**20,
            "tables_fill_cache_at": 1024.0,
            "breakdown": {"n": 1024, "flops": flops[3], "scores": 4e-4, "softmax": 3e-4,
                          "blend": 2e-4, "whole": 1e-3},
            "machine": MACHINE}


def _memory_data(exponent: float = 2.0) -> dict:
    lengths = [256 * 2**i for i in range(4)]
    return {"lengths": lengths, "peak_bytes": [int(8 * n**exponent) for n in lengths],
            "table_bytes": [4 * n * n for n in lengths], "exponent": exponent,
            "fit_from": 512, "exponent_large": exponent, "head_size": 64, "threads": 1,
            "machine": MACHINE}


def _side_data(chunked: float = 1.0, sdpa: float = 1.0, plain: float = 2.0) -> dict:
    lengths = [512, 1024, 2048]
    exponents = {"plain": plain, "chunked": chunked, "sliding window": 1.0, "SDPA": sdpa}
    return {"lengths": lengths, "methods": list(cost.METHODS),
            "seconds": {m: [1e-8 * n**2 for n in lengths] for m in cost.METHODS},
            "peak_bytes": {m: [int(64 * n**p) for n in lengths] for m, p in exponents.items()},
            "memory_exponent": exponents, "head_size": 64, "chunk_size": 256, "query_chunk_size": 1024, "window": 256,
            "repeats": 3, "threads": 1, "machine": MACHINE}


@pytest.mark.parametrize("function, data", [(render.time_sweep, _time_data()),
                                            (render.memory_sweep, _memory_data()),
                                            (render.side_by_side, _side_data())])
def test_timing_renderers_show_a_figure_the_machine_and_a_table(function, data):
    rendered = function(data)
    *heading, figure, machine = rendered.parts[""]  # the time sweep titles its own section
    assert isinstance(figure, Figure) and isinstance(machine, MachineLine)
    if heading:
        assert re.fullmatch(r"## Work ×4 per doubling; time ×\d+\.\d to ×\d+\.\d here "
                            r"\{#the-work\}\n",
                            heading[0])
    assert machine.machine == MACHINE and set(rendered.parts) == {"", "table"}
    import matplotlib

    matplotlib.use("Agg")
    from attnsheet.evidence.figures import THEMES

    figure.draw(THEMES["dark"])  # draws without error


def test_time_sweep_names_where_the_biggest_step_is_not_its_cause():
    data = _time_data()
    data["seconds"][3] *= 3  # 512 -> 1,024 is the biggest step, across the cache line
    caption = render.time_sweep(data).parts[""][1].caption
    assert "The biggest step (512 → 1,024) crosses the dotted line" in caption
    assert "does not measure cache misses" in caption
    assert "lifts the fit" not in caption


# --- the claims' predicates: each must be able to fail ----------------------------------------


def _flop_data(off: int = 0) -> dict:
    rows = [{"n": n, "counted": {"mm": cost.projection_flops(n, 16),
                                 "bmm": cost.attention_flops(n, 16) + off},
             "formula": {"mm": cost.projection_flops(n, 16),
                         "bmm": cost.attention_flops(n, 16)}} for n in (8, 16)]
    return {"rows": rows}


def test_c1_holds_for_exact_counts_and_a_square_law():
    verdict = section.c1_verdict({"c1-flop-check": _flop_data(),
                                  "c1-time-sweep": _time_data(2.2)})
    assert verdict.status == HOLDS and verdict.numbers["time exponent"] == 2.2


@pytest.mark.parametrize("exponent", [1.2, 3.0])
def test_c1_fails_here_for_a_time_exponent_far_from_two(exponent):
    verdict = section.c1_verdict({"c1-flop-check": _flop_data(),
                                  "c1-time-sweep": _time_data(exponent)})
    assert verdict.status == FAILS_HERE


def test_c1_stops_the_build_when_the_formula_misses_a_count():
    with pytest.raises(CriterionFailed):
        section.c1_verdict({"c1-flop-check": _flop_data(off=2),
                            "c1-time-sweep": _time_data()})


def test_c2_holds_for_a_square_table_and_linear_chunked_and_sdpa_memory():
    verdict = section.c2_verdict({"c2-memory-sweep": _memory_data(2.0),
                                  "c4-side-by-side": _side_data()})
    assert verdict.status == HOLDS


@pytest.mark.parametrize("memory, side", [(1.5, _side_data()), (2.0, _side_data(chunked=2.0)),
                                          (2.0, _side_data(sdpa=1.9))])
def test_c2_fails_here_when_memory_does_not_grow_as_claimed(memory, side):
    verdict = section.c2_verdict({"c2-memory-sweep": _memory_data(memory),
                                  "c4-side-by-side": side})
    assert verdict.status == FAILS_HERE


def _context_data() -> dict:
    return cost.context_table(lengths=[2**p for p in range(10, 21)],
                              training_multiples=[2**k for k in range(6)])


def _c3(table=None, run=None):
    return section.c3_verdict({"c3-context-table": table or _context_data(),
                               "c3-trained-length": run or _trained_length_data()})


def test_c3_holds_for_the_published_models():
    verdict = _c3()
    assert verdict.status == HOLDS
    assert verdict.numbers["Llama 3 8B KV cache per token (bytes)"] == 131072


@pytest.mark.parametrize("change", ["share", "cache", "sharing", "no rise", "cheap training",
                                    "flat training"])
def test_c3_stops_the_build_on_contrary_numbers(change):
    data, run = _context_data(), None
    gqa = data["rows"][5]["models"]["Llama 3 8B"]
    if change == "share":  # the n² share falls somewhere
        gqa["quadratic_share"] = data["rows"][4]["models"]["Llama 3 8B"]["quadratic_share"] / 2
    elif change == "cache":  # a cache that is not proportional to n
        gqa["kv_cache_bytes"] += 1
    elif change == "sharing":  # shared heads that save nothing
        data["models"][1] = {**data["models"][1], "kv_heads": 32}
    elif change == "cheap training":  # longer training hardly costs more per token
        for row in data["training_cost"]["Llama 3 8B"]:
            row["relative"] = 1 + (row["relative"] - 1) / 4
    elif change == "flat training":  # per-token cost that falls at one longer length
        data["training_cost"]["Llama 2 7B"][2]["relative"] = 1.0
    else:  # a model no worse past its training length
        run = _trained_length_data(past=1.5)
    with pytest.raises(CriterionFailed):
        _c3(data, run)


def _chunked_data(worst: float = 1e-7) -> dict:
    return {"tolerance": 1e-5, "rows": [{"from_plain": worst, "from_sdpa": worst / 2}]}


def _sliding_data(random=(5.0, 2.8, 1.2, 1e-8), drifting=(0.15, 0.06, 0.03, 1e-8)) -> dict:
    """Errors at windows 16, 64, 256 and the whole 1,024 (the build's shape)."""
    dropped = [0.5, 0.2, 0.1, 0.0]
    return {"n": 1024, "windows": [16, 64, 256, 1024],
            "sequences": {"random": {"error": list(random), "weight_dropped": dropped},
                          "drifting": {"error": list(drifting), "weight_dropped": dropped}}}


def _c4(chunked=None, sliding=None, side=None) -> dict:
    return {"c4-chunked-check": chunked or _chunked_data(),
            "c4-sliding-window-error": sliding or _sliding_data(),
            "c4-side-by-side": side or _side_data()}


def test_c4_holds_for_exact_chunks_a_shrinking_window_error_and_linear_chunked_memory():
    assert section.c4_verdict(_c4()).status == HOLDS


def test_c4_fails_here_when_chunked_memory_grows_like_plain():
    assert section.c4_verdict(_c4(side=_side_data(chunked=1.8))).status == FAILS_HERE


@pytest.mark.parametrize("data", [
    _c4(chunked=_chunked_data(worst=1e-3)),
    _c4(sliding=_sliding_data(random=(2.8, 5.0, 1.2, 1e-8))),  # error grows with the window
    _c4(sliding=_sliding_data(drifting=(0.15, 0.06, 0.03, 0.01))),  # full window is not exact
    _c4(sliding=_sliding_data(drifting=(0.5, 0.3, 0.03, 1e-8))),  # useless on local data
    _c4(sliding=_sliding_data(random=(0.5, 0.2, 0.1, 1e-8))),  # loses nothing on random data
])
def test_c4_stops_the_build_on_an_inexact_chunk_or_window(data):
    with pytest.raises(CriterionFailed):
        section.c4_verdict(data)


# --- the measuring tools ----------------------------------------------------------------------


def test_fitted_exponent_recovers_a_power_law():
    sizes = [128, 256, 512, 1024]
    assert measure.fitted_exponent(sizes, [3 * n**2 for n in sizes]) == pytest.approx(2)
    assert measure.fitted_exponent(sizes, [5 * n for n in sizes]) == pytest.approx(1)


def test_peak_bytes_sees_what_a_call_allocates():
    size = 64 * 2**20
    peak = measure.peak_bytes(lambda: torch.ones(size // 4))  # 64 MiB of float32, touched
    assert size <= peak < 1.25 * size
    assert measure.peak_bytes(lambda: None) < 2**20


def test_interleaved_medians_take_turns():
    order = []
    calls = {name: (lambda name=name: order.append(name)) for name in "ab"}
    medians = measure.interleaved_medians(calls, {"a": 3, "b": 1})
    assert order == ["a", "b", "a", "a"] and set(medians) == {"a", "b"}


def test_measuring_sets_and_restores_the_thread_count():
    before = torch.get_num_threads()
    with measure.measuring(threads=1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_last_level_cache_is_a_size_or_unknown():
    cache = measure.last_level_cache_bytes()
    assert cache is None or cache >= 2**16
