"""Serving throughput: continuous batching against one-request-at-a-time, at 1, 4 and 16 concurrent clients.

    python benchmarks/bench_serving.py [--requests_per_client 4 --max_tokens 32 --model_name_or_path FOLDER]

Two tables: streamed clients (`/api/chat/stream`, as the page does: requests/s, time to first token p50/p95, tokens/s
seen by each client) and whole replies (`/api/chat`: requests/s, latency p50/p95). "one at a time" is the same server
with `--max_batch_size 1`; "continuous batching" lets up to 16 replies decode together.

The model is the CPU recipe's GPT-2 (4 layers, 256 dim, n_positions 256): random weights with the vocab of the bundled
corpus, or `--model_name_or_path` a trained folder (copied; the copy gets the `min_new_tokens` below, the folder is
left alone). Every reply is exactly `max_tokens` long (`min_new_tokens` holds [SEP] back), so both servers do the same
work. Each server is a real `medbot-serve` process on 127.0.0.1; clients are threads with their own httpx client.
Two times to first token: "first sentence" is the client's time to the first `delta` event, what a person on the page
waits for: the stream shows whole sentences, each checked by the safety guard, so it is the model's time to the end of
its first sentence (random weights rarely end one: then the whole reply); "first token" is the server's time from
submitting the request to the model's first token (queue + prefill), read from each request's log line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import torch
from common import ROOT, machine, table
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

from medbot_hf.configs import GenerationArguments
from medbot_hf.corpus import read_corpus
from medbot_hf.modeling import build_tokenizer
from medbot_hf.serve_cli import server_process  # the real-process launcher the tests use too
from medbot_hf.training import build_generation_config

QUESTIONS = ["我头疼两天了怎么办？", "孩子发烧38度要去医院吗？", "最近总是失眠，有什么办法？", "胃疼吃什么药好？"]


def make_model(path: Path, max_tokens: int) -> None:
    texts = [m["content"] for d in read_corpus(str(ROOT / "data/sample/train.txt")).dialogues for m in d]
    tokenizer = build_tokenizer(texts)
    torch.manual_seed(0)
    special = {"bos_token_id": 2, "eos_token_id": 3, "pad_token_id": 0}
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=256, n_layer=4, n_head=4, n_positions=256, **special)
    model = GPT2LMHeadModel(config)
    model.generation_config = build_generation_config(tokenizer, GenerationArguments(max_new_tokens=max_tokens))
    model.generation_config.min_new_tokens = max_tokens
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def copy_model(source: str, path: Path, max_tokens: int) -> None:
    """A trained folder's copy whose replies are exactly `max_tokens` long."""
    shutil.copytree(source, path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("checkpoint-*", "eval*", "runs"))
    config = GenerationConfig.from_pretrained(path)
    config.max_new_tokens = config.min_new_tokens = max_tokens
    config.save_pretrained(path)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def load(base: str, clients: int, per_client: int, max_tokens: int) -> list:
    def client(i: int) -> list[tuple[int, float]]:
        out = []
        with httpx.Client(timeout=120) as http:
            for j in range(per_client):
                body = {"messages": [{"role": "user", "content": QUESTIONS[(i + j) % 4]}], "max_tokens": max_tokens}
                start = time.perf_counter()
                status = http.post(base + "/api/chat", json=body).status_code
                out.append((status, time.perf_counter() - start))
        return out

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = [r for rs in pool.map(client, range(clients)) for r in rs]
    wall = time.perf_counter() - start
    latencies = [t for _, t in results]
    errors = sum(status != 200 for status, _ in results)
    return [len(results) / wall, statistics.median(latencies), percentile(latencies, 0.95), errors]


def stream_load(base: str, clients: int, per_client: int, max_tokens: int) -> list:
    """Streamed clients: requests/s, time to first token p50/p95, median tokens/s per client, errors."""

    def client(i: int) -> list[tuple[bool, float, float]]:
        out = []
        with httpx.Client(timeout=120) as http:
            for j in range(per_client):
                body = {"messages": [{"role": "user", "content": QUESTIONS[(i + j) % 4]}], "max_tokens": max_tokens}
                start, first, done = time.perf_counter(), None, False
                with http.stream("POST", base + "/api/chat/stream", json=body) as response:
                    for line in response.iter_lines():
                        first = first or ('"delta"' in line and time.perf_counter())
                        done = done or (response.status_code == 200 and '"done"' in line)
                total = time.perf_counter() - start
                out.append((done and bool(first), (first or start + total) - start, max_tokens / total))
        return out

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = [r for rs in pool.map(client, range(clients)) for r in rs]
    wall = time.perf_counter() - start
    ttft = [t for ok, t, _ in results if ok]
    rates = [r for ok, _, r in results if ok]
    errors = sum(not ok for ok, _, _ in results)
    return [len(results) / wall, statistics.median(ttft), percentile(ttft, 0.95), statistics.median(rates), errors]


def first_token_times(log_path: Path, skip: int) -> tuple[list[float], int]:
    """The streamed requests' time to first token, from the server log's lines after the first `skip`."""
    time.sleep(0.5)  # a stream's log line is written as its response ends
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    found = (re.search(r"/api/chat/stream: .*first token after ([\d.]+) s", line) for line in lines[skip:])
    return [float(m[1]) for m in found if m], len(lines)


def main(args) -> None:
    print(f"Machine: {machine()}")
    rows, streamed = {}, {}
    servers = (("one at a time", "1"), ("continuous batching", "16"))
    with tempfile.TemporaryDirectory() as tmp:
        if args.model_name_or_path:
            copy_model(args.model_name_or_path, Path(tmp), args.max_tokens)
        else:
            make_model(Path(tmp), args.max_tokens)
        print(f"Model: {args.model_name_or_path or 'random init, 4 layers x 256'}")
        for name, batch in servers:
            flags = ("--max_batch_size", batch, "--max_queue", "64")
            log = Path(tmp) / f"server-{batch}.log"
            with server_process(tmp, *flags, log_path=str(log)) as base:
                load(base, 4, 2, args.max_tokens)  # warm-up: the first calls of a fresh process are slower
                for clients in (1, 4, 16):
                    _, seen = first_token_times(log, 0)
                    streamed[name, clients] = stream_load(base, clients, args.requests_per_client, args.max_tokens)
                    first, _ = first_token_times(log, seen)
                    streamed[name, clients] += [statistics.median(first), percentile(first, 0.95)]
                    rows[name, clients] = load(base, clients, args.requests_per_client, args.max_tokens)
    out = []
    for (name, clients), (rps, p50, p95, rate, errors, first50, first95) in streamed.items():
        speedup = rps / streamed["one at a time", clients][0]
        out.append([name, clients, f"{rps:.2f}", f"{first50:.3f}", f"{first95:.3f}", f"{p50:.3f}", f"{p95:.3f}",
                    f"{rate:.1f}", errors, f"{speedup:.1f}x"])  # fmt: skip
    print(f"\n## Streamed clients: {args.max_tokens}-token replies, {args.requests_per_client} requests per client\n")
    headers = ["server", "streams", "requests/s", "first token p50 s", "first token p95 s", "first sentence p50 s",
               "first sentence p95 s", "tokens/s per client", "errors", "vs one at a time"]  # fmt: skip
    print(table(headers, out))
    out = []
    for (name, clients), (rps, p50, p95, errors) in rows.items():
        speedup = rps / rows["one at a time", clients][0]
        out.append([name, clients, f"{rps:.2f}", f"{p50:.2f}", f"{p95:.2f}", errors, f"{speedup:.1f}x"])
    print(f"\n## Whole replies: {args.max_tokens}-token replies, {args.requests_per_client} requests per client\n")
    print(table(["server", "clients", "requests/s", "p50 s", "p95 s", "errors", "vs one at a time"], out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests_per_client", type=int, default=4)
    parser.add_argument("--max_tokens", type=int, default=32)
    parser.add_argument("--model_name_or_path", help="a trained folder to serve (a copy); default: random init")
    main(parser.parse_args())
