"""Section 1, the one idea that matters (docs/idea.md): O1, O2."""

from __future__ import annotations

from ..render.idea import hand_offs
from ..spec import HOLDS, Claim, Evidence, Experiment, Verdict, must

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("o1-dependency-graphs", "attnsheet.experiments.idea:dependency_graphs",
               params={"n": 6, "d": 4, "seed": 0}),
)

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("idea-chain-snippet", "idea.md#count-the-steps",
             "Counts hand-offs from the first token to the last: n - 1 for an RNN, 1 for "
             "attention.",
             snippet="idea/steps.py"),
    Evidence("o1-dependency-figure", "idea.md#dependency-graphs",
             "Dependency graphs of the library's RNN and attention, from the autograd Jacobian "
             "and graph; longest path n-1 hand-offs vs 1 (light and dark SVG).",
             render="attnsheet.evidence.render.idea:dependency_figure",
             data=("o1-dependency-graphs",)),
)


def path_counts(data) -> Verdict:
    """O1 (and L1): from input 0 to output n-1, the RNN's longest path runs through every
    state (n-1 hand-offs between positions), attention's is one hand-off; the RNN's outputs
    depend on exactly the inputs up to their own position, attention's on every input."""
    graphs = data["o1-dependency-graphs"]
    n, rnn, attn = graphs["n"], graphs["graphs"]["recurrence"], graphs["graphs"]["attention"]
    rnn_path, attn_path = rnn["longest_path"] or [], attn["longest_path"] or []
    ends = [["x", 0], ["y", n - 1]]
    must(rnn_path[:1] + rnn_path[-1:] == ends and attn_path[:1] + attn_path[-1:] == ends,
         f"a longest path does not run from input 0 to output {n - 1}: "
         f"{rnn_path}, {attn_path}")
    handoffs, links = hand_offs(rnn_path), hand_offs(attn_path)  # between positions
    must(handoffs == n - 1 and len(rnn_path) == n + 1,
         f"the RNN's longest path has {handoffs} hand-offs between positions, not "
         f"n - 1 = {n - 1}")
    must(links == 1 and len(attn_path) == 2,
         f"attention's longest path has {links} hand-offs, not 1")
    lower = [[s <= t for s in range(n)] for t in range(n)]
    must(rnn["depends"] == lower,
         "the RNN's outputs do not depend on exactly the inputs up to their position")
    must(all(map(all, attn["depends"])), "an attention output does not depend on every input")
    return Verdict(HOLDS, {"n": n, "rnn hand-offs": handoffs, "attention hand-offs": links},
                   f"On {n} positions the longest path from the first input to the last "
                   f"output passes {handoffs} hand-offs between positions (n − 1) for the RNN "
                   f"and {links} for attention.")


PATH_COUNTS = ("From the first input to the last output on n positions, derived from the code "
               "(autograd Jacobian and graph): the RNN's longest path passes n - 1 hand-offs "
               "between positions, attention's 1; the RNN's outputs depend on "
               "exactly the inputs up to their position, attention's on every input.")


def no_loop_one_call(data) -> Verdict:
    """O2: the block's code has no loop at all, the same check finds the RNN's loop over
    positions, and one call runs every sub-layer once on all n positions."""
    check = data["o2-block-check"]
    block, rnn = check["block"], check["rnn_control"]
    loops = [loop for found in block["inspected"].values() for loop in found]
    must(not loops, f"the block's code has loops: {loops}")
    must(bool(rnn["position_loops"]),
         f"the check missed the RNN's loop over positions: {rnn['inspected']}")
    n, sublayers = one_call(check)
    return Verdict(HOLDS, {"functions read": len(block["inspected"]), "block loops": 0,
                           "RNN position loops": len(rnn["position_loops"]),
                           "sub-layers": sublayers, "n": n},
                   f"No loop in the {len(block['inspected'])} functions of the block's code "
                   f"(the same check finds the RNN's loop over positions); one call ran each "
                   f"of its {sublayers} sub-layers once on all {n} positions.")


def one_call(check) -> tuple[int, int]:
    """Must: one call of the block handled all n positions, each sub-layer called once on
    all of them. Returns (n, number of sub-layers)."""
    n, calls = check["one_call"]["n"], check["one_call"]["sublayer_calls"]
    d_model = check["config"]["d_model"]
    must(check["one_call"]["output_shape"] == [n, d_model] and calls
         and all(positions == [n] for positions in calls.values()),
         f"one call did not handle all {n} positions at once: {check['one_call']}")
    return n, len(calls)


CLAIMS: tuple[Claim, ...] = (
    Claim("O1", "idea.md",
          "Recurrence reads in order and carries a memory; attention lets every position consult "
          "every other in one step (longest dependency path n-1 vs 1).",
          ("idea-chain-snippet", "o1-dependency-figure"),
          criterion=PATH_COUNTS, predicate=path_counts, by_construction=True,
          section="count-the-steps"),
    Claim("O2", "idea.md",
          "A transformer is built from attention and has no recurrence: no loop over positions.",
          ("transformer-layer-snippet", "o2-block-check"),
          criterion="The block's forward and every library function it calls, read with ast, "
                    "hold no loop (for, while or comprehension); the same check finds the "
                    "Elman RNN's loop over positions; one call of the block on n positions "
                    "runs each sub-layer once on all n and returns every position's output.",
          predicate=no_loop_one_call, by_construction=True, section="transformer.md#no-loop-over-positions"),
)
