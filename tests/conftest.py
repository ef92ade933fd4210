"""Shared fixtures: the bundled sample corpus, a tokenizer built from it, and a tiny GPT-2 (hidden 16, 2 layers)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TRAIN = ROOT / "data" / "sample" / "train.txt"
SAMPLE_VALID = ROOT / "data" / "sample" / "valid.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def sigint_default() -> None:
    """In the child before exec: Ctrl-C as in a terminal's foreground job. A job that a non-interactive shell starts
    in the background (`cmd &`, as some CI runners and `nohup` scripts do) inherits SIGINT ignored, and Python then
    leaves it ignored, so the interrupt under test would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    from medbot_hf.corpus import read_corpus

    return [m["content"] for d in read_corpus(str(SAMPLE_TRAIN)).dialogues for m in d]


@pytest.fixture(scope="session")
def tokenizer(sample_texts):
    from medbot_hf.modeling import build_tokenizer

    return build_tokenizer(sample_texts)


@pytest.fixture
def tiny_model(tokenizer):
    import torch

    from medbot_hf.configs import ModelArguments
    from medbot_hf.modeling import get_model

    torch.manual_seed(0)
    return get_model(
        ModelArguments(config_overrides="n_embd=16,n_layer=2,n_head=2,n_positions=128"), tokenizer, max_seq_length=128
    )


def tiny_run_args(tmp_path, *extra: str) -> list[str]:
    """Command-line flags for a fast finetune run on the sample corpus."""
    return [
        "--train_file", str(SAMPLE_TRAIN), "--validation_file", str(SAMPLE_VALID),
        "--output_dir", str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache"),
        "--config_overrides", "n_embd=32,n_layer=2,n_head=2,n_positions=128", "--max_seq_length", "128",
        "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "32", "--learning_rate", "3e-3",
        "--max_steps", "50", "--eval_strategy", "steps", "--eval_steps", "25", "--eval_on_start", "true",
        "--save_steps", "25", "--logging_steps", "5", "--report_to", "none", "--seed", "0", "--use_cpu", "true",
        "--disable_tqdm", "true", *extra,
    ]  # fmt: skip


def load_recipe(name: str):
    """Import `recipes/<name>.py` as a module, so tests call its `main` directly."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"recipe_{name}", ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One 50-step finetune run on the sample corpus, shared by every test that needs a trained folder."""
    from medbot_hf.configs import FINETUNE_ARGS, parse_args

    tmp_path = tmp_path_factory.mktemp("run")
    metrics = load_recipe("finetune").main(*parse_args(FINETUNE_ARGS, tiny_run_args(tmp_path)))
    return tmp_path / "out", metrics


@pytest.fixture(scope="session")
def slow_model(tokenizer, tmp_path_factory):
    """A random 8-layer GPT-2 whose replies run to 900 tokens ([SEP] is held back): replies long enough to cut."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from medbot_hf.configs import GenerationArguments
    from medbot_hf.training import build_generation_config

    path = tmp_path_factory.mktemp("slow")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=256, n_layer=8, n_head=4, n_positions=2048)
    model = GPT2LMHeadModel(config)
    model.generation_config = build_generation_config(tokenizer, GenerationArguments(max_new_tokens=900))
    model.generation_config.min_new_tokens = 900
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
