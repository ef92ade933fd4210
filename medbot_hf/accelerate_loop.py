"""The explicit training loop behind `recipes/finetune_accelerate.py`, on `accelerate`.

A step's loss is the mean over every label token of its micro-batches on every process (the Trainer's
`num_items_in_batch`), so 2 processes x batch 4 train like 1 process x batch 8 or batch 4 x 2 accumulation steps.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType, GradientAccumulationPlugin, TorchDynamoPlugin
from torch.distributed.tensor import DTensor
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
from tqdm.auto import tqdm
from transformers import DefaultFlowCallback, Trainer, TrainerControl, TrainerState, get_scheduler
from transformers.trainer_pt_utils import LengthGroupedSampler, get_parameter_names

from .chat_format import IGNORE_INDEX
from .checkpoints import LOOP_STATE_NAME, mark_checkpoint_complete, rotate_checkpoints
from .data import get_collator
from .evaluation import EVAL_PREFIX, label_token_sums, token_metrics
from .training import NonFiniteLossError, nonfinite_message, noting_step

logger = logging.getLogger(__name__)
LOSS_LOG = "loss_log.jsonl"  # one line per optimizer step: step, loss, grad_norm, learning_rate, skipped
NO_DECAY = ["bias", "layernorm", "rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]  # as the Trainer's


@dataclass
class LoopState:
    """Where a run is: with accelerate's own state, all a checkpoint needs to go on exactly."""

    global_step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0  # micro-batches each process has taken from `epoch`
    num_processes: int = 1
    nonfinite_skipped: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    best_checkpoint: str | None = None  # a folder name in output_dir
    log_history: list[dict] = field(default_factory=list)


@dataclass
class Run:
    """What the loop works on, prepared by `accelerate`; `generator` orders the train set (seed + epoch)."""

    accelerator: Accelerator
    args: object  # MedbotTrainingArguments
    model: torch.nn.Module
    tokenizer: object
    optimizer: torch.optim.Optimizer
    scheduler: object
    train_loader: DataLoader
    eval_loader: DataLoader
    generator: torch.Generator
    max_steps: int
    state: LoopState


def make_accelerator(args) -> Accelerator:
    """The loop's `Accelerator`: `--bf16`/`--fp16` mixed precision, and `--torch_compile` (with its backend and
    mode) as the Trainer passes it. Without a GPU, `cpu=True` makes DDP ranks one gloo group. Each step's
    micro-batches are fetched together to count their tokens, so accumulation counts steps rather than watching for
    the dataloader's end."""
    return Accelerator(
        gradient_accumulation_plugin=GradientAccumulationPlugin(
            num_steps=args.gradient_accumulation_steps, sync_with_dataloader=False
        ),
        mixed_precision="bf16" if args.bf16 else "fp16" if args.fp16 else "no",
        cpu=args.use_cpu or not torch.cuda.is_available(),
        dynamo_plugin=TorchDynamoPlugin(backend=args.torch_compile_backend, mode=args.torch_compile_mode),
    )


def get_dataloaders(tokenized, tokenizer, args, collate_fn=None) -> tuple[DataLoader, DataLoader, torch.Generator]:
    """Train and eval loaders; `train_sampling_strategy` orders the train set as it does for the Trainer.
    `collate_fn` defaults to padded dialogues (`data.get_collator`); packed rows need `data.training_collator`."""
    columns = [c for c in ("input_ids", "labels", "position_ids") if c in tokenized["train"].column_names]
    train, valid = (tokenized[split].select_columns(columns) for split in ("train", "validation"))
    generator, strategy = torch.Generator(), args.train_sampling_strategy
    if strategy == "group_by_length":  # megabatches sized as the Trainer sizes them
        batch = args.per_device_train_batch_size * args.gradient_accumulation_steps
        sampler = LengthGroupedSampler(batch, lengths=list(tokenized["train"]["length"]), generator=generator)
    elif strategy in ("random", "sequential"):
        sampler = RandomSampler(train, generator=generator) if strategy == "random" else SequentialSampler(train)
    else:
        raise ValueError(f"--train_sampling_strategy {strategy}: use random, sequential or group_by_length")
    common = {"collate_fn": collate_fn or get_collator(tokenizer), "num_workers": args.dataloader_num_workers}
    # Its own generator seeds the workers, so starting an epoch never draws from the global RNG that dropout uses:
    # a resumed run replays the same dropout masks.
    train_loader = DataLoader(
        train, batch_size=args.per_device_train_batch_size, sampler=sampler, drop_last=args.dataloader_drop_last,
        generator=torch.Generator().manual_seed(args.seed), **common,
    )  # fmt: skip
    return train_loader, DataLoader(valid, batch_size=args.per_device_eval_batch_size, **common), generator


def build_run(accelerator: Accelerator, model, tokenizer, tokenized, args, collate_fn=None) -> Run:
    """Loaders, optimizer and schedule for `args`, prepared in one call (DeepSpeed reads the batch size there)."""
    train_loader, eval_loader, generator = get_dataloaders(tokenized, tokenizer, args, collate_fn)
    batches, processes = len(train_loader), accelerator.num_processes  # each process takes every n-th batch
    per_process = batches // processes if args.dataloader_drop_last else math.ceil(batches / processes)
    if per_process == 0:  # else the loop would wait forever for a first step
        raise ValueError(f"{len(train_loader.dataset)} train dialogues fill no batch on each of {processes} processes")
    steps_per_epoch = math.ceil(per_process / args.gradient_accumulation_steps)
    max_steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
    # The optimizer `--optim` names (fused AdamW by default), without weight decay on biases and LayerNorms.
    decay = set(get_parameter_names(model, [torch.nn.LayerNorm], NO_DECAY))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in params if n in decay], "weight_decay": args.weight_decay},
        {"params": [p for n, p in params if n not in decay], "weight_decay": 0.0},
    ]
    optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    optimizer = optimizer_cls(groups, **optimizer_kwargs)
    # The prepared scheduler steps once per process at each optimizer step (DeepSpeed's engine steps it once), so
    # the schedule is laid out in those units, as run_clm_no_trainer does since transformers#24088.
    units = 1 if accelerator.distributed_type == DistributedType.DEEPSPEED else processes
    scheduler = get_scheduler(
        args.lr_scheduler_type, optimizer, num_warmup_steps=args.get_warmup_steps(max_steps) * units,
        num_training_steps=max_steps * units, scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )  # fmt: skip
    prepared = accelerator.prepare(model, optimizer, train_loader, eval_loader, scheduler)
    logger.info("%d optimizer steps, %d an epoch, %d process(es)", max_steps, steps_per_epoch, processes)
    model, optimizer, train_loader, eval_loader, scheduler = prepared
    return Run(accelerator, args, model, tokenizer, optimizer, scheduler, train_loader, eval_loader, generator,
               max_steps, LoopState(num_processes=processes))  # fmt: skip


def weights_finite(run: Run) -> bool:
    """Whether every parameter is finite on every process (FSDP's shards where they live; ZeRO-3 hides its own)."""
    bad = sum((~torch.isfinite(p.to_local() if isinstance(p, DTensor) else p)).sum() for p in run.model.parameters())
    return run.accelerator.reduce(bad, "sum").item() == 0


def train_step(run: Run, window: list[dict]) -> dict:
    """One optimizer step over a window of micro-batches (`gradient_accumulation_steps`, fewer at an epoch's end);
    returns its record: `loss` (the mean over its label tokens on all processes), `grad_norm`, `learning_rate`,
    `skipped` (a non-finite step under `--nonfinite_loss skip`)."""
    acc = run.accelerator
    n_items = acc.reduce(sum((batch["labels"][:, 1:] != IGNORE_INDEX).sum() for batch in window), "sum")
    # `accumulate` syncs after, and `backward` divides by, the window's size: a short window still ends in one step.
    acc.gradient_accumulation_steps, acc.step = len(window), 0
    loss_sum = torch.zeros((), device=acc.device)
    for batch in window:
        with acc.accumulate(run.model):
            loss = run.model(**batch, num_items_in_batch=n_items).loss  # this batch's token losses / n_items
            loss_sum += loss.detach()
            acc.backward(loss * len(window) * acc.num_processes)  # undo backward's / window and DDP's / processes
            if acc.sync_gradients:
                record = _update(run, acc.reduce(loss_sum, "sum"))
    return record


def _update(run: Run, loss: torch.Tensor) -> dict:
    """Clip, check and apply a step once all its gradients are in; every process comes to the same decision."""
    acc, args, state = run.accelerator, run.args, run.state
    norm = acc.clip_grad_norm_(run.model.parameters(), args.max_grad_norm) if args.max_grad_norm > 0 else None
    loss, norm, step = loss.item(), None if norm is None else float(norm), state.global_step + 1
    # Under fp16 an inf norm is an overflow, which the gradient scaler skips by itself.
    finite = math.isfinite(loss) and (norm is None or acc.scaler is not None or math.isfinite(norm))
    if not finite and args.nonfinite_loss == "stop":  # name the loss if it is the culprit, else the gradient norm
        what = f"gradient norm ({norm})" if math.isfinite(loss) else f"loss ({loss})"
        raise NonFiniteLossError(nonfinite_message(step, what, args.output_dir, "accelerate"))
    if finite:
        run.optimizer.step()
    else:
        state.nonfinite_skipped += 1
        logger.warning("Step %d: non-finite loss or gradient; skipped (%d so far)", step, state.nonfinite_skipped)
    learning_rate = run.scheduler.get_last_lr()[0]
    run.scheduler.step()  # a skipped step still counts toward max_steps, so the schedule moves on too
    run.optimizer.zero_grad()
    return dict(step=step, loss=loss, grad_norm=norm, learning_rate=learning_rate, skipped=not finite)


@torch.no_grad()
def evaluate(run: Run) -> dict:
    """Eval loss (the mean NLL over all label tokens), perplexity and token accuracy, over all processes."""
    acc, model, start = run.accelerator, run.model.eval(), time.perf_counter()
    totals = torch.zeros(3, dtype=torch.float64, device=acc.device)  # NLL, label tokens, correct argmax
    for batch in run.eval_loader:
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits  # padded, or packed rows
        totals += acc.gather_for_metrics(label_token_sums(logits, batch["labels"])).sum(0)  # drops padding duplicates
    model.train()
    nll, count, correct = totals.tolist()
    return {
        "eval_loss": nll / count,
        **token_metrics(nll, count, correct, prefix=EVAL_PREFIX),
        "eval_runtime": round(time.perf_counter() - start, 3),
    }


def _log(run: Run, entry: dict) -> None:
    run.state.log_history.append(entry)  # (`setup_logging` shows INFO lines on the main process only)
    logger.info(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in entry.items()}))


def evaluate_and_track(run: Run, epoch: float) -> None:
    """Evaluate, log, and note a new best; a non-finite metric or model is never taken as the best."""
    args, state, metrics = run.args, run.state, evaluate(run)
    _log(run, {**metrics, "epoch": epoch, "step": state.global_step})
    name, best = args.metric_for_best_model or "loss", state.best_metric
    value = metrics[name if name.startswith(EVAL_PREFIX) else f"{EVAL_PREFIX}{name}"]
    if math.isfinite(value) and (best is None or (value > best if args.greater_is_better else value < best)):
        if weights_finite(run):
            state.best_metric, state.best_step = value, state.global_step
        else:
            logger.warning("Step %d: the weights hold inf/NaN, so this eval is not kept as best", state.global_step)


def save_checkpoint(run: Run) -> None:
    """`save_state` into `checkpoint-N.tmp` (every process: its RNG state, and its shards under FSDP/DeepSpeed);
    then the main process adds the tokenizer and `loop_state.json`, renames it `checkpoint-N` and rotates."""
    acc, args, state = run.accelerator, run.args, run.state
    name = f"checkpoint-{state.global_step}"
    final, tmp = os.path.join(args.output_dir, name), os.path.join(args.output_dir, name + ".tmp")
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)  # left by a killed run
    acc.wait_for_everyone()
    acc.save_state(tmp)
    state.best_checkpoint = name if state.best_step == state.global_step else state.best_checkpoint
    acc.wait_for_everyone()
    if acc.is_main_process:
        run.tokenizer.save_pretrained(tmp)  # a resume tokenizes with exactly these ids
        mark_checkpoint_complete(tmp, asdict(state))
        shutil.rmtree(final, ignore_errors=True)  # the same step again, after resuming from an older checkpoint
        os.replace(tmp, final)
        rotate_checkpoints(args.output_dir, args.save_total_limit, keep=state.best_checkpoint)
    acc.wait_for_everyone()


def load_checkpoint(run: Run, path: str) -> None:
    """Go on from `path`: accelerate's state (weights, optimizer, schedule, RNG) and the loop's position."""
    saved = {k: v for k, v in json.loads(Path(path, LOOP_STATE_NAME).read_text()).items() if k != "files"}
    if saved["num_processes"] != run.accelerator.num_processes:
        raise ValueError(f"{path} was written by {saved['num_processes']} processes; resume with as many")
    run.accelerator.load_state(path)
    run.state = LoopState(**saved)
    log = Path(run.args.output_dir, LOSS_LOG)
    if run.accelerator.is_main_process and log.exists():  # forget the steps that will be trained again
        lines = log.read_text().splitlines(keepends=True)
        log.write_text("".join(line for line in lines if json.loads(line)["step"] <= run.state.global_step))


def _on_step_end(run: Run, pending: list[dict], epoch: float) -> None:
    """Append the step to the loss log, then log, evaluate and save when the Trainer would (its own flow rules)."""
    acc, args, state = run.accelerator, run.args, run.state
    if acc.is_main_process:
        with open(os.path.join(args.output_dir, LOSS_LOG), "a", encoding="utf-8") as f:
            f.write(json.dumps(pending[-1]) + "\n")
    flow = TrainerState(global_step=state.global_step, max_steps=run.max_steps, epoch=epoch)
    flow.compute_steps(args, run.max_steps)  # ratios below 1 become steps
    control = DefaultFlowCallback().on_step_end(args, flow, TrainerControl())
    if epoch.is_integer() or state.global_step == run.max_steps:  # the Trainer ends an epoch early at max_steps
        control = DefaultFlowCallback().on_epoch_end(args, flow, control)
    if control.should_log:
        losses, last = [r["loss"] for r in pending if not r["skipped"]] or [float("nan")], pending[-1]
        _log(run, {"loss": sum(losses) / len(losses), "grad_norm": last["grad_norm"],
                   "learning_rate": last["learning_rate"], "epoch": epoch, "step": state.global_step})  # fmt: skip
        pending.clear()
    if control.should_evaluate:
        evaluate_and_track(run, epoch)
    if control.should_save or (args.save_strategy == "best" and state.best_step == state.global_step):
        save_checkpoint(run)


def train(run: Run) -> dict:
    """Train from `run.state` to `run.max_steps`, logging, evaluating and saving on the recipe's schedule; returns
    Trainer-style train metrics plus `nonfinite_skipped`. Raises `NonFiniteLossError` under `--nonfinite_loss stop`."""
    acc, args, state = run.accelerator, run.args, run.state
    first, start, pending, losses = state.global_step, time.perf_counter(), [], []
    accumulation = args.gradient_accumulation_steps
    if first == 0 and args.eval_on_start and args.eval_strategy != "no":
        evaluate_and_track(run, 0.0)
    run.model.train()
    bar = tqdm(total=run.max_steps, initial=first, disable=args.disable_tqdm or not acc.is_local_main_process)
    with bar, noting_step(lambda: state.global_step):  # an interrupt names the step it reached
        while state.global_step < run.max_steps:
            run.generator.manual_seed(args.seed + state.epoch)  # this epoch's order, on every process and resume
            batches = iter(acc.skip_first_batches(run.train_loader, state.batches_in_epoch))  # > 0 after a resume
            while state.global_step < run.max_steps and (window := list(itertools.islice(batches, accumulation))):
                pending.append(record := train_step(run, window))
                losses += [] if record["skipped"] else [record["loss"]]
                state.global_step, state.batches_in_epoch = state.global_step + 1, state.batches_in_epoch + len(window)
                epoch = state.epoch + state.batches_in_epoch / len(run.train_loader)
                if epoch == state.epoch + 1:  # the epoch's last step
                    state.epoch, state.batches_in_epoch = state.epoch + 1, 0
                _on_step_end(run, pending, epoch)
                bar.update()
    runtime, steps = time.perf_counter() - start, state.global_step - first
    samples = steps * args.per_device_train_batch_size * accumulation * acc.num_processes
    metrics = {
        "epoch": state.epoch + state.batches_in_epoch / len(run.train_loader),
        "train_loss": sum(losses) / max(len(losses), 1), "train_runtime": round(runtime, 4),
        "train_samples_per_second": round(samples / runtime, 3), "train_steps_per_second": round(steps / runtime, 3),
        "nonfinite_skipped": state.nonfinite_skipped,
    }  # fmt: skip
    _log(run, {**metrics, "step": state.global_step})
    return metrics


def save_final_folder(run: Run, train_metrics: dict) -> dict:
    """Load the best checkpoint (with `load_best_model_at_end`), evaluate, and save what the Trainer recipe saves:
    weights, configs, tokenizer, `*_results.json`, `trainer_state.json`. On every process: FSDP and ZeRO-3 gather
    the weights collectively."""
    acc, args, state = run.accelerator, run.args, run.state
    if args.load_best_model_at_end and state.best_checkpoint:
        logger.info("Loading the best checkpoint, %s (%s)", state.best_checkpoint, state.best_metric)
        acc.load_state(os.path.join(args.output_dir, state.best_checkpoint))
    if not weights_finite(run):
        raise NonFiniteLossError(f"the final weights hold inf or NaN, so none were saved to {args.output_dir}")
    eval_metrics = {**evaluate(run), "epoch": train_metrics["epoch"]}
    state.log_history.append({**eval_metrics, "step": state.global_step})
    logger.info("Final evaluation: %s", json.dumps(eval_metrics))
    # Under --torch_compile the state dict comes back with the compiled wrapper's `_orig_mod.` prefix on every key.
    model = acc.unwrap_model(run.model, keep_torch_compile=False)
    state_dict = acc.get_state_dict(run.model)  # None on ZeRO-3's other ranks
    state_dict = state_dict and {k.removeprefix("_orig_mod."): v for k, v in state_dict.items()}
    model.save_pretrained(args.output_dir, is_main_process=acc.is_main_process, state_dict=state_dict)
    if acc.is_main_process:
        run.tokenizer.save_pretrained(args.output_dir)
        torch.save(args, os.path.join(args.output_dir, "training_args.bin"))
        results = {"train": train_metrics, "eval": eval_metrics, "all": {**train_metrics, **eval_metrics}}
        for split, values in results.items():
            with open(os.path.join(args.output_dir, f"{split}_results.json"), "w", encoding="utf-8") as f:
                json.dump(values, f, indent=4, sort_keys=True)
        best = os.path.join(args.output_dir, state.best_checkpoint) if state.best_checkpoint else None
        TrainerState(
            epoch=train_metrics["epoch"], global_step=state.global_step, max_steps=run.max_steps,
            log_history=state.log_history, best_metric=state.best_metric, best_global_step=state.best_step,
            best_model_checkpoint=best,
        ).save_to_json(os.path.join(args.output_dir, "trainer_state.json"))  # fmt: skip
    return eval_metrics
