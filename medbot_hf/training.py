"""Glue the training recipes share: metrics, checkpoints to resume from, and the final output folder."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import zipfile

import numpy as np
import torch
from safetensors import safe_open
from transformers import GenerationConfig, PreTrainedTokenizerBase

from .chat_format import IGNORE_INDEX

logger = logging.getLogger(__name__)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def preprocess_logits_for_metrics(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep, per position, the argmax and the NLL of the next label, never the whole `(batch, seq, vocab)` logits."""
    logits, targets = logits[:, :-1], labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2).float(), targets.clamp(min=0), reduction="none"
    )  # (batch, seq - 1); positions without a label are masked out in `compute_metrics`
    return logits.argmax(-1), nll


def compute_metrics(eval_pred) -> dict[str, float]:
    """Token accuracy and perplexity over label tokens only (padding and, by default, patient text excluded)."""
    (predictions, nll), labels = eval_pred.predictions, eval_pred.label_ids
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    width = min(predictions.shape[1], targets.shape[1])  # batches were padded to different lengths
    mask, targets = mask[:, :width], targets[:, :width]
    correct = (predictions[:, :width] == targets) & mask
    mean_nll = float(nll[:, :width][mask].mean())
    return {"token_accuracy": float(correct.sum() / mask.sum()), "perplexity": math.exp(min(mean_nll, 50.0))}


def checkpoint_is_complete(path: str) -> bool:
    """True when a Trainer checkpoint was written to the end: its state, weights and optimizer all read back.

    `trainer_state.json` is written last, and the weights and torch files are checked for truncation, so a
    checkpoint whose write was interrupted (or that lost files since) is never resumed from.
    """
    try:
        with open(os.path.join(path, "trainer_state.json"), encoding="utf-8") as f:
            json.load(f)
        with safe_open(os.path.join(path, "model.safetensors"), "np") as weights:
            for name in weights.keys():  # reads every tensor: a truncated file fails here
                weights.get_slice(name)[...]
        for name in ("optimizer.pt", "scheduler.pt"):
            with zipfile.ZipFile(os.path.join(path, name)) as archive:
                if archive.testzip() is not None:
                    return False
    except (OSError, ValueError, zipfile.BadZipFile, json.JSONDecodeError, Exception):  # noqa: B014
        return False
    return True


def find_resume_checkpoint(output_dir: str) -> str | None:
    """The newest complete `checkpoint-N` in `output_dir`; incomplete ones are skipped with a warning."""
    if not os.path.isdir(output_dir):
        return None
    steps = sorted(
        (int(m.group(1)), name) for name in os.listdir(output_dir) if (m := _CHECKPOINT.match(name)) is not None
    )
    for _, name in reversed(steps):
        path = os.path.join(output_dir, name)
        if checkpoint_is_complete(path):
            return path
        logger.warning("Skipping %s: its write did not finish (files missing or truncated)", path)
    return None


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
    tokenizer.model_max_length = model.config.n_positions
    return tokenizer, raw, tokenized, model


def resolve_resume(training_args) -> str | None:
    """`--resume_from_checkpoint` if given, else the newest complete checkpoint already in `output_dir`."""
    if training_args.resume_from_checkpoint:
        if not checkpoint_is_complete(training_args.resume_from_checkpoint):
            raise ValueError(
                f"--resume_from_checkpoint {training_args.resume_from_checkpoint}: not a complete checkpoint"
            )
        return training_args.resume_from_checkpoint
    found = find_resume_checkpoint(training_args.output_dir)
    if found:
        logger.warning("Resuming from %s (remove %s to start over)", found, training_args.output_dir)
    return found


TRAINING_FIELDS = (
    "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "max_steps",
    "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps", "train_sampling_strategy",
    "seed", "bf16", "hub_model_id",
)  # fmt: skip


def run_settings(model_args, data_args, gen_args, training_args) -> dict:
    """What the model card and `medbot-eval` need to know about a run: every model, data and sampling field, the
    main training fields, the number of processes and the command line."""
    import shlex
    import sys

    settings = {**dataclasses.asdict(model_args), **dataclasses.asdict(data_args), **dataclasses.asdict(gen_args)}
    settings.update({k: getattr(training_args, k) for k in TRAINING_FIELDS})
    settings["world_size"] = training_args.world_size
    settings["command"] = shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    return settings


def finish_output_dir(tokenizer, output_dir: str, log_history: list[dict], run: dict, metrics: dict) -> None:
    """Add what `save_pretrained` leaves out (main process only): `vocab.txt`, the loss curve, the run settings
    (`medbot_run.json`) and the model card (`README.md`)."""
    from .model_card import write_model_card

    write_vocab(tokenizer, output_dir)
    plot_loss_curve(log_history, os.path.join(output_dir, "loss_curve.png"))
    with open(os.path.join(output_dir, "medbot_run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=2, ensure_ascii=False, default=str)
    write_model_card(output_dir, metrics)
