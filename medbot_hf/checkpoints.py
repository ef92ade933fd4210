"""Checkpoints of both training recipes: their layout, whether one is complete, which to resume from, rotation,
whether `output_dir` already holds a finished run, and what an interrupt leaves.

The Trainer recipe writes `trainer_state.json` last; the accelerate loop writes `loop_state.json` (every file's size)
last, into `checkpoint-N.tmp`, then renames the folder. Either file's presence tells which recipe wrote a checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import zipfile

from safetensors import safe_open

logger = logging.getLogger(__name__)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
LOOP_STATE_NAME = "loop_state.json"
CHECKPOINT_STATE_FILES = {"trainer": "trainer_state.json", "accelerate": LOOP_STATE_NAME}  # each written last


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
        final = _final_state(training_args.output_dir)
        if final and training_args.max_steps > 0 and final.get("max_steps") != training_args.max_steps:
            schedule = training_args.lr_scheduler_type  # an enum once TrainingArguments has parsed it
            logger.warning(
                "The finished run went to max_steps=%s; this one goes on to max_steps=%d. The %s learning-rate "
                "schedule is laid out again over %d steps (warmup %d), so step %s picks up where the new schedule "
                "stands there, not where the old one ended",
                final.get("max_steps"), training_args.max_steps, getattr(schedule, "value", schedule),
                training_args.max_steps, training_args.get_warmup_steps(training_args.max_steps),
                final.get("global_step"),
            )  # fmt: skip
    return found


def _final_state(output_dir: str) -> dict | None:
    """The `trainer_state.json` of the final folder a finished run leaves in `output_dir` (both recipes write it
    after the weights), or None."""
    path = os.path.join(output_dir, "trainer_state.json")
    if not (os.path.isfile(path) and os.path.isfile(os.path.join(output_dir, "model.safetensors"))):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def finished_message(training_args) -> str | None:
    """What a recipe says, instead of training, when `output_dir` already holds a finished run that went as far as
    this command asks (`max_steps`; with `max_steps` unset, the same `num_train_epochs`); else None.

    So the same command run again changes nothing, and a larger `--max_steps` goes on from the newest checkpoint.
    `--resume_from_checkpoint` is an explicit request to train from there, so it is never refused.
    """
    output_dir, final = training_args.output_dir, _final_state(training_args.output_dir)
    if final is None or training_args.resume_from_checkpoint:
        return None
    done, wanted = final.get("global_step", 0), training_args.max_steps
    if wanted <= 0:  # epochs decide: finished only if this asks for the epochs it ran
        try:
            with open(os.path.join(output_dir, "medbot_run.json"), encoding="utf-8") as f:
                if json.load(f).get("num_train_epochs") != training_args.num_train_epochs:
                    return None
        except (OSError, ValueError):
            return None
        wanted = final.get("max_steps", done)
    if done < wanted:
        return None
    return (
        f"{output_dir} already holds a finished run ({done} steps, max_steps {final.get('max_steps')}); nothing was "
        f"changed. To train further, give a larger --max_steps (it goes on from the newest checkpoint); to start "
        f"over, remove {output_dir} or give another --output_dir"
    )


def interrupt_message(what: str, step: int | None, output_dir: str, layout: str) -> str:
    """The one line a run ends with on Ctrl-C or SIGTERM (`what`): the step reached, the newest complete checkpoint,
    and what the same command does next."""
    where = f"at step {step}" if step is not None else "outside the training steps (loading, an evaluation or a save)"
    head, checkpoint = f"interrupted by {what} {where}", find_resume_checkpoint(output_dir, layout)
    if checkpoint:
        return f"{head}; the newest complete checkpoint is {checkpoint}: the same command resumes"
    return f"{head}; no checkpoint is complete yet, so the same command starts over"
