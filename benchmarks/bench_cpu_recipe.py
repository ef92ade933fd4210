"""What a CPU recipe reaches in a fixed wall-clock budget: held-out answer perplexity after N minutes.

    python benchmarks/bench_cpu_recipe.py --minutes 25                           # the shipped config_cpu.yaml
    python benchmarks/bench_cpu_recipe.py --minutes 25 --config OLD.yaml --name before
    python benchmarks/bench_cpu_recipe.py --report outputs/bench-cpu-recipe/*/result.json

Each run is `recipes/finetune.py --config CONFIG` on the shared train split, exactly as a user runs it, plus
`--save_steps 10 --save_total_limit 1 --load_best_model_at_end false` so that a checkpoint at most ten steps old
exists when the budget runs out. The clock starts when the recipe's process starts (so corpus loading and
tokenization count) and the run is stopped with SIGTERM at the budget if it has not finished. The model scored is the
run's final folder when it finished in time, else its newest complete checkpoint. Scoring is `medbot-eval` on the
shared valid.txt (every dialogue), whose `perplexity` is the answer perplexity (the recipes' `loss_on: answers`).
Compare two configs by running them one after the other on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, SHARED_TRAIN, SHARED_VALID, machine, table

from medbot_hf.checkpoints import find_resume_checkpoint


def train_for(config: str, minutes: float, out: Path, log: Path) -> tuple[str, float, bool]:
    """Run the recipe until it ends or the budget runs out; returns (folder to score, seconds used, finished)."""
    cmd = [
        sys.executable, str(ROOT / "recipes/finetune.py"), "--config", config,
        "--train_file", str(SHARED_TRAIN), "--validation_file", str(SHARED_VALID), "--output_dir", str(out),
        "--save_strategy", "steps", "--save_steps", "10", "--save_total_limit", "1",
        "--load_best_model_at_end", "false", "--disable_tqdm", "true",
    ]  # fmt: skip
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            proc.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=300)
    used = time.perf_counter() - start
    finished = (out / "train_results.json").exists() and (out / "model.safetensors").exists()
    if finished:
        return str(out), used, True
    checkpoint = find_resume_checkpoint(str(out), "trainer")
    if checkpoint is None:
        sys.exit(f"{config}: no complete checkpoint in {out} after {used:.0f} s; see {log}")
    return checkpoint, used, False


def score(folder: str, out: Path) -> dict:
    """`medbot-eval` on every dialogue of the shared valid.txt; returns its eval_results.json."""
    cmd = [
        shutil.which("medbot-eval") or "medbot-eval", "--model_name_or_path", folder, "--test_file", str(SHARED_VALID),
        "--output_dir", str(out), "--batch_size", "32",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads((out / "eval_results.json").read_text())


def step_of(folder: str) -> int:
    state = Path(folder) / "trainer_state.json"
    return json.loads(state.read_text())["global_step"] if state.exists() else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="recipes/medical_dialogue/config_cpu.yaml")
    parser.add_argument("--name", default=None, help="The row's name; the config's file name when not given.")
    parser.add_argument("--minutes", type=float, default=25.0, help="The wall-clock budget for training.")
    parser.add_argument("--output_root", default="outputs/bench-cpu-recipe")
    parser.add_argument("--report", nargs="*", default=None, help="Print the table of earlier runs' result.json.")
    args = parser.parse_args()
    if args.report is not None:
        results = [json.loads(Path(p).read_text()) for p in args.report]
    else:
        if not SHARED_TRAIN.exists():
            sys.exit(f"needs the shared corpus at {SHARED_TRAIN}")
        name = args.name or Path(args.config).stem
        out = ROOT / args.output_root / name
        out.mkdir(parents=True, exist_ok=True)
        print(machine(), flush=True)
        folder, used, finished = train_for(args.config, args.minutes, out / "run", out / "train.log")
        metrics = score(folder, out / "eval")
        result = {
            "name": name, "config": args.config, "minutes": args.minutes, "seconds_used": round(used, 1),
            "finished": finished, "scored": os.path.relpath(folder, ROOT), "step": step_of(folder),
            "answer_perplexity": metrics["perplexity"], "token_accuracy": metrics["token_accuracy"],
            "rouge_l": metrics["rouge_l"], "distinct_2": metrics["distinct_2"],
        }  # fmt: skip
        (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        results = [result]
    rows = [
        [r["name"], r["minutes"], r["seconds_used"], "yes" if r["finished"] else "stopped", r["step"],
         f"{r['answer_perplexity']:.2f}", r["token_accuracy"] and f"{r['token_accuracy']:.3f}"]
        for r in results
    ]  # fmt: skip
    headers = ["run", "budget (min)", "seconds used", "finished", "step scored", "valid answer ppl", "token acc"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
