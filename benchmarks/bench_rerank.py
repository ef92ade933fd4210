"""What reranking and retrieval cost: time per reply and time to first visible piece for N candidates, and the
retrieval index's build and query times.

    python benchmarks/bench_rerank.py --model_name_or_path MODEL [--mmi_model_name_or_path MMI] [--questions 20]

For the first `--questions` patient turns of the shared valid.txt (spread over it: every 50th dialogue), one reply
each at N = 1 (plain sampling: `generate`) and N = 8 (`generation.sample_candidates`: the 8 decoded as one batch,
then the score), streamed through `stream_reply` as the chat does, and again from `generate_replies` without a
streamer, as `medbot-eval` and the API's plain answers run. "time to first piece s" (TTFT) is when the first text
reaches the reader; with N > 1 that waits for all the candidates. The weights are `RerankArguments`' defaults.
Then the index over the shared train.txt: build time and the mean time of one query.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import SHARED_TRAIN, SHARED_VALID, machine, table

from medbot_hf.configs import RerankArguments
from medbot_hf.corpus import read_corpus
from medbot_hf.generation import generate_replies, stream_reply
from medbot_hf.modeling import load_for_inference
from medbot_hf.reranking import Reranker
from medbot_hf.retrieval import build_corpus_index


def time_replies(model, tok, questions, n: int, reranker) -> tuple[float, float, float]:
    """Mean seconds to the first streamed piece and to the whole streamed reply (`stream_reply`, as the chat runs),
    and to the reply from `generate_replies` without a streamer."""
    first, whole, bare = [], [], []
    for seed, question in enumerate(questions):
        messages = [{"role": "user", "content": question}]
        start = time.perf_counter()
        pieces = stream_reply(model, tok, messages, seed=seed, num_candidates=n, reranker=reranker)
        next(pieces, None)
        first.append(time.perf_counter() - start)
        for _ in pieces:
            pass
        whole.append(time.perf_counter() - start)
        start = time.perf_counter()
        generate_replies(model, tok, [messages], seed=seed, num_candidates=n, reranker=reranker)
        bare.append(time.perf_counter() - start)
    return statistics.mean(first), statistics.mean(whole), statistics.mean(bare)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_name_or_path", required=True)
    parser.add_argument("--mmi_model_name_or_path")
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    model, tok = load_for_inference(args.model_name_or_path, "cpu")
    dialogues = read_corpus(str(SHARED_VALID)).dialogues[::50][: args.questions]
    questions = [d[0]["content"] for d in dialogues]
    setups = [("N = 1 (plain sampling)", 1, None), ("N = 8", 8, Reranker(RerankArguments(num_candidates=8)))]
    if args.mmi_model_name_or_path:
        mmi = RerankArguments(num_candidates=8, mmi_model_name_or_path=args.mmi_model_name_or_path)
        setups.append(("N = 8 + MMI", 8, Reranker.from_args(mmi, "cpu")))
    rows, base = [], None
    time_replies(model, tok, questions[:2], 1, None)  # warm-up
    for name, n, reranker in setups:
        first, whole, bare = time_replies(model, tok, questions, n, reranker)
        base = base or (whole, bare)
        rows.append(
            [name, f"{first:.3f}", f"{whole:.3f}", f"{whole / base[0]:.2f}x", f"{bare:.3f}", f"{bare / base[1]:.2f}x"]
        )
    print(machine())
    print(f"model: {args.model_name_or_path}; {len(questions)} questions from {SHARED_VALID.name}, one reply each")
    head = [
        "setup",
        "time to first piece s (TTFT)",
        "streamed reply s",
        "vs N = 1",
        "reply s, no streamer",
        "vs N = 1",
    ]
    print(table(head, rows))
    train = read_corpus(str(SHARED_TRAIN)).dialogues
    start = time.perf_counter()
    index = build_corpus_index(train, str(SHARED_TRAIN), SHARED_TRAIN.name)
    build = time.perf_counter() - start
    queries = [m["content"] for d in read_corpus(str(SHARED_VALID)).dialogues for m in d if m["role"] == "user"]
    start = time.perf_counter()
    for query in queries:
        index.search(query, 3)
    per_query = (time.perf_counter() - start) / len(queries) * 1000
    row = ["bm25s, character bigrams", index.meta["pairs"], f"{build:.2f}", len(queries), f"{per_query:.2f}"]
    print(table(["index", "pairs", "build s", "queries", "ms per query (k=3)"], [row]))


if __name__ == "__main__":
    main()
