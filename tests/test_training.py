import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT, load_recipe, sigint_default, tiny_run_args
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer

from medbot_hf.checkpoints import checkpoint_is_complete, find_resume_checkpoint
from medbot_hf.configs import FINETUNE_ARGS, parse_args
from medbot_hf.data import get_collator
from medbot_hf.retrieval import load_model_index
from medbot_hf.training import prepare, start_run

finetune = load_recipe("finetune")


def test_eval_loss_falls_and_metrics_are_saved(trained):
    out, metrics = trained
    state = json.loads((out / "trainer_state.json").read_text())
    evals = [e for e in state["log_history"] if "eval_loss" in e]
    assert [e["step"] for e in evals] == [0, 25, 50, 50]  # periodic, then the final evaluate()
    assert evals[-1]["eval_loss"] < evals[0]["eval_loss"] - 1.0  # from ~ln(vocab) down by more than a nat
    assert 0 < evals[-1]["eval_token_accuracy"] <= 1 and evals[-1]["eval_perplexity"] > 1
    assert [e["step"] for e in state["log_history"] if "loss" in e][:2] == [5, 10]
    for name in ("train_results.json", "eval_results.json", "all_results.json"):
        assert (out / name).exists()
    saved = json.loads((out / "eval_results.json").read_text())
    assert saved["eval_perplexity"] == pytest.approx(metrics["eval_perplexity"]) and "perplexity" not in saved
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parameters_changed(trained, tmp_path):
    out, _ = trained
    weights = load_file(out / "model.safetensors")
    assert weights["transformer.h.0.attn.c_attn.weight"].shape == (32, 96)
    assert torch.isfinite(weights["transformer.wte.weight"]).all()
    # as TRL's tests: copy every parameter, train a few steps, and check that each one moved
    flags = ("--max_steps", "3", "--eval_strategy", "no", "--save_strategy", "no", "--eval_on_start", "false")
    model_args, data_args, gen_args, training_args = parse_args(FINETUNE_ARGS, tiny_run_args(tmp_path, *flags))
    start = start_run(model_args, data_args, gen_args, training_args)
    before = {name: p.detach().clone() for name, p in start.model.named_parameters()}
    trainer = Trainer(
        model=start.model, args=training_args, train_dataset=start.tokenized["train"],
        data_collator=get_collator(start.tokenizer),
    )  # fmt: skip
    trainer.train()
    for name, param in trainer.model.named_parameters():
        assert not torch.equal(before[name], param.detach().cpu()), f"{name} did not change"


def test_saved_folder_loads_with_stock_transformers(trained):
    out, _ = trained
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "vocab.txt"} <= names
    assert {"tokenizer_config.json", "chat_template.jinja"} <= names and not (names & {"pytorch_model.bin"})
    index = load_model_index(str(out))  # built at the end of the run, over the train split only
    assert index.meta["pairs"] == 266 and index.meta["corpus"] == "train.txt (the train split: 181 dialogues)"
    assert "## Retrieval index" in (out / "README.md").read_text(encoding="utf-8")
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    gen = model.generation_config
    assert (gen.eos_token_id, gen.pad_token_id, gen.bos_token_id) == (tok.sep_token_id, 0, tok.cls_token_id)
    assert tok.unk_token_id in gen.suppress_tokens
    messages = [{"role": "user", "content": "头疼怎么办？"}, {"role": "assistant", "content": "您好，多休息。"}]
    ids = tok.apply_chat_template(messages, return_dict=False)
    from medbot_hf.data import tokenize_batch

    expected = tokenize_batch({"messages": [messages]}, tok, 128, "answers")["input_ids"][0]
    assert ids == expected
    prompt = tok.apply_chat_template(messages[:1], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    reply = model.generate(**prompt, do_sample=False, max_new_tokens=8)
    assert reply.shape[1] > prompt["input_ids"].shape[1]


def test_resume_continues_at_the_right_step(tmp_path, caplog):
    args = tiny_run_args(tmp_path)
    finetune.main(*parse_args(FINETUNE_ARGS, args + ["--max_steps", "25"]))
    assert (tmp_path / "out" / "checkpoint-25").is_dir()
    with caplog.at_level(logging.WARNING, logger="medbot_hf"):
        finetune.main(*parse_args(FINETUNE_ARGS, args))
    assert any("Resuming from" in r.getMessage() and "checkpoint-25" in r.getMessage() for r in caplog.records)
    state = json.loads((tmp_path / "out" / "trainer_state.json").read_text())
    steps = [e["step"] for e in state["log_history"] if "loss" in e]
    assert state["global_step"] == 50 and steps == list(range(5, 55, 5))  # no step trained twice


def test_torn_checkpoint_is_skipped(trained, tmp_path, caplog):
    out, _ = trained
    for step in (25, 50):
        shutil.copytree(out / f"checkpoint-{step}", tmp_path / f"checkpoint-{step}")
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-50")
    weights = tmp_path / "checkpoint-50" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a write cut off halfway
    with caplog.at_level(logging.WARNING, logger="medbot_hf"):
        assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-25")
    assert "Skipping" in caplog.text and "checkpoint-50" in caplog.text
    (tmp_path / "checkpoint-25" / "trainer_state.json").unlink()  # state is written last: absent = unfinished
    assert not checkpoint_is_complete(str(tmp_path / "checkpoint-25"))
    assert find_resume_checkpoint(str(tmp_path)) is None


@pytest.mark.parametrize("name", ["finetune", "finetune_accelerate"])
def test_validate_only_prints_the_stats_and_trains_nothing(name, tmp_path, capsys):
    recipe = load_recipe(name)
    args = recipe.make_parser().parse_args_and_config(tiny_run_args(tmp_path, "--validate_only", "true"))
    stats = recipe.main(*args)
    assert json.loads(capsys.readouterr().out) == stats and stats["train"]["dialogues"] > 0
    assert not (tmp_path / "out").exists()


def test_padding_multiple_past_n_positions_is_refused(tmp_path):
    model_args, data_args, _, training_args = parse_args(
        FINETUNE_ARGS, tiny_run_args(tmp_path, "--pad_to_multiple_of", "96")
    )
    with pytest.raises(
        ValueError, match="pad_to_multiple_of=96 pads max_seq_length=128 past the model's n_positions=128"
    ):
        prepare(model_args, data_args, training_args)


RECIPES = ["finetune", pytest.param("finetune_accelerate", marks=pytest.mark.slow)]


def recipe_command(recipe: str, tmp_path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "recipes" / f"{recipe}.py"), *tiny_run_args(tmp_path, *extra)]


def run_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def snapshot(folder) -> dict:
    """Every file under `folder`: its modification time (ns) and bytes."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()
    }


def run_recipe(recipe: str, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    """`recipe` with the tiny run's flags plus `extra`, as a user runs it; it must exit 0."""
    done = subprocess.run(recipe_command(recipe, tmp_path, *extra), env=run_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


SHORT_RUN = ("--max_steps", "10", "--save_steps", "5", "--eval_steps", "5")


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
@pytest.mark.parametrize("recipe", RECIPES)
def test_rerun_of_a_finished_run_changes_nothing_and_a_larger_max_steps_goes_on(tmp_path, recipe):
    run_recipe(recipe, tmp_path, *SHORT_RUN)
    out = tmp_path / "out"
    before = snapshot(out)
    again = run_recipe(recipe, tmp_path, *SHORT_RUN)
    assert f"{out} already holds a finished run (10 steps, max_steps 10); nothing was changed" in again.stdout
    assert f"to start over, remove {out} or give another --output_dir" in again.stdout
    assert snapshot(out) == before and not (out / "checkpoint-11").exists()  # not one byte, not one step more
    more = run_recipe(recipe, tmp_path, "--max_steps", "15", "--save_steps", "5", "--eval_steps", "5")
    assert f"Resuming from {out / 'checkpoint-10'}" in more.stderr
    assert "went to max_steps=10; this one goes on to max_steps=15. The linear learning-rate schedule" in more.stderr
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == state["max_steps"] == 15
    assert (out / "checkpoint-15").is_dir() and not (out / "checkpoint-16").exists()
    losses = [e["step"] for e in state["log_history"] if "loss" in e]
    assert losses == [5, 10, 15] if recipe == "finetune" else losses[-1] == 15  # the loop logs from its own start


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
@pytest.mark.parametrize("recipe", RECIPES)
def test_a_run_stopped_after_its_last_checkpoint_finishes_without_another_step(tmp_path, recipe):
    run_recipe(recipe, tmp_path, *SHORT_RUN)
    out = tmp_path / "out"
    for path in out.iterdir():  # what a kill between the last checkpoint and the final folder leaves
        if not path.name.startswith("checkpoint-"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    again = run_recipe(recipe, tmp_path, *SHORT_RUN)
    assert f"Resuming from {out / 'checkpoint-10'}" in again.stderr
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == state["max_steps"] == 10 and not (out / "checkpoint-11").exists()
    assert (out / "model.safetensors").exists() and (out / "README.md").exists()


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_is_one_line_naming_step_and_checkpoint(tmp_path, recipe, signum):
    command = recipe_command(recipe, tmp_path, "--max_steps", "2000", "--save_steps", "5")
    out = tmp_path / "out"
    layout = "accelerate" if recipe == "finetune_accelerate" else "trainer"
    process = subprocess.Popen(
        command, env=run_env(), stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=sigint_default
    )
    deadline = time.monotonic() + 300
    while find_resume_checkpoint(str(out), layout) is None:
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    os.killpg(process.pid, signum)  # as Ctrl-C (to the terminal's process group) or `kill` would
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == (130 if signum == signal.SIGINT else 143), stderr[-3000:]
    assert "Traceback" not in stderr
    what = "Ctrl-C \\(SIGINT\\)" if signum == signal.SIGINT else "SIGTERM"
    line = stderr.strip().splitlines()[-1]
    found = re.fullmatch(
        f"interrupted by {what} at step (\\d+); the newest complete checkpoint is (\\S+): the same command resumes",
        line,
    )
    assert found, line
    step, checkpoint = int(found.group(1)), found.group(2)
    assert checkpoint == find_resume_checkpoint(str(out), layout) and checkpoint_is_complete(checkpoint)
    assert int(checkpoint.rsplit("-", 1)[1]) <= step < 2000
    assert not (out / "model.safetensors").exists()  # no final folder: the same command resumes
