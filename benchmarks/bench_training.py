"""Training throughput: the accelerate loop vs the Trainer recipe vs an ancestor-style plain PyTorch loop.

    python benchmarks/bench_training.py                      # 3 loops x 1 and 2 processes, ~4 min on 2 cores
    python benchmarks/bench_training.py --repeats 2         # best of 2 interleaved runs each, on a busy machine
    python benchmarks/bench_training.py --compare_packing   # the loop's padded batches vs --packing rows

Every run is a fresh process (2 processes: `accelerate launch --config_file accelerate_configs/cpu_2proc.yaml`, the
plain loop under `torchrun`) training the CPU recipe's GPT-2 (--config, by default
recipes/medical_dialogue/config_cpu.yaml) with its batch on the first --dialogues dialogues of
../shared/data/medical_dialogue/train.txt (else the bundled sample). Our two loops order them with the recipe's
`group_by_length`; the ancestor (GPT2-chitchat's train.py, see `run_ancestor`) takes them in a fixed order, pads each
batch to its longest dialogue and clips the gradients of every micro-batch. Throughput counts non-pad tokens over the
steps after --warmup; MFU is 6 x parameters x those tokens/s over this machine's measured fp32 matmul peak (the tied
embedding counted once, as the LM head's matmul; attention's own FLOPs left out).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time

import torch
from common import ROOT, SHARED_TRAIN, SHARED_VALID, machine, table

SAMPLE_TRAIN, SAMPLE_VALID = ROOT / "data" / "sample" / "train.txt", ROOT / "data" / "sample" / "valid.txt"
LOOPS = ("accelerate loop", "Trainer recipe", "ancestor loop")


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of an n x n fp32 matmul with this process's torch threads: the compute peak MFU is quoted against."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start)


class Clock:
    """Non-pad tokens and wall time per optimizer step; the rate is taken after the warm-up steps."""

    def __init__(self, warmup: int):
        self.warmup, self.marks = warmup, []

    def tick(self, tokens_so_far: int) -> None:
        self.marks.append((time.perf_counter(), tokens_so_far))

    def result(self, **extra) -> dict:
        (t0, n0), (t1, n1) = self.marks[self.warmup - 1], self.marks[-1]
        steps = len(self.marks) - self.warmup
        return {"tokens_per_s": (n1 - n0) / (t1 - t0), "steps": steps, "seconds": t1 - t0, "tokens": n1 - n0, **extra}


def recipe_args(args, output_dir: str) -> list[str]:
    return [
        "--config", str(ROOT / args.config), "--train_file", args.train_file, "--preprocessing_num_workers", "1",
        "--validation_file", args.validation_file, "--max_train_samples", str(args.dialogues),
        "--max_eval_samples", "8", "--output_dir", output_dir, "--cache_dir", args.cache_dir,
        "--max_steps", str(args.warmup + args.steps), "--eval_strategy", "no",
        "--save_strategy", "no", "--load_best_model_at_end", "false", "--logging_steps", "1000",
        "--disable_tqdm", "true", "--log_level", "warning", *shlex.split(args.recipe_flags),
    ]  # fmt: skip


def run_accelerate_loop(args, argv: list[str]) -> dict:
    import medbot_hf.accelerate_loop as loop
    from medbot_hf.configs import FINETUNE_ARGS, parse_args
    from medbot_hf.data import training_collator
    from medbot_hf.training import prepare

    model_args, data_args, _, training_args = parse_args(FINETUNE_ARGS, argv)
    accelerator = loop.make_accelerator(training_args)  # as the recipe creates it
    set_seed_and_dir(training_args)
    tokenizer, _, tokenized, model = prepare(model_args, data_args, training_args)
    collate = training_collator(tokenizer, data_args)
    run = loop.build_run(accelerator, model, tokenizer, tokenized, training_args, collate)
    clock, seen, step = Clock(args.warmup), [0], loop.train_step

    def counted_step(run, window):  # the real step, then count what it trained on
        record = step(run, window)
        real = sum((b["input_ids"] != tokenizer.pad_token_id).sum() for b in window)  # padded or packed
        seen[0] += int(accelerator.reduce(real, "sum"))
        clock.tick(seen[0])
        return record

    loop.train_step = counted_step
    loop.train(run)
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    return clock.result(params=n_params(model), peak_memory_gib=peak, device=str(accelerator.device))


def run_trainer(args, argv: list[str]) -> dict:
    from transformers import Trainer, TrainerCallback

    from medbot_hf.configs import FINETUNE_ARGS, parse_args
    from medbot_hf.data import training_collator
    from medbot_hf.training import prepare

    model_args, data_args, _, training_args = parse_args(FINETUNE_ARGS, argv)
    training_args.include_num_input_tokens_seen = "non_padding"  # the CLI parses this field as a bool
    set_seed_and_dir(training_args)
    tokenizer, _, tokenized, model = prepare(model_args, data_args, training_args)
    clock = Clock(args.warmup)

    class Tick(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            clock.tick(state.num_input_tokens_seen)  # already summed over processes

    collator = training_collator(tokenizer, data_args)
    trainer = Trainer(model=model, args=training_args, train_dataset=tokenized["train"], data_collator=collator,
                      processing_class=tokenizer, callbacks=[Tick()])  # fmt: skip
    trainer.train()
    return clock.result(params=n_params(model))


def calculate_acc(logit, labels, ignore_index=-100):
    """GPT2-chitchat's own, run on every batch: argmax over a copy of the logits."""
    logit = logit[..., :-1, :].contiguous().view(-1, logit.size(-1))
    labels = labels[..., 1:].contiguous().view(-1)
    _, logit = logit.max(dim=-1)
    non_pad_mask = labels.ne(ignore_index)
    return logit.eq(labels).masked_select(non_pad_mask).sum().item(), non_pad_mask.sum().item()


def run_ancestor(args, argv: list[str]) -> dict:
    """GPT2-chitchat's train_epoch on the same model, data and batch: fixed order, each batch padded to its longest
    dialogue, loss on every token, accuracy computed every batch, gradients clipped after every micro-batch, and
    AdamW stepping one parameter at a time as the `transformers.AdamW` it used did."""
    import torch.distributed as dist
    from torch.nn.utils.rnn import pad_sequence
    from torch.utils.data import DataLoader, DistributedSampler
    from transformers import get_linear_schedule_with_warmup

    from medbot_hf.configs import FINETUNE_ARGS, parse_args
    from medbot_hf.training import prepare

    model_args, data_args, _, training_args = parse_args(FINETUNE_ARGS, argv)
    world, accumulation = int(os.environ.get("WORLD_SIZE", "1")), training_args.gradient_accumulation_steps
    if world > 1 and not dist.is_initialized():  # parsing TrainingArguments usually joins the group already
        dist.init_process_group("gloo")
    set_seed_and_dir(training_args)
    _, _, tokenized, model = prepare(model_args, data_args, training_args)
    dialogues = [torch.tensor(ids) for ids in tokenized["train"]["input_ids"]]

    def collate(batch):
        return pad_sequence(batch, batch_first=True, padding_value=0), pad_sequence(batch, True, -100)

    sampler = DistributedSampler(dialogues, shuffle=False) if world > 1 else None
    loader = DataLoader(dialogues, batch_size=training_args.per_device_train_batch_size, sampler=sampler,
                        shuffle=False, collate_fn=collate)  # fmt: skip
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.AdamW(net.parameters(), lr=training_args.learning_rate, eps=1e-8, foreach=False)
    total = args.warmup + args.steps
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.05 * total), num_training_steps=total)
    clock, seen = Clock(args.warmup), torch.tensor(0)
    net.train()
    while len(clock.marks) < total:
        for batch_idx, (input_ids, labels) in enumerate(loader):
            outputs = net(input_ids, labels=labels)
            calculate_acc(outputs.logits, labels)
            (outputs.loss.mean() / accumulation).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), training_args.max_grad_norm)  # every micro-batch
            seen += (labels != -100).sum()
            if (batch_idx + 1) % accumulation == 0:
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                tokens = seen.clone()
                if world > 1:
                    dist.all_reduce(tokens)
                clock.tick(int(tokens))
                if len(clock.marks) == total:
                    break
    return clock.result(params=n_params(model))


def set_seed_and_dir(training_args) -> None:
    from transformers import set_seed

    set_seed(training_args.seed)
    os.makedirs(training_args.output_dir, exist_ok=True)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())  # the tied embedding once: it is also the LM head's matmul


def worker(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        argv = recipe_args(args, tmp)
        runner = {"loop": run_accelerate_loop, "trainer": run_trainer, "ancestor": run_ancestor}[args.worker]
        result = runner(args, argv)
    if int(os.environ.get("RANK", "0")) == 0:
        print("BENCH " + json.dumps(result), flush=True)


def launch(args, kind: str, processes: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = [str(ROOT / "benchmarks" / "bench_training.py"), "--worker", kind]
    passed = ("train_file", "validation_file", "cache_dir", "config", "dialogues", "steps", "warmup", "recipe_flags")
    script += [f"--{k}={getattr(args, k)}" for k in passed]
    if processes == 1:
        command = [sys.executable, *script]
    elif kind == "ancestor":
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port]
        command += script
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--main_process_port", port, "--config_file"]
        command += [str(ROOT / "accelerate_configs" / "cpu_2proc.yaml"), *script]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        sys.exit(f"{kind} x{processes} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(lines[-1][len("BENCH ") :])


def compare_packing(args, peak: float) -> None:
    """The accelerate loop on one process, the recipe's padded batches against `--packing` rows (interleaved)."""
    results = {}
    for repeat in range(args.repeats):
        for name, extra in (("padded", ""), ("packed", " --packing true")):
            r = launch(argparse.Namespace(**{**vars(args), "recipe_flags": args.recipe_flags + extra}), "loop", 1)
            print(f"  {repeat + 1}: {name}: {r['tokens_per_s']:,.0f} non-pad tokens/s", flush=True)
            if name not in results or r["tokens_per_s"] > results[name]["tokens_per_s"]:
                results[name] = r
    rows = [
        [name, f"{r['tokens_per_s']:,.0f}", f"{r['tokens'] / r['steps']:,.0f}",
         f"{1000 * r['seconds'] / r['steps']:.0f}", f"{r['tokens_per_s'] / results['padded']['tokens_per_s']:.2f}x",
         f"{100 * 6 * r['params'] * r['tokens_per_s'] / peak:.1f}%", r["steps"]]
        for name, r in results.items()
    ]  # fmt: skip
    print(
        f"\n## Packed vs padded, accelerate loop, 1 process: {args.config}, {args.dialogues} dialogues of "
        f"{os.path.relpath(args.train_file, ROOT)}, best of {args.repeats}; load average {os.getloadavg()[0]:.2f}\n"
    )
    headers = ["batches", "non-pad tokens/s", "non-pad tokens/step", "step ms", "vs padded", "MFU", "steps timed"]
    print(table(headers, rows))


def main(args) -> None:
    peak = matmul_peak()
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.2f} at start")
    print(f"fp32 matmul peak (2048², {torch.get_num_threads()} threads): {peak / 1e9:.0f} GFLOP/s")
    if args.compare_packing:
        return compare_packing(args, peak)
    rows, results = [], {}
    for repeat in range(args.repeats):  # interleaved, so a burst of load on the machine hits every loop alike
        for processes in (1, 2):
            for name, kind in zip(LOOPS, ("loop", "trainer", "ancestor"), strict=True):
                r = launch(args, kind, processes)
                print(f"  {repeat + 1}: {name} x{processes}: {r['tokens_per_s']:,.0f} non-pad tokens/s", flush=True)
                best = results.get((name, processes))
                results[name, processes] = r if best is None or r["tokens_per_s"] > best["tokens_per_s"] else best
    for (name, processes), r in results.items():
        speedup = r["tokens_per_s"] / results["ancestor loop", processes]["tokens_per_s"]
        mfu = 6 * r["params"] * r["tokens_per_s"] / peak
        rows.append([name, processes, f"{r['tokens_per_s']:,.0f}", f"{speedup:.2f}x", f"{100 * mfu:.1f}%", r["steps"]])
    params = next(iter(results.values()))["params"]
    print(f"\n## Training throughput: {params / 1e6:.2f}M-param GPT-2 ({args.config}), "
          f"{args.dialogues} dialogues of {os.path.relpath(args.train_file, ROOT)}, best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.2f} at the end\n")  # fmt: skip
    print(table(["loop", "processes", "non-pad tokens/s", "vs ancestor", "MFU", "steps timed"], rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = SHARED_TRAIN.exists()
    parser.add_argument("--train_file", default=str(SHARED_TRAIN if shared else SAMPLE_TRAIN))
    parser.add_argument("--validation_file", default=str(SHARED_VALID if shared else SAMPLE_VALID))
    parser.add_argument("--config", default="recipes/medical_dialogue/config_cpu.yaml", help="The recipe's model.")
    parser.add_argument("--dialogues", type=int, default=3000, help="The first N train dialogues.")
    parser.add_argument("--steps", type=int, default=10, help="Optimizer steps timed, after the warm-up.")
    parser.add_argument("--warmup", type=int, default=2, help="Optimizer steps left out of the timing.")
    parser.add_argument("--recipe_flags", default="", help="More recipe flags, e.g. '--pad_to_multiple_of 64'.")
    parser.add_argument("--repeats", type=int, default=1, help="Runs of each; the fastest is reported.")
    parser.add_argument("--compare_packing", action="store_true", help="Padded vs --packing, accelerate loop only.")
    parser.add_argument("--cache_dir", default=os.path.join(tempfile.gettempdir(), "medbot_bench_cache"))
    parser.add_argument("--worker", choices=["loop", "trainer", "ancestor"], help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    worker(parsed) if parsed.worker else main(parsed)
