"""Glue the training recipes share: metrics, checkpoints to resume from, and the final output folder."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import shutil
import sys
import zipfile

import numpy as np
import torch
from safetensors import safe_open
from torch.distributed.tensor import DTensor
from transformers import GenerationConfig, PreTrainedTokenizerBase, TrainerCallback

from .chat_format import IGNORE_INDEX, split_system

logger = logging.getLogger(__name__)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
LOOP_STATE_NAME = "loop_state.json"
CHECKPOINT_STATE_FILES = {"trainer": "trainer_state.json", "accelerate": LOOP_STATE_NAME}  # each written last


def label_token_sums(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per row, over the label tokens only: summed NLL, number of label tokens, number predicted right (argmax).

    The Trainer recipe passes it as `preprocess_logits_for_metrics`, so the whole `(batch, seq, vocab)` logits are
    never kept; the accelerate loop and `medbot-eval` sum the same rows.

    Returns:
        A `(batch, 3)` float64 tensor, ready to be summed or gathered across processes.
    """
    logits, targets = logits[:, :-1], labels[:, 1:]
    mask = targets != IGNORE_INDEX
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2).float(), targets.clamp(min=0), reduction="none")
    correct = (logits.argmax(-1) == targets) & mask
    return torch.stack([torch.where(mask, nll, 0).sum(1), mask.sum(1), correct.sum(1)], 1).double()


def compute_metrics(eval_pred) -> dict[str, float]:
    """Token accuracy and perplexity over label tokens only (padding and, by default, patient text excluded), from
    the rows of :func:`label_token_sums`."""
    nll, count, correct = eval_pred.predictions.sum(0)
    return {"token_accuracy": float(correct / count), "perplexity": math.exp(min(nll / count, 50.0))}


def checkpoint_layout(path: str) -> str | None:
    """Which recipe wrote a checkpoint, `"trainer"` or `"accelerate"`, told by the state file each writes last."""
    return next((k for k, name in CHECKPOINT_STATE_FILES.items() if os.path.isfile(os.path.join(path, name))), None)


def mark_checkpoint_complete(path: str, state: dict) -> None:
    """Write an accelerate-loop checkpoint's `loop_state.json`, last, listing the size of every file already there."""
    files = {}
    for root, _, names in os.walk(path):
        for name in names:
            files[os.path.relpath(os.path.join(root, name), path)] = os.path.getsize(os.path.join(root, name))
    with open(os.path.join(path, LOOP_STATE_NAME), "w", encoding="utf-8") as f:
        json.dump({**state, "files": files}, f, indent=1)


def _zip_reads_back(path: str) -> bool:
    with zipfile.ZipFile(path) as archive:  # torch.save writes zip archives
        return archive.testzip() is None


def checkpoint_is_complete(path: str) -> bool:
    """True when a checkpoint of either recipe was written to the end and still reads back.

    The Trainer writes `trainer_state.json` last. The accelerate loop writes into `checkpoint-N.tmp`, adds
    `loop_state.json` (with every file's size) last, then renames the folder. Beyond that, the weights are read in
    full and the torch files checked for truncation, so a checkpoint whose write was interrupted (or that lost files
    or was cut short since) is never resumed from.
    """
    layout = checkpoint_layout(path)
    if layout is None:
        return False
    try:
        with open(os.path.join(path, CHECKPOINT_STATE_FILES[layout]), encoding="utf-8") as f:
            files = json.load(f).get("files", {})
        if any(os.path.getsize(os.path.join(path, name)) != size for name, size in files.items()):
            return False
        torch_files = [n for n in files if n.endswith((".bin", ".pt", ".pkl"))] or ["optimizer.pt", "scheduler.pt"]
        if layout == "trainer" or "model.safetensors" in files:  # FSDP and DeepSpeed shard the weights instead
            with safe_open(os.path.join(path, "model.safetensors"), "np") as weights:
                for name in weights.keys():  # reads every tensor: a truncated file fails here
                    weights.get_slice(name)[...]
        return all(_zip_reads_back(os.path.join(path, name)) for name in torch_files)
    except Exception:  # missing, truncated or unreadable files, in whatever way they fail
        return False


def find_resume_checkpoint(output_dir: str, layout: str = "trainer") -> str | None:
    """The newest complete `checkpoint-N` in `output_dir` written by `layout`'s recipe.

    Incomplete checkpoints, the other recipe's, and `checkpoint-N.tmp` folders (a save cut off before its rename)
    are skipped with a warning.
    """
    if not os.path.isdir(output_dir):
        return None
    names = sorted(os.listdir(output_dir))
    for name in names:
        if name.startswith("checkpoint-") and name.endswith(".tmp"):
            logger.warning("Skipping %s: a save cut off before it finished", os.path.join(output_dir, name))
    steps = sorted((int(m.group(1)), name) for name in names if (m := _CHECKPOINT.match(name)) is not None)
    for _, name in reversed(steps):
        path = os.path.join(output_dir, name)
        if not checkpoint_is_complete(path):
            logger.warning("Skipping %s: its write did not finish (files missing or truncated)", path)
        elif checkpoint_layout(path) != layout:
            logger.warning("Skipping %s: written by the %s recipe, not this one", path, checkpoint_layout(path))
        else:
            return path
    return None


def rotate_checkpoints(output_dir: str, limit: int | None, keep: str | None) -> None:
    """Delete all but the newest `limit` checkpoints (oldest first), and never `keep`, the best one."""
    names = sorted((int(m.group(1)), n) for n in os.listdir(output_dir) if (m := _CHECKPOINT.match(n)) is not None)
    for _, name in names[: -limit if limit else 0]:
        if name != keep:
            shutil.rmtree(os.path.join(output_dir, name))


class NonFiniteLossError(RuntimeError):
    """A step's loss or gradients were inf or NaN under `--nonfinite_loss stop`."""


def nonfinite_message(step: int, what: str, output_dir: str, layout: str) -> str:
    """The one line a run stops with when step `step` is not finite: where, what, and the ways on."""
    last = find_resume_checkpoint(output_dir, layout)
    return (
        f"non-finite {what} at step {step}: training stopped there. Lower the learning rate (or raise warmup_steps) "
        f"and rerun to resume from {last or 'the start'}, or set --nonfinite_loss skip (accelerate recipe only)"
    )


class NonFiniteLossCallback(TrainerCallback):
    """Stop the Trainer, naming the step, as soon as a step's gradients hold inf or NaN (as any non-finite loss
    makes them). On its own the Trainer trains on: `logging_nan_inf_filter` only hides such losses from the log.
    Under fp16 the gradient scaler skips overflowing steps by design, so the check is off there (and under
    DeepSpeed, whose engine keeps the gradients)."""

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if args.fp16 or not grads:
            return
        local = [g.to_local() if isinstance(g, DTensor) else g for g in grads]  # FSDP's shards
        finite = torch.isfinite(torch.nn.utils.get_total_norm(local)).float()
        if torch.distributed.is_initialized():  # so that every rank stops, or none
            torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
        if not finite:
            step = state.global_step + 1
            raise NonFiniteLossError(nonfinite_message(step, "loss or gradient", args.output_dir, "trainer"))


def build_generation_config(tokenizer: PreTrainedTokenizerBase, gen_args) -> GenerationConfig:
    """Sampling settings plus stopping at `[SEP]` and never emitting `[UNK]`, `[PAD]` or `[CLS]`."""
    from .configs import GENERATION_DEFAULTS

    return GenerationConfig(
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        pad_token_id=tokenizer.pad_token_id,
        suppress_tokens=[tokenizer.unk_token_id, tokenizer.pad_token_id, tokenizer.cls_token_id],
        **{**GENERATION_DEFAULTS, **gen_args.overrides()},
    )


def write_vocab(tokenizer: PreTrainedTokenizerBase, output_dir: str) -> None:
    """Write `vocab.txt` (id order) beside `tokenizer.json`; transformers 5 no longer writes it."""
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    with open(os.path.join(output_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.writelines(token + "\n" for token, _ in vocab)


def plot_loss_curve(log_history: list[dict], path: str) -> None:
    """Save train and eval loss against step as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key, label in (("loss", "train loss"), ("eval_loss", "eval loss")):
        points = [(e["step"], e[key]) for e in log_history if key in e and np.isfinite(e[key])]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o" if key == "eval_loss" else None, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def setup_logging(training_args) -> None:
    """Our INFO lines on the main process (warnings elsewhere); transformers/datasets follow `--log_level`."""
    import datasets
    import transformers

    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("medbot_hf").setLevel(logging.INFO if training_args.should_log else logging.WARNING)
    if training_args.log_level != "passive":
        level = training_args.get_process_log_level()
        transformers.utils.logging.set_verbosity(level)
        datasets.utils.logging.set_verbosity(level)


def prepare(model_args, data_args, training_args, resume_from: str | None = None):
    """Read the corpus, get the tokenizer, tokenize (cached) and build the model, in that order.

    Every corpus error is raised before any model is built. When resuming, the tokenizer saved in the checkpoint is
    used, so the ids cannot drift from the ones the weights were trained with.

    Returns:
        `(tokenizer, raw DatasetDict of messages, tokenized DatasetDict, model)`.
    """
    from .data import get_dataset, get_raw_datasets, iter_texts
    from .modeling import get_model, get_tokenizer, load_tokenizer

    logger.info("Processes: world_size=%d, device=%s", training_args.world_size, training_args.device)
    raw, stats = get_raw_datasets(data_args, seed=training_args.seed)
    logger.info("Corpus: %s", json.dumps(stats, ensure_ascii=False))
    if resume_from and os.path.exists(os.path.join(resume_from, "tokenizer.json")):
        tokenizer = load_tokenizer(resume_from)
    else:
        tokenizer = get_tokenizer(model_args, texts=iter_texts(raw["train"]))
    with training_args.main_process_first(desc="tokenizing the corpus"):
        tokenized, token_stats = get_dataset(raw, tokenizer, data_args)
    logger.info("Tokenized: %s", json.dumps(token_stats))
    model = get_model(model_args, tokenizer, data_args.max_seq_length)
    multiple = data_args.pad_to_multiple_of
    if multiple and -(-data_args.max_seq_length // multiple) * multiple > model.config.n_positions:
        raise ValueError(
            f"pad_to_multiple_of={multiple} pads max_seq_length={data_args.max_seq_length} past the model's "
            f"n_positions={model.config.n_positions}; choose a multiple that divides n_positions"
        )
    tokenizer.model_max_length = model.config.n_positions
    return tokenizer, raw, tokenized, model


def resolve_resume(training_args, layout: str = "trainer") -> str | None:
    """`--resume_from_checkpoint` if given, else the newest complete checkpoint of `layout` already in `output_dir`."""
    path = training_args.resume_from_checkpoint
    if path:
        if not checkpoint_is_complete(path) or checkpoint_layout(path) != layout:
            raise ValueError(f"--resume_from_checkpoint {path}: not a complete checkpoint of the {layout} recipe")
        return path
    found = find_resume_checkpoint(training_args.output_dir, layout)
    if found:
        logger.warning("Resuming from %s (remove %s to start over)", found, training_args.output_dir)
    return found


TRAINING_FIELDS = (
    "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "max_steps",
    "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps", "train_sampling_strategy",
    "seed", "bf16", "hub_model_id", "nonfinite_loss",
)  # fmt: skip


def run_settings(model_args, data_args, gen_args, training_args) -> dict:
    """What the model card and `medbot-eval` need to know about a run: every model, data and sampling field, the
    main training fields, the number of processes and the command line."""
    import shlex

    settings = {**dataclasses.asdict(model_args), **dataclasses.asdict(data_args), **dataclasses.asdict(gen_args)}
    settings.update({k: getattr(training_args, k) for k in TRAINING_FIELDS})
    settings["world_size"] = training_args.world_size
    settings["command"] = shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    return settings


def validate_corpus(data_args, seed: int) -> dict:
    """`--validate_only`: read and check the corpus, print its stats (what was dropped included), and return them."""
    from .data import get_raw_datasets

    _, stats = get_raw_datasets(data_args, seed=seed)
    print(json.dumps(stats, ensure_ascii=False, indent=2))
    return stats


def print_demo_replies(model, tokenizer, validation, max_seq_length: int, seed: int, n: int = 2) -> None:
    """Print the model's reply to the first patient turn of `n` held-out dialogues: what a run shows at its end."""
    from .generation import generate_reply

    for dialogue in validation["messages"][:n]:
        system, turns = split_system(dialogue)
        messages = ([system] if system else []) + turns[:1]
        reply = generate_reply(model, tokenizer, messages, max_seq_length=max_seq_length, seed=seed)
        print(f"\n患者: {turns[0]['content']}\n医生 (model): {reply}")


def run_recipe(main) -> None:
    """A training recipe's entry point: parse the command line (and `--config`), run `main`, and turn the errors a
    user can fix into one line naming the file, step or flag, never a traceback."""
    from .configs import FINETUNE_ARGS, parse_args
    from .corpus import CorpusError
    from .hub import HubError

    args = parse_args(FINETUNE_ARGS)
    try:
        main(*args)
    except (CorpusError, HubError, NonFiniteLossError, ValueError, OSError) as e:
        sys.exit(f"error: {e}")


def finish_output_dir(tokenizer, output_dir: str, log_history: list[dict], run: dict, metrics: dict) -> None:
    """Add what `save_pretrained` leaves out (main process only): `vocab.txt`, the loss curve, the run settings
    (`medbot_run.json`) and the model card (`README.md`)."""
    from .model_card import write_model_card

    write_vocab(tokenizer, output_dir)
    plot_loss_curve(log_history, os.path.join(output_dir, "loss_curve.png"))
    with open(os.path.join(output_dir, "medbot_run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=2, ensure_ascii=False, default=str)
    write_model_card(output_dir, metrics)
