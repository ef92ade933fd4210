"""Tune the weights of the rerank score (`medbot_hf.reranking.candidate_score`) on the shared valid.txt.

    python benchmarks/tune_rerank.py --model_name_or_path MODEL [--mmi_model_name_or_path MMI] [--stride 4 --offset 1]
        [--candidates FILE]   # keep the drawn candidates there, and reuse them when the file exists

The tuning dialogues are every `--stride`-th of valid.txt from `--offset`: by default dialogues 1, 5, 9, ..., which
never overlap the README's evaluation subset (`medbot-eval --dialogue_stride 4`: dialogues 0, 4, 8, ...). Every doctor
turn gets N = 8 candidates once, through `generate_replies` as medbot-eval draws them (seed 0); each candidate's
features are kept (mean log-probability, loops, guarded, the reverse model's score), and every weight setting of the
grid then picks its reply per turn from the same candidates. The tables show the settings by ROUGE-L, then BLEU-4
(all of them, those better than no reranking on all four metrics, and those without the reverse model), beside the
first candidate of each turn (no reranking). `--candidates` saves the drawn candidates and their features (JSON, in
a folder of your own, never in the repo: they hold text generated from the research-only corpus's prompts), so a
wider grid does not need a new draw.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
from pathlib import Path

from common import SHARED_VALID, machine, table

from medbot_hf import reranking
from medbot_hf.configs import RerankArguments
from medbot_hf.corpus import read_corpus
from medbot_hf.data import to_dataset
from medbot_hf.evaluation import doctor_turns, generate_all, generation_metrics, generation_order
from medbot_hf.modeling import load_for_inference
from medbot_hf.pipeline import answer_replies
from medbot_hf.reranking import Reranker, candidate_score

# candidate_score's two checks of a text are pure (~0.5 ms a text here): cached, each candidate is checked once, not
# once per weight setting of the grid
reranking.is_looping = functools.cache(reranking.is_looping)
reranking.guard_reply = functools.cache(reranking.guard_reply)


class Recorder(Reranker):
    """A reranker that also keeps each history's candidates and their features, in the order it is asked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[list[tuple]] = []

    def best(self, question: str, texts: list[str], log_probs: list[float]) -> int:
        mmi = self.mmi_log_probs([question] * len(texts), texts) or [None] * len(texts)
        self.seen.append(list(zip(texts, log_probs, mmi, strict=True)))
        scores = [candidate_score(lp, t, m, self.weights) for t, lp, m in self.seen[-1]]
        return max(range(len(texts)), key=scores.__getitem__)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_name_or_path", required=True)
    parser.add_argument("--mmi_model_name_or_path")
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--offset", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--candidates", type=Path, help="JSON file: where the candidates are kept and reused from")
    args = parser.parse_args()
    dialogues = to_dataset(read_corpus(str(SHARED_VALID))).select(range(args.offset, 910, args.stride))
    histories, references = doctor_turns(dialogues)
    if args.candidates and args.candidates.exists():
        candidates = json.loads(args.candidates.read_text(encoding="utf-8"))
        mmi = bool(candidates[0][0][2] is not None)
    else:
        candidates, mmi = draw(args, histories), bool(args.mmi_model_name_or_path)
        if args.candidates:
            args.candidates.write_text(json.dumps(candidates, ensure_ascii=False), encoding="utf-8")
    # Only the ratio of the two log-probability weights matters between candidates, so the reverse model's weight is
    # 0 or 1 and the forward one runs from 1 down to 0 (the ancestor's choice: the reverse model's score alone).
    grid = itertools.product(
        [1.0, 0.5, 0.25, 0.1, 0.05, 0.025, 0.0], [0.0, 1.0] if mmi else [0.0], [0.25, 0.5, 1.0, 2.0], [0.5, 2.0]
    )
    keys = ("rouge_l", "bleu_4", "distinct_2", "repetition_rate")
    rows = []
    for forward, weight, loop, guard in grid:
        if forward == weight == 0.0:
            continue
        w = RerankArguments(log_prob_weight=forward, mmi_weight=weight, loop_penalty=loop, guard_penalty=guard)
        chosen = [max(c, key=lambda f: candidate_score(f[1], f[0], f[2], w))[3] for c in candidates]
        m = generation_metrics(chosen, references)
        rows.append([forward, weight, loop, guard, *(round(m[k], 4) for k in keys)])
    rows.sort(key=lambda r: (r[4], r[5]), reverse=True)
    first = generation_metrics([c[0][3] for c in candidates], references)
    print(machine())
    print(f"model {args.model_name_or_path}, reverse model {args.mmi_model_name_or_path}; {len(dialogues)} dialogues "
          f"(valid.txt[{args.offset}::{args.stride}]), {len(histories)} doctor turns, 8 candidates each")  # fmt: skip
    headers = ["log_prob_weight", "mmi_weight", "loop_penalty", "guard_penalty", "rouge_l", "bleu_4", "distinct_2",
               "repetition"]  # fmt: skip
    first_row = ["first candidate", "(no reranking)", "", "", *(round(first[k], 4) for k in keys)]
    print(table(headers, [first_row, *rows[:12]]))
    better = [r for r in rows if r[4] > first["rouge_l"] and r[5] > first["bleu_4"] and r[6] > first["distinct_2"]
              and r[7] < first["repetition_rate"]]  # fmt: skip
    print(f"Better than no reranking on all four metrics: {len(better)} of {len(rows)} settings")
    if better:
        print(table(headers, [first_row, *better[:12]]))
    if mmi:
        print("Without the reverse model (mmi_weight 0):")
        print(table(headers, [first_row, *[r for r in rows if r[1] == 0.0][:8]]))


def draw(args, histories) -> list[list[tuple]]:
    """N = 8 candidates per history, drawn once as medbot-eval draws them: `(text, log_prob, mmi, shown)` each."""
    model, tok = load_for_inference(args.model_name_or_path, "cpu")
    mmi = load_for_inference(args.mmi_model_name_or_path, "cpu") if args.mmi_model_name_or_path else ()
    recorder = Recorder(RerankArguments(num_candidates=8), *mmi)
    generate_all(model, tok, histories, args.batch_size, 0, num_candidates=8, reranker=recorder)
    order = generation_order(histories)  # the recorder saw the histories in generate_all's order
    candidates = [None] * len(histories)
    for i, seen in zip(order, recorder.seen, strict=True):
        # scored as medbot-eval scores a reply: as shown, through the one answer pipeline (the guard's text)
        shown = [a.text for a in answer_replies([histories[i]] * len(seen), [text for text, _, _ in seen])]
        candidates[i] = [(text, lp, m, s) for (text, lp, m), s in zip(seen, shown, strict=True)]
    return candidates


if __name__ == "__main__":
    main()
