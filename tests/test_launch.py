"""`accelerate launch` end to end, as a user runs it (slow)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, tiny_run_args

pytestmark = pytest.mark.slow


def launch(config_file, *args, timeout=900):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file), *args]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stdout + result.stderr


def test_smoke_recipe_under_accelerate_launch(tmp_path):
    out = tmp_path / "smoke"
    log = launch(
        ROOT / "accelerate_configs" / "cpu.yaml", "recipes/finetune.py",
        "--config", "recipes/sample/config_smoke.yaml", "--output_dir", str(out), "--cache_dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert "world_size=1" in log and log.count("医生 (model): ") == 2
    evals = [e for e in json.loads((out / "trainer_state.json").read_text())["log_history"] if "eval_loss" in e]
    best = min(e["eval_loss"] for e in evals)
    assert evals[0]["step"] == 0 and best < evals[0]["eval_loss"] - 2.0, evals  # falls clearly: > 2 nats
    assert json.loads((out / "eval_results.json").read_text())["eval_loss"] == pytest.approx(best)  # best kept
    assert (out / "model.safetensors").exists() and (out / "loss_curve.png").exists()
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "recipes/finetune.py --config recipes/sample/config_smoke.yaml --output_dir" in card


def test_two_cpu_processes_really_start(tmp_path):
    log = launch(ROOT / "accelerate_configs" / "cpu_2proc.yaml", "recipes/finetune.py", *tiny_run_args(tmp_path))
    assert "world_size=2" in log
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    assert state["global_step"] == 50 and (tmp_path / "out" / "model.safetensors").exists()
