"""Glue the two training recipes share: the opening and ending of a run, the non-finite policy, the final folder."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shlex
import signal
import sys
from dataclasses import dataclass

import datasets
import numpy as np
import torch
import transformers
from datasets import DatasetDict
from torch.distributed.tensor import DTensor
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainerCallback, set_seed
from transformers.trainer_pt_utils import LengthGroupedSampler

from .chat_format import split_system
from .checkpoints import find_resume_checkpoint, finished_message, interrupt_message, resolve_resume
from .configs import GENERATION_DEFAULTS, LOG_FORMAT
from .corpus import CorpusError
from .data import EpochLengthGroupedSampler, get_dataset, get_raw_datasets, iter_texts, pack_splits
from .evaluation import unprefixed
from .generation import generate_reply
from .hub import HubError, check_push_possible, hub_repo_name, push_folder
from .model_card import write_model_card
from .modeling import get_model, get_tokenizer, load_for_inference, load_tokenizer
from .retrieval import INDEX_DIR, build_corpus_index

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """A step's loss or gradients were inf or NaN under `--nonfinite_loss stop`."""


# What a recipe's entry point turns into one line naming the file, step or flag, never a traceback.
USER_ERRORS = (CorpusError, HubError, NonFiniteLossError, ValueError, OSError)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the signal lands, as Ctrl-C raises `KeyboardInterrupt`."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def noting_step(step_reached):
    """Inside it, an interrupt carries `step_reached()`, the last step trained, to :func:`exits_in_one_line`."""
    try:
        yield
    except KeyboardInterrupt as e:
        e.step = step_reached()
        raise


@contextlib.contextmanager
def exits_in_one_line(training_args, layout: str):
    """A training recipe's entry point: a user error (:data:`USER_ERRORS`) ends the process with `error: ...`, and
    Ctrl-C or SIGTERM with one line naming the step reached and the newest complete checkpoint (exit status 130 or
    143, as a shell reports them), never a traceback."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
        end_process_group()
    except USER_ERRORS as e:
        sys.exit(f"error: {e}")
    except KeyboardInterrupt as e:
        what = "SIGTERM" if isinstance(e, Terminated) else "Ctrl-C (SIGINT)"
        if int(os.environ.get("RANK", "0")) == 0:  # one line for the run, not one per process
            message = interrupt_message(what, getattr(e, "step", None), training_args.output_dir, layout)
            print(message, file=sys.stderr, flush=True)
        sys.exit(143 if isinstance(e, Terminated) else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)


def end_process_group() -> None:
    """Destroy the distributed process group, if one is up, once a run has ended well. Left to interpreter exit,
    gloo's worker threads can abort a finished process (SIGABRT, "terminate called without an active exception";
    pytorch#190489) and the launcher then fails the whole run. Only on success: on an error the other ranks may be
    inside a collective, and destroying the group would hang them."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # every rank is past its last collective
        torch.distributed.destroy_process_group()


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


class MedbotTrainer(Trainer):
    """The Trainer, with three changes: under `group_by_length` the order is seeded by `data_seed` (or `seed`) plus the
    epoch (:class:`~medbot_hf.data.EpochLengthGroupedSampler`), so that a resumed run replays it exactly; an
    interrupt notes the step it reached (for :func:`exits_in_one_line`); and a run resumed from a checkpoint at
    max_steps trains no step more."""

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is not LengthGroupedSampler:  # random (accelerate seeds it) and sequential replay as they are
            return sampler
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return EpochLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)  # the Trainer's batch and lengths

    def train(self, *args, **kwargs):
        with noting_step(lambda: self.state.global_step):
            return super().train(*args, **kwargs)

    def _run_epoch(self, *args, **kwargs):
        # Resumed from a checkpoint at max_steps (a run stopped after its last save, before its final folder): the
        # stock loop would skip that epoch's trained batches and then train one more, past max_steps.
        if 0 < self.state.max_steps <= self.state.global_step:
            logger.info("The checkpoint is at max_steps=%d: nothing is left to train", self.state.max_steps)
            self.control.should_training_stop = True
            return
        return super()._run_epoch(*args, **kwargs)


def build_generation_config(tokenizer: PreTrainedTokenizerBase, gen_args) -> GenerationConfig:
    """Sampling settings plus stopping at `[SEP]` and never emitting `[UNK]`, `[PAD]` or `[CLS]`."""
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
    import matplotlib  # here, not at the top: importing it costs every recipe, chat and test a second

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
    logging.basicConfig(format=LOG_FORMAT, datefmt="%H:%M:%S")
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
    if data_args.packing:
        tokenized = pack_for_training(tokenized, model, data_args, training_args)
    return tokenizer, raw, tokenized, model


def pack_for_training(tokenized, model, data_args, training_args):
    """`--packing`: pack every split into rows of `max_seq_length` and apply `--max_tokens_per_batch`.

    GPT-2's config keeps `use_cache=True`, and a forward pass that builds a cache skips transformers' packed-sequence
    mask (`masking_utils._preprocess_mask_arguments` looks for packing only without one), so attention would cross
    dialogue boundaries. Training never needs the cache, so it is turned off; `generate` still uses one.
    """
    packed, stats = pack_splits(tokenized, data_args.max_seq_length)
    logger.info("Packed: %s", json.dumps(stats))
    model.config.use_cache = False
    if data_args.max_tokens_per_batch:
        rows = data_args.max_tokens_per_batch // data_args.max_seq_length
        logger.info("max_tokens_per_batch=%d: %d rows per device", data_args.max_tokens_per_batch, rows)
        training_args.per_device_train_batch_size = rows
    return packed


TRAINING_FIELDS = (
    "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "max_steps",
    "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps", "train_sampling_strategy",
    "seed", "bf16", "hub_model_id", "nonfinite_loss",
)  # fmt: skip


def run_settings(model_args, data_args, gen_args, training_args) -> dict:
    """What the model card and `medbot-eval` need to know about a run: every model, data and sampling field, the
    main training fields, the number of processes and the command line."""
    settings = {**dataclasses.asdict(model_args), **dataclasses.asdict(data_args), **dataclasses.asdict(gen_args)}
    settings.update({k: getattr(training_args, k) for k in TRAINING_FIELDS})
    settings["world_size"] = training_args.world_size
    settings["command"] = shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    return settings


def demo_replies(model, tokenizer, validation, max_seq_length: int, seed: int, n: int = 2) -> list[tuple[str, str]]:
    """The model's reply to the first patient turn of `n` held-out dialogues, as `(question, reply)` pairs: what a
    run shows at its end."""
    pairs = []
    for dialogue in validation["messages"][:n]:
        system, turns = split_system(dialogue)
        messages = ([system] if system else []) + turns[:1]
        reply = generate_reply(model, tokenizer, messages, max_seq_length=max_seq_length, seed=seed)
        pairs.append((turns[0]["content"], reply))
    return pairs


def save_retrieval_index(output_dir: str, train_split: datasets.Dataset, run: dict) -> None:
    """Index the train split's (question, answer) pairs into `output_dir/retrieval_index` (see `retrieval`)."""
    source = run.get("train_file") or run.get("dataset_name")
    description = f"{os.path.basename(source)} (the train split: {len(train_split)} dialogues)"
    index = build_corpus_index(train_split["messages"], run.get("train_file"), description)
    index.save(os.path.join(output_dir, INDEX_DIR))


def finish_output_dir(
    tokenizer, output_dir: str, log_history: list[dict], run: dict, metrics: dict, train_split: datasets.Dataset
) -> None:
    """Add what `save_pretrained` leaves out (main process only): `vocab.txt`, the loss curve, the run settings
    (`medbot_run.json`), the retrieval index over `train_split` and the model card (`README.md`, from the `eval_`
    metrics)."""
    write_vocab(tokenizer, output_dir)
    plot_loss_curve(log_history, os.path.join(output_dir, "loss_curve.png"))
    with open(os.path.join(output_dir, "medbot_run.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=2, ensure_ascii=False, default=str)
    save_retrieval_index(output_dir, train_split, run)
    write_model_card(output_dir, unprefixed(metrics))


@dataclass
class RunStart:
    """What both recipes train from; under `--validate_only`, only the corpus `stats`."""

    args: tuple  # (model_args, data_args, gen_args, training_args)
    stats: dict | None = None
    finished: str | None = None  # what to say when output_dir already holds this run, finished: nothing to do
    checkpoint: str | None = None  # to resume from
    tokenizer: PreTrainedTokenizerBase | None = None
    raw: DatasetDict | None = None  # `messages` rows
    tokenized: DatasetDict | None = None
    model: PreTrainedModel | None = None


def start_run(model_args, data_args, gen_args, training_args, layout: str = "trainer") -> RunStart:
    """The opening both recipes share, in order: logging; under `--validate_only` the corpus stats and nothing else;
    the seed; a push check that fails before any training; the checkpoint of `layout`'s recipe to resume from; then
    corpus, tokenizer, tokenized splits and model (:func:`prepare`), with the generation config. When `output_dir`
    already holds a finished run that went as far as asked, only `finished`, the line to print instead of training."""
    args = (model_args, data_args, gen_args, training_args)
    setup_logging(training_args)
    if data_args.validate_only:
        return RunStart(args, stats=get_raw_datasets(data_args, seed=training_args.seed)[1])
    if (finished := finished_message(training_args)) is not None:
        return RunStart(args, finished=finished)
    set_seed(training_args.seed)
    if training_args.push_to_hub:  # fail now, not after hours of training
        check_push_possible(training_args.hub_token)
    checkpoint = resolve_resume(training_args, layout)
    tokenizer, raw, tokenized, model = prepare(model_args, data_args, training_args, resume_from=checkpoint)
    model.generation_config = build_generation_config(tokenizer, gen_args)
    return RunStart(args, checkpoint=checkpoint, tokenizer=tokenizer, raw=raw, tokenized=tokenized, model=model)


@dataclass
class RunEnd:
    """What a run shows at its end: `(question, reply)` pairs from held-out dialogues, and where it was pushed."""

    demo: list[tuple[str, str]]
    pushed_to: str | None = None


def finish_run(start: RunStart, log_history: list[dict], metrics: dict) -> RunEnd:
    """The ending both recipes share, on the main process once the final folder is saved: what `save_pretrained`
    leaves out (:func:`finish_output_dir`), demo replies from the saved folder loaded as a user loads it, and the
    push to `hub_repo_name` under `--push_to_hub`."""
    _, data_args, _, training_args = start.args
    output_dir = training_args.output_dir
    settings = run_settings(*start.args)
    finish_output_dir(start.tokenizer, output_dir, log_history, settings, metrics, start.raw["train"])
    model, tokenizer = load_for_inference(output_dir)
    end = RunEnd(demo_replies(model, tokenizer, start.raw["validation"], data_args.max_seq_length, training_args.seed))
    if training_args.push_to_hub:
        repo = hub_repo_name(training_args.hub_model_id, output_dir)
        end.pushed_to = push_folder(output_dir, repo, training_args.hub_private_repo)
    return end
