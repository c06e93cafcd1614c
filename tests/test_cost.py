"""The cost page's formulas, tables and measuring tools (attnsheet.evidence.cost / measure)."""

from __future__ import annotations

import json
import re

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from attnsheet import attention_torch, multi_head_attention_torch
from attnsheet.evidence import cost, measure


@pytest.mark.parametrize("n, d_model, heads", [(8, 16, 2), (40, 12, 3), (64, 32, 1)])
def test_flop_formulas_equal_counted_operations(n, d_model, heads):
    x = torch.randn(n, d_model)
    weights = torch.randn(4, d_model, d_model).unbind(0)
    with FlopCounterMode(display=False) as counter:
        multi_head_attention_torch(x, *weights, n_heads=heads)
    counted = {str(op): flops for op, flops in counter.get_flop_counts()["Global"].items()}
    assert counted == {"aten.mm": cost.projection_flops(n, d_model),
                       "aten.bmm": cost.attention_flops(n, d_model)}


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
    assert cost.format_bytes(count) == text


@pytest.mark.parametrize("count, text", [(8.6e9, "8.6 GFLOP"), (1.23e15, "1.23 PFLOP"),
                                         (432e9, "432 GFLOP"), (5, "5 FLOP")])
def test_format_flops(count, text):
    assert cost.format_flops(count) == text


def test_context_rows_for_llama2_7b():
    lengths = [2**p for p in range(10, 21)]
    rows = cost.context_rows(cost.LLAMA2_7B, lengths, budget_bytes=80e9)
    first = rows[0]  # n = 1,024: one head's fp16 table is 2 MiB, 32 heads make 64 MiB
    assert (first["head_fp16_bytes"], first["head_fp32_bytes"]) == (2 * 2**20, 4 * 2**20)
    assert first["layer_fp16_bytes"] == 64 * 2**20
    d, d_ff = 4096, 11008
    assert first["layer_flops"] == 8 * 1024 * d**2 + 4 * 1024**2 * d + 6 * 1024 * d * d_ff
    assert [r["n"] for r in rows if not r["layer_fits"]][0] == 65536  # 32 x 8 GiB > 80 GB
    assert [r["n"] for r in rows if not r["head_fits"]][0] == 262144  # 128 GiB > 80 GB
    shares = [r["quadratic_share"] for r in rows]
    assert shares == sorted(shares) and shares[-1] > 0.95
    for earlier, later in zip(rows, rows[1:]):  # double n: every table 4x
        assert later["head_fp16_bytes"] == 4 * earlier["head_fp16_bytes"]


def test_context_table_writes_the_page_table_the_slider_and_its_json(tmp_path):
    site, include = tmp_path / "site", tmp_path / "include"
    files = cost.context_table(site, include, lengths=[1024, 4096, 65536], budget_gb=80)
    data = json.loads((site / "data/cost/context-window.json").read_text())
    assert sorted(p.name for p in files) == ["context-slider.md", "context-table.md",
                                             "context-window.json"]
    slider = (include / "figures/cost/context-slider.md").read_text()
    # The slider starts at the model's trained context and labels itself for screen readers.
    assert 'for="context-length"' in slider and 'id="context-length"' in slider
    assert 'value="1" ' in slider and 'max="2"' in slider
    fields = set(re.findall(r'data-field="(\w+)"', slider))
    assert fields <= set(data["rows"][0]["labels"])  # every field the page shows is in the JSON
    assert f'>{data["rows"][1]["labels"]["head_fp16"]}<' in slider  # 32 MiB, rendered at build
    table = (include / "figures/cost/context-table.md").read_text()
    assert "| **65,536** |" in table  # the first row that no longer fits is marked


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
