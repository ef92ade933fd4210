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

from .data import get_collator, tokenize_datasets
from .generation import generate_replies
from .metrics import load_metric
from .training import label_token_sums

logger = logging.getLogger(__name__)
RESULT_KEYS = (
    "perplexity", "token_accuracy", "bleu_4", "rouge_l", "distinct_1", "distinct_2", "repetition_rate",
    "mean_reply_chars", "empty_reply_rate", "num_dialogues", "num_replies", "runtime_s",
)  # fmt: skip


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
    count = int(count)
    return {"perplexity": math.exp(min(nll / count, 50.0)), "token_accuracy": correct / count, "label_tokens": count}


def doctor_turns(dialogues: Dataset) -> tuple[list[list[dict]], list[str]]:
    """For every doctor turn: the real history up to it, and its text (the reference)."""
    histories, references = [], []
    for messages in dialogues["messages"]:
        for i, message in enumerate(messages):
            if message["role"] == "assistant":
                histories.append(messages[:i])
                references.append(message["content"])
    return histories, references


def generate_all(
    model, tokenizer, histories: list[list[dict]], batch_size: int = 16, seed: int = 0, **kwargs
) -> list[str]:
    """Replies to every history, batched by prompt length (less padding), each batch seeded from `seed`."""
    order = sorted(range(len(histories)), key=lambda i: sum(len(m["content"]) for m in histories[i]))
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
    results.update(generation_metrics(replies, references))
    results.update(num_dialogues=len(dialogues), num_replies=len(replies))
    results["runtime_s"] = round(time.perf_counter() - start, 1)  # both passes, this model only
    samples = [
        {"history": h[-1]["content"], "reference": r, "reply": p}
        for h, r, p in zip(histories[:20], references[:20], replies[:20], strict=True)
    ]
    return results, samples


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
