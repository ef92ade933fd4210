"""Reply speed: our generation path against the ancestor's loop, on the ancestor's 12-layer/768 GPT-2.

    python benchmarks/bench_generation.py [--new_tokens 64 --history_tokens 200 --repeats 3 --no_compile]
    python benchmarks/bench_generation.py --small_only --profile  # the 4-layer tables only, and where time goes

A randomly initialised GPT-2 (12 layers, 768 dim, 12 heads, vocab 13,317 as GPT2-chitchat's) answers a 200-token
history with exactly 64 new tokens (`min_new_tokens` keeps [SEP] from ending a reply early), top-k 8 sampling:
- ancestor: GPT2-chitchat's interact.py loop, which re-runs the whole sequence for every token (no KV cache);
- ours: `medbot_hf.generation.generate_reply` (HF `generate`, dynamic KV cache);
- ours + static cache, and ours + static cache + compiled decoding (`medbot-chat --torch_compile`);
- ours + int8 weights (`--quantize int8`: Conv1D to Linear, torch.ao dynamic int8).
A second table does the same for the CPU recipe's 4-layer GPT-2s (4 x 256 as before, 4 x 192 as config_cpu.yaml now;
vocab 3,242 as their trained folders), fp32 and int8, through `generate` (what `medbot-chat` runs, one stream) and
the server's scheduler (`batching.Scheduler`, its own decode loop over the KV cache: one request alone, and 16
together), and splits each token's time into the model's forward pass (KV cache, batch 1) and the rest (logits
processors, sampling, stopping criteria, cache and mask bookkeeping). `--profile` prints where one fp32 `generate`
reply and one 16-row scheduler round of those models spend their time (cProfile, by own time).
Time to first token is the prefill plus one sampled token. The bound is the weights' bytes read once per token
against 21.7 GB/s, the decode bandwidth bound measured in ../shared/notes/hf-v5-on-cpu.md.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import time

import torch
import torch.nn.functional as F
from common import machine, table
from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

from medbot_hf.batching import Scheduler
from medbot_hf.generation import enable_compiled_decoding, generate_reply
from medbot_hf.modeling import build_tokenizer, quantize_int8

VOCAB = 13317
HISTORY_TEXT = "医生您好我最近头疼发烧咳嗽还有点拉肚子请问应该怎么办需要吃药吗"
NOTES_BANDWIDTH = 21.7  # GB/s, ../shared/notes/hf-v5-on-cpu.md: streaming reads that miss every cache


def bandwidth_gbs() -> float:
    x = torch.ones(64 * 2**20)  # 256 MB of fp32
    x.sum()
    start = time.perf_counter()
    for _ in range(10):
        x.sum()
    return 10 * x.numel() * 4 / (time.perf_counter() - start) / 1e9


@torch.inference_mode()
def ancestor_loop(model, input_ids: torch.Tensor, new_tokens: int, top_k: int = 8) -> torch.Tensor:
    """interact.py: logits of the last position from a full forward pass, [UNK] masked, top-k sampling."""
    generated = []
    for _ in range(new_tokens):
        logits = model(input_ids=input_ids).logits[0, -1, :]
        logits[1] = -float("inf")  # [UNK]
        values, _ = torch.topk(logits, top_k)
        logits[logits < values[-1]] = -float("inf")
        token = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
        generated.append(token.item())
        input_ids = torch.cat((input_ids, token.unsqueeze(0)), dim=1)
    return input_ids


def history(n_tokens: int) -> list[dict[str, str]]:
    """An odd number of alternating turns of ~25 characters that take exactly `n_tokens` ids in the chat format."""
    text = HISTORY_TEXT * 2
    turns = -(-(n_tokens - 1) // 26) | 1  # each turn is <= 25 characters plus its [SEP]; odd: ends with the patient
    chars = n_tokens - 1 - turns
    sizes = [chars // turns + (i < chars % turns) for i in range(turns)]
    return [{"role": ("user", "assistant")[i % 2], "content": text[:size]} for i, size in enumerate(sizes)]


def timed(fn, repeats: int) -> tuple[float, float]:
    """`(best of repeats, first call)`: the first call pays warm-up and, when compiling, the compilation."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best, first


def main(args) -> None:
    print(f"Machine: {machine()}")
    if args.small_only:
        return print_small_table(args)
    torch.manual_seed(0)
    chars = [chr(0x4E00 + i) for i in range(VOCAB - 100)]
    tokenizer = build_tokenizer(chars)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=1024, bos_token_id=2, eos_token_id=3, pad_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=2, eos_token_id=3, pad_token_id=0, suppress_tokens=[0, 1, 2], do_sample=True, top_k=8,
        max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
    )  # fmt: skip
    messages = history(args.history_tokens)
    prompt = torch.tensor([tokenizer.apply_chat_template(messages, return_dict=False)])
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    measured = bandwidth_gbs()
    bound = NOTES_BANDWIDTH * 1e9 / weight_bytes
    print(
        f"Memory bandwidth: {measured:.1f} GB/s by a 256 MB sum here; the bound uses the notes' {NOTES_BANDWIDTH} GB/s"
    )
    print(
        f"Model: {weight_bytes / 1e6:.0f} MB of fp32 weights; prompt {prompt.shape[1]} tokens; bound {bound:.1f} tok/s"
    )

    rows = []

    def row(name: str, full, first) -> None:
        total, cold = timed(full, args.repeats)  # the very first reply pays the warm-up and any compilation
        ttft, _ = timed(first, args.repeats)
        decode = (args.new_tokens - 1) / (total - ttft)  # tokens after the first: the weight-streaming phase
        rows.append(
            [name, f"{args.new_tokens / total:.1f}", f"{decode:.1f}", f"{ttft * 1000:.0f}", total, f"{cold:.1f}"]
        )

    n = args.new_tokens
    row(
        "ancestor loop (no KV cache)", lambda: ancestor_loop(model, prompt, n), lambda: ancestor_loop(model, prompt, 1)
    )
    ours = lambda **kw: lambda: generate_reply(model, tokenizer, messages, seed=0, **kw)  # noqa: E731
    row("ours: generate, dynamic cache", ours(), ours(max_new_tokens=1, min_new_tokens=1))
    row("ours: static cache", ours(cache_implementation="static"), ours(max_new_tokens=1, min_new_tokens=1))
    fp32 = model
    model = quantize_int8(copy.deepcopy(fp32))
    row("ours: int8 weights (--quantize int8)", ours(), ours(max_new_tokens=1, min_new_tokens=1))
    model = fp32
    if not args.no_compile:
        enable_compiled_decoding(model)  # what `medbot-chat --torch_compile` does
        row("ours: static cache + compiled decoding", ours(), ours(max_new_tokens=1, min_new_tokens=1))
    base = rows[0][4]
    for r in rows:
        r[4] = f"{base / r[4]:.1f}x"
        r.append(f"{100 * float(r[2]) / bound:.0f}%")
    print(f"\n## Decode: {args.history_tokens}-token history, {n} new tokens, top-k 8 sampling\n")
    headers = ["path", "tokens/s", "decode tokens/s", "time to first token ms", "vs ancestor", "first call s",
               "decode of bound"]  # fmt: skip
    print(table(headers, rows))
    print_small_table(args)


SMALL_SIZES = ((256, 4), (192, 3))  # (n_embd, n_head), 4 layers: the older CPU recipe, and config_cpu.yaml's now


def print_small_table(args) -> None:
    small, n = min(args.history_tokens, 256 - args.new_tokens - 8), args.new_tokens  # n_positions 256
    print(f"\n## The CPU recipe's 4-layer GPT-2s: {small}-token history, {n} new tokens\n")
    rows = [row for size in SMALL_SIZES for row in small_model_rows(small, args, *size)]
    print(table(["model", "weights", "path", "streams", "tokens/s", "forward ms/token", "rest ms/token",
                 "forward share"], rows))  # fmt: skip


@torch.inference_mode()
def forward_ms(model, prompt: torch.Tensor, steps: int) -> float:
    """The model's own time per decoded token: one-token forward passes over a growing KV cache, batch 1."""
    cache = model(input_ids=prompt, use_cache=True).cache
    token = prompt[:, -1:]
    start = time.perf_counter()
    for _ in range(steps):
        cache = model(input_ids=token, cache=cache, use_cache=True).cache
    return (time.perf_counter() - start) / steps * 1000


def small_model_rows(history_tokens: int, args, n_embd: int, n_head: int) -> list[list]:
    torch.manual_seed(0)
    # a 3,242-token vocab, as the trained folders', that holds the history's characters
    tokenizer = build_tokenizer([HISTORY_TEXT] * 2 + [chr(0x4E00 + i) for i in range(4000)], max_vocab_size=3242)
    special = {"bos_token_id": 2, "eos_token_id": 3, "pad_token_id": 0}
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=n_embd, n_layer=4, n_head=n_head, n_positions=256, **special)
    fp32 = GPT2LMHeadModel(config).eval()
    fp32.generation_config = GenerationConfig(
        **special,
        suppress_tokens=[0, 1, 2],
        do_sample=True,
        top_k=8,
        top_p=0.9,
        temperature=0.7,
        repetition_penalty=1.2,
        max_new_tokens=args.new_tokens,
        min_new_tokens=args.new_tokens,
    )  # fmt: skip  (the CPU recipe's saved sampling settings)
    messages = history(history_tokens)
    prompt = torch.tensor([tokenizer.apply_chat_template(messages, return_dict=False)])
    rows, name = [], f"4 x {n_embd}"
    for weights, model in (("fp32", fp32), ("int8", quantize_int8(copy.deepcopy(fp32)))):
        forward = min(forward_ms(model, prompt, args.new_tokens) for _ in range(args.repeats))
        scheduler = Scheduler(model, tokenizer, max_batch_size=16)
        paths = (
            ("generate", 1, lambda m=model: generate_reply(m, tokenizer, messages, seed=0)),
            ("scheduler", 1, lambda s=scheduler: scheduled_replies(s, [messages], args.new_tokens)),
            ("scheduler", 16, lambda s=scheduler: scheduled_replies(s, [messages] * 16, args.new_tokens)),
        )
        for path, streams, reply in paths:
            total, _ = timed(reply, args.repeats)
            per_token = total / args.new_tokens * 1000  # per step: a token of every stream
            share = f"{100 * forward / per_token:.0f}%" if streams == 1 else "-"
            rest = f"{per_token - forward:.2f}" if streams == 1 else "-"
            rows.append([name, weights, path, streams, f"{streams * args.new_tokens / total:.0f}", f"{forward:.2f}",
                         rest, share])  # fmt: skip
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(generate_reply, fp32, tokenizer, messages, seed=0)
        print(f"\n## Where one fp32 generate reply of the 4 x {n_embd} model spends its time (cProfile, top 20)\n")
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        profile_scheduler(fp32, tokenizer, messages, args.new_tokens, n_embd)
    return rows


class ProfiledScheduler(Scheduler):
    """A scheduler whose worker thread runs under cProfile (the thread that owns the model)."""

    def _run(self) -> None:
        self.profile = cProfile.Profile()
        self.profile.enable()
        super()._run()


def profile_scheduler(model, tokenizer, messages: list[dict], new_tokens: int, n_embd: int) -> None:
    """Where a 16-row scheduler step spends its time: one round of 16 replies, after a warm-up round."""
    scheduler = ProfiledScheduler(model, tokenizer, max_batch_size=16)
    scheduled_replies(scheduler, [messages] * 16, new_tokens)
    steps, start = scheduler.steps, time.perf_counter()
    scheduler.profile.clear()  # the warm-up round out (the worker thread waits for requests now)
    scheduled_replies(scheduler, [messages] * 16, new_tokens)
    wall, steps = time.perf_counter() - start, scheduler.steps - steps
    print(f"\n## The scheduler, 16 rows of the 4 x {n_embd} model: {wall / steps * 1000:.1f} ms per step "
          f"(profiled; {steps} steps), cProfile top 20\n")  # fmt: skip
    pstats.Stats(scheduler.profile).sort_stats("tottime").print_stats(20)


def scheduled_replies(scheduler: Scheduler, histories: list[list[dict]], new_tokens: int) -> None:
    """Replies through the server's scheduler, submitted together, each read piece by piece as the server does."""
    requests = [scheduler.submit(messages, {"seed": i}) for i, messages in enumerate(histories)]
    for request in requests:
        for _ in request:
            pass
        assert request.reply.completion_tokens == new_tokens, request.reply


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new_tokens", type=int, default=64)
    parser.add_argument("--history_tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no_compile", action="store_true")
    parser.add_argument("--small_only", action="store_true", help="only the 4-layer tables")
    parser.add_argument("--profile", action="store_true", help="cProfile the 4-layer models' generate and scheduler")
    main(parser.parse_args())
