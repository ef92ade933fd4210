"""Score a trained model on held-out dialogues: teacher-forced metrics, then generated replies against the real ones.

Both halves use the training chat format: `data.tokenize_datasets` for the teacher-forced pass (same truncation and
`loss_on`), and `generation.generate_replies` for replies (same prompt truncation).
"""

from __future__ import annotations

import logging
import math
import time

import torch
from datasets import Dataset, DatasetDict
from tqdm.auto import tqdm

from .chat_format import IGNORE_INDEX
from .data import get_collator, tokenize_datasets
from .generation import generate_replies
from .metrics import load_metric
from .pipeline import answer_replies

logger = logging.getLogger(__name__)
RESULT_KEYS = (
    "perplexity", "token_accuracy", "bleu_4", "rouge_l", "distinct_1", "distinct_2", "repetition_rate",
    "mean_reply_chars", "empty_reply_rate", "guard_rate", "num_dialogues", "num_replies", "runtime_s",
)  # fmt: skip
MAX_MEAN_NLL = 50.0  # perplexity is capped at e^50, so a diverged run reports a huge number instead of overflowing
EVAL_PREFIX = "eval_"  # the Trainer's metric_key_prefix: training saves `eval_perplexity`, medbot-eval `perplexity`


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


def token_metrics(nll: float, count: float, correct: float, prefix: str = "") -> dict[str, float]:
    """Perplexity (exp of the mean NLL per label token) and token accuracy, from the sums of
    :func:`label_token_sums`: the one place either is computed.

    Args:
        prefix: put before each key; the training recipes pass `EVAL_PREFIX`, as the Trainer names eval metrics.
    """
    return {
        f"{prefix}perplexity": math.exp(min(nll / count, MAX_MEAN_NLL)),
        f"{prefix}token_accuracy": float(correct / count),
    }


def compute_metrics(eval_pred) -> dict[str, float]:
    """The Trainer's `compute_metrics`: :func:`token_metrics` over the rows of :func:`label_token_sums` (the
    Trainer adds the `eval_` prefix itself)."""
    return token_metrics(*eval_pred.predictions.sum(0).tolist())


def unprefixed(metrics: dict, prefix: str = EVAL_PREFIX) -> dict:
    """A training run's eval metrics under the names `medbot-eval` and the model card use (`eval_perplexity` ->
    `perplexity`); keys without the prefix (`epoch`) stay as they are."""
    return {key.removeprefix(prefix): value for key, value in metrics.items()}


@torch.inference_mode()
def teacher_forced_metrics(model, tokenizer, dialogues: Dataset, data_args, batch_size: int = 16) -> dict:
    """Perplexity and token accuracy over the label tokens (doctor turns with `loss_on="answers"`)."""
    tokenized, _ = tokenize_datasets(DatasetDict(test=dialogues), tokenizer, data_args)
    rows = tokenized["test"].remove_columns("length")
    collate = get_collator(tokenizer)
    totals = torch.zeros(3, dtype=torch.float64)  # NLL, label tokens, correct argmax
    for start in tqdm(range(0, len(rows), batch_size), desc="Teacher-forced pass"):
        batch = collate([rows[i] for i in range(start, min(start + batch_size, len(rows)))])
        batch = {k: v.to(model.device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        totals += label_token_sums(logits, batch["labels"]).sum(0).cpu()
    nll, count, correct = totals.tolist()
    return {**token_metrics(nll, count, correct), "label_tokens": int(count)}


def doctor_turns(dialogues: Dataset) -> tuple[list[list[dict]], list[str]]:
    """For every doctor turn: the real history up to it, and its text (the reference)."""
    histories, references = [], []
    for messages in dialogues["messages"]:
        for i, message in enumerate(messages):
            if message["role"] == "assistant":
                histories.append(messages[:i])
                references.append(message["content"])
    return histories, references


def generation_order(histories: list[list[dict]]) -> list[int]:
    """The order :func:`generate_all` asks for the histories' replies in: by prompt length (a stable sort)."""
    return sorted(range(len(histories)), key=lambda i: sum(len(m["content"]) for m in histories[i]))


def generate_all(
    model, tokenizer, histories: list[list[dict]], batch_size: int = 16, seed: int = 0, **kwargs
) -> list[str]:
    """Replies to every history, batched by prompt length (less padding), each batch seeded from `seed`."""
    order = generation_order(histories)
    replies: list[str] = [""] * len(histories)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for number, batch in enumerate(tqdm(batches, desc="Generating replies")):
        out = generate_replies(model, tokenizer, [histories[i] for i in batch], seed=seed + number, **kwargs)
        for i, reply in zip(batch, out, strict=True):
            replies[i] = reply.text
    return replies


def generation_metrics(replies: list[str], references: list[str]) -> dict:
    """Character BLEU-4 and ROUGE-L against the references, distinct-1/2, repetition, length and empty rate."""
    bleu = load_metric("char_bleu").compute(predictions=replies, references=references)
    rouge = load_metric("char_rouge_l").compute(predictions=replies, references=references)
    distinct = load_metric("distinct").compute(predictions=replies)
    repetition = load_metric("repetition").compute(predictions=replies)
    return {
        "bleu_4": bleu["bleu_4"],
        "rouge_l": rouge["rouge_l"],
        "distinct_1": distinct["distinct_1"],
        "distinct_2": distinct["distinct_2"],
        "repetition_rate": repetition["repetition_rate"],
        "mean_reply_chars": sum(map(len, replies)) / max(len(replies), 1),
        "empty_reply_rate": sum(not r.strip() for r in replies) / max(len(replies), 1),
    }


def evaluate_model(model, tokenizer, dialogues: Dataset, data_args, eval_args, gen_overrides: dict) -> tuple:
    """Every metric of `eval_results.json` for one model; returns `(results, samples)`.

    `samples` lists the first replies beside their references, for a look by eye. `runtime_s` is the wall time of
    both passes.
    """
    start = time.perf_counter()
    results = teacher_forced_metrics(model, tokenizer, dialogues, data_args, eval_args.batch_size)
    histories, references = doctor_turns(dialogues)
    replies = generate_all(
        model, tokenizer, histories, eval_args.batch_size, eval_args.seed,
        max_seq_length=data_args.max_seq_length, max_history_len=eval_args.max_history_len, **gen_overrides,
    )  # fmt: skip
    # The one answer pipeline, as every surface runs it: scores are on the replies as shown (guarded; the triage
    # advice, a fixed text, is left out), and guard_rate is the share of replies the guard changed.
    answers = answer_replies(histories, replies)
    replies = [a.text for a in answers]
    results.update(generation_metrics(replies, references))
    results["guard_rate"] = sum(a.guard_changed for a in answers) / max(len(answers), 1)
    results.update(num_dialogues=len(dialogues), num_replies=len(replies))
    results["runtime_s"] = round(time.perf_counter() - start, 1)  # both passes, this model only
    return results, _samples(histories, references, answers)


def evaluate_retrieval(index, dialogues: Dataset) -> tuple[dict, list]:
    """The retrieval baseline, scored like a model: each doctor turn's reply is the training answer whose question
    best matches the patient's last turn (`index`: a :class:`~medbot_hf.retrieval.RetrievalIndex`), through the
    same answer pipeline as a model's reply (so `guard_rate` counts the real answers the guard would change). It has
    no perplexity or token accuracy (None); a turn with no match at all gets an empty reply. Returns `(results,
    samples)`."""
    start = time.perf_counter()
    histories, references = doctor_turns(dialogues)
    found = index.search_many([h[-1]["content"] for h in histories], 1)
    answers = answer_replies(histories, [hits[0].answer if hits else "" for hits in found])
    results = {"perplexity": None, "token_accuracy": None, **generation_metrics([a.text for a in answers], references)}
    results["guard_rate"] = sum(a.guard_changed for a in answers) / max(len(answers), 1)
    results.update(num_dialogues=len(dialogues), num_replies=len(answers))
    results["runtime_s"] = round(time.perf_counter() - start, 1)
    return results, _samples(histories, references, answers)


def _samples(histories: list[list[dict]], references: list[str], answers: list, n: int = 20) -> list[dict]:
    """The first replies beside their references, for a look by eye."""
    return [
        {"history": h[-1]["content"], "reference": r, "reply": a.text, "medbot": a.medbot()}
        for h, r, a in zip(histories[:n], references[:n], answers[:n], strict=True)
    ]


def results_table(results: dict[str, dict]) -> str:
    """A Markdown table with one column per model (and the difference when there are two)."""
    names = list(results)
    header = "| metric | " + " | ".join(names) + (" | difference |" if len(names) == 2 else " |")
    lines = [header, "| --- " * (len(names) + 1 + (len(names) == 2)) + "|"]
    for key in RESULT_KEYS:
        values = [results[n].get(key) for n in names]
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in values]
        if len(names) == 2 and all(isinstance(v, int | float) for v in values):
            diff = values[1] - values[0]
            cells.append(f"{diff:+d}" if isinstance(diff, int) else f"{diff:+.4f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
