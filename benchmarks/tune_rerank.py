"""Tune the weights of the rerank score (`medbot_hf.reranking.candidate_score`) on the shared valid.txt.

    python benchmarks/tune_rerank.py --model_name_or_path MODEL [--mmi_model_name_or_path MMI] [--stride 20 --offset 5]

The tuning dialogues are every `--stride`-th of valid.txt from `--offset`, so that by default they never overlap the
README's evaluation subset (`medbot-eval --dialogue_stride 10`: dialogues 0, 10, 20, ...). Every doctor turn gets N = 8
candidates once, through `generate_replies` as medbot-eval draws them; each candidate's features are kept (mean
log-probability, loops, guarded, the reverse model's score), and every weight setting of the grid then picks its
reply per turn from the same candidates. The table shows the settings by ROUGE-L, then BLEU-4.
"""

from __future__ import annotations

import argparse
import itertools

from common import SHARED_VALID, machine, table

from medbot_hf.configs import RerankArguments
from medbot_hf.corpus import read_corpus
from medbot_hf.data import to_dataset
from medbot_hf.evaluation import doctor_turns, generate_all, generation_metrics
from medbot_hf.metrics.loops import is_looping
from medbot_hf.modeling import load_for_inference
from medbot_hf.reranking import Reranker, candidate_score
from medbot_hf.safety import guard_reply


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
    parser.add_argument("--stride", type=int, default=20)
    parser.add_argument("--offset", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args()
    model, tok = load_for_inference(args.model_name_or_path, "cpu")
    mmi = load_for_inference(args.mmi_model_name_or_path, "cpu") if args.mmi_model_name_or_path else ()
    recorder = Recorder(RerankArguments(num_candidates=8), *mmi)
    dialogues = to_dataset(read_corpus(str(SHARED_VALID))).select(range(args.offset, 910, args.stride))
    histories, references = doctor_turns(dialogues)
    generate_all(model, tok, histories, args.batch_size, 0, num_candidates=8, reranker=recorder)
    # generate_all asks in order of prompt length (a stable sort), batch after batch
    order = sorted(range(len(histories)), key=lambda i: sum(len(m["content"]) for m in histories[i]))
    candidates = [None] * len(histories)
    for i, seen in zip(order, recorder.seen, strict=True):
        candidates[i] = [(text, lp, m, is_looping(text), guard_reply(text).changed) for text, lp, m in seen]
    grid = itertools.product([0.0, 0.5, 1.0, 2.0], [0.0, 1.0, 2.0, 4.0], [0.0, 0.25, 0.5, 1.0] if mmi else [0.0])
    rows = []
    for loop, guard, weight in grid:
        w = RerankArguments(loop_penalty=loop, guard_penalty=guard, mmi_weight=weight)
        chosen = [max(c, key=lambda f: candidate_score(f[1], f[0], f[2], w))[0] for c in candidates]
        m = generation_metrics(chosen, references)
        rows.append(
            [loop, guard, weight, *(round(m[k], 4) for k in ("rouge_l", "bleu_4", "distinct_2", "repetition_rate"))]
        )
    rows.sort(key=lambda r: (r[3], r[4]), reverse=True)
    print(machine())
    print(f"model {args.model_name_or_path}, reverse model {args.mmi_model_name_or_path}; {len(dialogues)} dialogues "
          f"(valid.txt[{args.offset}::{args.stride}]), {len(histories)} doctor turns, 8 candidates each")  # fmt: skip
    print(
        table(
            ["loop_penalty", "guard_penalty", "mmi_weight", "rouge_l", "bleu_4", "distinct_2", "repetition"], rows[:12]
        )
    )


if __name__ == "__main__":
    main()
