"""The accelerate loop recipe: equivalence (across accumulation, processes and recipes), checkpoints, faults."""

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
import torch
from conftest import ROOT, load_recipe, tiny_run_args
from safetensors.torch import load_file, save_file

from medbot_hf.checkpoints import (
    LOOP_STATE_NAME,
    checkpoint_is_complete,
    checkpoint_layout,
    find_resume_checkpoint,
    resolve_resume,
)
from medbot_hf.configs import FINETUNE_ARGS, parse_args
from medbot_hf.training import NonFiniteLossError

loop = load_recipe("finetune_accelerate")
finetune = load_recipe("finetune")
NO_DROPOUT = "n_embd=32,n_layer=2,n_head=2,n_positions=128,resid_pdrop=0,embd_pdrop=0,attn_pdrop=0"
# Runs that see the same tokens per step differ only in float32 summation order. Measured on this 2-core machine:
# per-step losses within 2e-7 relative (batch 12 vs 4 x 3 accumulation, 20 steps; 2 processes x 4 vs 1 x 8,
# 24 steps). 1e-4 leaves room for other CPUs and BLAS builds, and still catches a step fed other data (2e-3 seen).
LOSS_RTOL = 1e-4
# The Trainer recipe vs this loop, dropout off: the same order, token-weighted loss, fused AdamW and schedule. The
# final weights came out bit-identical here and the eval losses 2e-7 apart (float32 vs float64 sums).
RECIPE_RTOL = 1e-4


def loop_args(tmp_path, *extra: str) -> list[str]:
    """A short, dropout-free, fixed-order run on the sample corpus."""
    fixed = ["--config_overrides", NO_DROPOUT, "--train_sampling_strategy", "sequential", "--eval_on_start", "false"]
    return tiny_run_args(tmp_path, *fixed, *extra)


def step_log(out) -> list[dict]:
    return [json.loads(line) for line in (out / "loss_log.jsonl").read_text().splitlines()]


def launcher_env() -> dict:
    # The subprocess imports this checkout's medbot_hf, whatever the editable install points at.
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}


def launch_command(config: str, script: str, args: list[str]) -> list[str]:
    with socket.socket() as s:  # a free port, so this never collides with another launch
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--main_process_port", port]
    return [*accelerate, "--config_file", str(ROOT / "accelerate_configs" / config), f"recipes/{script}.py", *args]


@pytest.fixture(scope="module")
def run10(tmp_path_factory):
    """A 10-step loop run with checkpoints at 5 and 10 (evaluated, the best kept), shared by the fast tests."""
    tmp_path = tmp_path_factory.mktemp("loop")
    extra = ["--max_steps", "10", "--eval_steps", "5", "--save_steps", "5", "--load_best_model_at_end", "true"]
    loop.main(*parse_args(FINETUNE_ARGS, loop_args(tmp_path, *extra)))
    return tmp_path


def test_accumulation_matches_a_bigger_batch(tmp_path):
    # 181 dialogues: 16 batches of 12 per epoch, or 46 of 4 in windows of 3 (the 16th window is one batch of 1).
    common = ["--max_steps", "20", "--eval_strategy", "no", "--save_strategy", "no", "--warmup_steps", "0.2"]
    big = loop_args(tmp_path / "big", *common, "--per_device_train_batch_size", "12")
    small = loop_args(tmp_path / "small", *common, "--per_device_train_batch_size", "4")
    loop.main(*parse_args(FINETUNE_ARGS, big))
    loop.main(*parse_args(FINETUNE_ARGS, small + ["--gradient_accumulation_steps", "3"]))
    a, b = step_log(tmp_path / "big" / "out"), step_log(tmp_path / "small" / "out")
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, 21))
    assert [r["learning_rate"] for r in a] == [r["learning_rate"] for r in b]
    assert [r["loss"] for r in b] == pytest.approx([r["loss"] for r in a], rel=LOSS_RTOL)


def test_same_result_as_the_trainer_recipe(tmp_path):
    common = ["--max_steps", "20", "--eval_steps", "10", "--save_steps", "10", "--warmup_steps", "0.1"]
    trainer_metrics = finetune.main(*parse_args(FINETUNE_ARGS, loop_args(tmp_path / "trainer", *common)))
    loop_metrics = loop.main(*parse_args(FINETUNE_ARGS, loop_args(tmp_path / "loop", *common)))
    # 30 eval dialogues in one batch of 32: the Trainer's eval_loss is then token-weighted too
    assert loop_metrics["eval_loss"] == pytest.approx(trainer_metrics["eval_loss"], rel=RECIPE_RTOL)
    assert loop_metrics["eval_token_accuracy"] == pytest.approx(trainer_metrics["eval_token_accuracy"], abs=1e-3)
    trainer_out, loop_out = tmp_path / "trainer" / "out", tmp_path / "loop" / "out"
    # the same final folder, plus the loop's per-step log
    assert {p.name for p in loop_out.iterdir()} == {p.name for p in trainer_out.iterdir()} | {"loss_log.jsonl"}
    state = json.loads((loop_out / "trainer_state.json").read_text())
    assert [e["step"] for e in state["log_history"] if "eval_loss" in e] == [10, 20, 20]
    saved = set(json.loads((loop_out / "eval_results.json").read_text()))
    assert saved >= {"eval_loss", "eval_perplexity", "eval_token_accuracy", "epoch"} and "perplexity" not in saved


def test_checkpoints_resume_and_rotate(run10, tmp_path, caplog):
    out = run10 / "out"
    assert checkpoint_layout(str(out / "checkpoint-10")) == "accelerate"
    assert find_resume_checkpoint(str(out), "accelerate") == str(out / "checkpoint-10")
    assert find_resume_checkpoint(str(out), "trainer") is None  # never resumes the other recipe's
    state = json.loads((out / "checkpoint-5" / LOOP_STATE_NAME).read_text())
    assert state["global_step"] == 5 and state["batches_in_epoch"] == 5 and state["epoch"] == 0  # mid-epoch
    shutil.copytree(out, tmp_path / "out")  # go on to 15 steps with at most one checkpoint besides the best
    args = loop_args(
        tmp_path, "--max_steps", "15", "--eval_steps", "5", "--save_steps", "5", "--save_total_limit", "1"
    )
    with caplog.at_level(logging.WARNING, logger="medbot_hf"):
        loop.main(*parse_args(FINETUNE_ARGS, args))
    assert "Resuming from" in caplog.text and "checkpoint-10" in caplog.text
    assert [r["step"] for r in step_log(tmp_path / "out")] == list(range(1, 16))  # no step trained twice
    best = json.loads((tmp_path / "out" / "trainer_state.json").read_text())["best_model_checkpoint"]
    kept = {p.name for p in (tmp_path / "out").glob("checkpoint-*")}
    assert kept == {"checkpoint-15", os.path.basename(best)}  # the newest, and the best wherever it is


def test_torn_checkpoint_is_skipped(run10, tmp_path, caplog):
    for step in (5, 10):
        shutil.copytree(run10 / "out" / f"checkpoint-{step}", tmp_path / f"checkpoint-{step}")
    shutil.copytree(tmp_path / "checkpoint-10", tmp_path / "checkpoint-15.tmp")  # a save killed before its rename
    with caplog.at_level(logging.WARNING, logger="medbot_hf"):
        assert find_resume_checkpoint(str(tmp_path), "accelerate") == str(tmp_path / "checkpoint-10")
    assert "checkpoint-15.tmp: a save cut off" in caplog.text
    optimizer = tmp_path / "checkpoint-10" / "optimizer.bin"
    optimizer.write_bytes(optimizer.read_bytes()[: optimizer.stat().st_size // 2])  # cut off halfway
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="medbot_hf"):
        assert find_resume_checkpoint(str(tmp_path), "accelerate") == str(tmp_path / "checkpoint-5")
    assert "Skipping" in caplog.text and "checkpoint-10: its write did not finish" in caplog.text
    (tmp_path / "checkpoint-5" / "random_states_0.pkl").unlink()  # a file lost
    assert not checkpoint_is_complete(str(tmp_path / "checkpoint-5"))
    assert find_resume_checkpoint(str(tmp_path), "accelerate") is None
    args = parse_args(FINETUNE_ARGS, loop_args(tmp_path, "--resume_from_checkpoint", str(tmp_path / "checkpoint-5")))
    with pytest.raises(ValueError, match="not a complete checkpoint of the accelerate recipe"):
        resolve_resume(args[3], layout="accelerate")


def poisoned_copy(checkpoint, dest, position: int):
    """Copy a checkpoint with row `position` of the position embeddings set to NaN (and the manifest updated): only
    batches holding a sequence longer than `position` then give a non-finite loss or gradient."""
    shutil.copytree(checkpoint, dest)
    weights = load_file(dest / "model.safetensors")
    weights["transformer.wpe.weight"][position] = float("nan")
    save_file(weights, dest / "model.safetensors", metadata={"format": "pt"})
    state = json.loads((dest / LOOP_STATE_NAME).read_text())
    state["files"]["model.safetensors"] = (dest / "model.safetensors").stat().st_size
    (dest / LOOP_STATE_NAME).write_text(json.dumps(state))
    return dest


def steps_reaching(out, position: int, first: int, last: int) -> list[int]:
    """The steps in [first, last] whose batch (sequential order, 16 a batch, 12 batches an epoch) is longer than
    `position`, from the tokenized train split the run cached."""
    from datasets import load_from_disk

    cache = next((out.parent / "cache").glob("tokenized-*"))
    lengths = load_from_disk(str(cache))["train"]["length"]
    batches = [max(lengths[i : i + 16]) for i in range(0, len(lengths), 16)]
    return [s for s in range(first, last + 1) if batches[(s - 1) % len(batches)] > position]


def test_nonfinite_loss_stops_naming_the_step(run10, tmp_path):
    # Eval sequences are at most 125 tokens, so a NaN at position 125 only reaches the longest train batches.
    bad = poisoned_copy(run10 / "out" / "checkpoint-10", tmp_path / "bad", 125)
    expected = steps_reaching(run10 / "out", 125, 11, 20)[0]
    args = loop_args(run10, "--max_steps", "20", "--resume_from_checkpoint", str(bad), "--output_dir", str(tmp_path))
    with pytest.raises(NonFiniteLossError, match=f"non-finite (loss|gradient norm) \\(nan\\) at step {expected}:"):
        loop.main(*parse_args(FINETUNE_ARGS, args))
    assert [r["step"] for r in step_log(tmp_path)] == list(range(11, expected))  # every step before it was trained


def test_nonfinite_loss_skipped_and_counted_never_best(run10, tmp_path, caplog):
    out = tmp_path / "out"
    shutil.copytree(run10 / "out", out)
    bad = poisoned_copy(out / "checkpoint-10", tmp_path / "bad", 125)
    best_before = json.loads((bad / LOOP_STATE_NAME).read_text())["best_metric"]
    extra = ["--max_steps", "20", "--eval_steps", "5", "--save_steps", "5", "--load_best_model_at_end", "true"]
    extra += ["--resume_from_checkpoint", str(bad), "--nonfinite_loss", "skip"]
    with caplog.at_level(logging.WARNING, logger="medbot_hf"):
        metrics = loop.main(*parse_args(FINETUNE_ARGS, loop_args(tmp_path, *extra)))
    skipped = [r["step"] for r in step_log(out) if r["skipped"]]
    assert skipped == steps_reaching(run10 / "out", 125, 11, 20) and len(skipped) >= 1
    assert metrics["nonfinite_skipped"] == len(skipped) and step_log(out)[-1]["step"] == 20
    state = json.loads((out / "trainer_state.json").read_text())
    evals = [e["eval_loss"] for e in state["log_history"] if "eval_loss" in e and e["step"] in (15, 20)]
    assert min(evals) < best_before  # better evals came later, from weights that hold NaN ...
    assert state["best_model_checkpoint"].endswith("checkpoint-10") and "not kept as best" in caplog.text
    final, best = load_file(out / "model.safetensors"), load_file(out / "checkpoint-10" / "model.safetensors")
    assert torch.equal(final["transformer.wpe.weight"], best["transformer.wpe.weight"])  # ... so the best is kept
    assert all(torch.isfinite(t).all() for t in final.values())


def test_trainer_recipe_stops_on_nonfinite_loss(tmp_path):
    # A negative LayerNorm epsilon makes var + eps negative at initialisation: NaN from the first step.
    overrides = NO_DROPOUT + ",layer_norm_epsilon=-1.0"
    args = loop_args(tmp_path, "--config_overrides", overrides, "--max_steps", "5")
    with pytest.raises(NonFiniteLossError, match="non-finite loss or gradient at step 1:"):
        finetune.main(*parse_args(FINETUNE_ARGS, args))
    with pytest.raises(ValueError, match="--nonfinite_loss skip needs recipes/finetune_accelerate.py"):
        finetune.main(*parse_args(FINETUNE_ARGS, args + ["--nonfinite_loss", "skip"]))


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    # 176 dialogues: 22 global batches of 8 an epoch either way. (With 181, accelerate fills the last global batch
    # of 2 x 4 with dialogues from the start so both processes get as many samples; the Trainer does the same.)
    common = ["--max_steps", "24", "--eval_steps", "12", "--save_steps", "12", "--warmup_steps", "0.25"]
    common += ["--max_train_samples", "176"]
    one = loop_args(tmp_path / "one", *common, "--per_device_train_batch_size", "8")
    two = loop_args(tmp_path / "two", *common, "--per_device_train_batch_size", "4")
    loop.main(*parse_args(FINETUNE_ARGS, one))
    result = subprocess.run(
        launch_command("cpu_2proc.yaml", "finetune_accelerate", two), cwd=ROOT, env=launcher_env(),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    assert "world_size=2" in result.stdout + result.stderr
    a, b = step_log(tmp_path / "one" / "out"), step_log(tmp_path / "two" / "out")
    assert [r["step"] for r in b] == list(range(1, 25)) and len(a) == len(b)
    assert [r["learning_rate"] for r in b] == pytest.approx([r["learning_rate"] for r in a], rel=1e-12)
    assert [r["loss"] for r in b] == pytest.approx([r["loss"] for r in a], rel=LOSS_RTOL)
    eval_a, eval_b = (
        json.loads((d / "out" / "eval_results.json").read_text()) for d in (tmp_path / "one", tmp_path / "two")
    )
    assert eval_b["eval_loss"] == pytest.approx(eval_a["eval_loss"], rel=LOSS_RTOL)
    card = (tmp_path / "two" / "out" / "README.md").read_text(encoding="utf-8")
    assert "recipes/finetune_accelerate.py --train_file" in card and '"world_size": 2' in card


def kill_all(process: subprocess.Popen) -> None:
    """SIGKILL the process group of `process` and of every process under it, as a crashed machine would. torchrun
    starts each rank in a session of its own, so killing the launcher's group alone leaves the ranks training."""
    children = psutil.Process(process.pid).children(recursive=True)
    for group in {process.pid} | {os.getpgid(c.pid) for c in children if c.is_running()}:
        os.killpg(group, signal.SIGKILL)
    psutil.wait_procs(children, timeout=30)


def run_killed_then_resumed(command: list[str], out, layout: str, kill_at: tuple[int, ...], timeout=300) -> list[str]:
    """Start `command` in its own process group and kill it (all ranks) once a complete checkpoint of at least step
    `kill_at[0]` exists; start the same command again and kill it past `kill_at[1]`, and so on; then run it once
    more to the end. Returns the checkpoint each restart resumed from."""
    out.parent.mkdir(parents=True, exist_ok=True)
    resumed_from = []
    for number, step in enumerate(kill_at):
        with open(out.parent / f"killed-{number}.log", "w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=launcher_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            deadline = time.monotonic() + timeout
            while process.poll() is None and checkpoint_step(find_resume_checkpoint(str(out), layout)) < step:
                assert time.monotonic() < deadline, f"no checkpoint {step} appeared"
                time.sleep(0.05)
            kill_all(process)
            assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
        time.sleep(1)  # nothing may write after the kill
        assert not (out / "model.safetensors").exists()
        resumed_from.append(find_resume_checkpoint(str(out), layout))
    result = subprocess.run(command, cwd=ROOT, env=launcher_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-5000:]
    assert "Resuming from" in result.stderr
    return resumed_from


def checkpoint_step(path: str | None) -> int:
    return int(path.rsplit("-", 1)[1]) if path else 0


def training_losses(out) -> list[tuple[int, float]]:
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    return [(e["step"], e["loss"]) for e in history if "loss" in e]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["finetune_accelerate", "finetune"])
def test_killed_run_resumes_to_the_same_weights(tmp_path, recipe):
    # The shipped smoke recipe's settings (config_smoke.yaml: dropout, group_by_length, eval on start and every 10
    # steps) cut to 40 steps, the final weights those of step 40, and SIGKILLed three times: past steps 10, 20 and
    # 30. The Trainer recipe has 12 steps an epoch (one process), so it resumes 10, 8 and 6 steps into epochs 0, 1
    # and 2; the loop (two processes) has 6.
    def command(d):
        flags = ["--config", "recipes/sample/config_smoke.yaml", "--output_dir", str(d / "out")]
        flags += ["--max_steps", "40", "--save_steps", "10", "--eval_steps", "10", "--logging_steps", "1"]
        flags += [
            "--load_best_model_at_end",
            "false",
            "--cache_dir",
            str(tmp_path / "cache"),
            "--disable_tqdm",
            "true",
        ]
        if recipe == "finetune_accelerate":
            return launch_command("cpu_2proc.yaml", recipe, flags)
        return [sys.executable, f"recipes/{recipe}.py", *flags]

    reference = subprocess.run(command(tmp_path / "ref"), cwd=ROOT, env=launcher_env(), capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr[-5000:]
    layout = "accelerate" if recipe == "finetune_accelerate" else "trainer"
    resumed_from = run_killed_then_resumed(command(tmp_path / "run"), tmp_path / "run" / "out", layout, (10, 20, 30))
    steps = [checkpoint_step(path) for path in resumed_from]
    assert steps == sorted(set(steps)) and steps[0] >= 10 and 30 <= steps[-1] < 40  # three resumes, mid-run
    if recipe == "finetune":
        assert {step // 12 for step in steps} == {0, 1, 2} and all(step % 12 for step in steps)  # mid-epoch
    run, ref = tmp_path / "run" / "out", tmp_path / "ref" / "out"
    assert json.loads((run / "trainer_state.json").read_text())["global_step"] == 40
    got, expected = training_losses(run), training_losses(ref)
    assert [s for s, _ in got] == [s for s, _ in expected] == list(range(1, 41))
    assert [loss for _, loss in got] == pytest.approx([loss for _, loss in expected], rel=1e-5)  # every step
    expected_weights, got_weights = (load_file(d / "model.safetensors") for d in (ref, run))
    for name, tensor in expected_weights.items():
        torch.testing.assert_close(got_weights[name], tensor, rtol=0, atol=1e-6, msg=name)
    if recipe == "finetune_accelerate":
        assert [r["step"] for r in step_log(run)] == list(range(1, 41))
