"""Choosing one reply among N sampled candidates: the one score, and the reverse (MMI) model's part of it.

:func:`candidate_score` is the whole rule. `generation.generate_replies(..., num_candidates=N)` samples the N
candidates as one batch (`generation.sample_candidates`) and keeps the best by it.
"""

from __future__ import annotations

import math

import torch

from .chat_format import IGNORE_INDEX, encode_turns
from .configs import RerankArguments
from .metrics.loops import is_looping
from .modeling import encode_texts, load_for_inference
from .safety import guard_reply


def candidate_score(log_prob: float, text: str, mmi_log_prob: float | None, weights: RerankArguments) -> float:
    """The score a candidate reply is ranked by; higher is better.

    `log_prob_weight * log_prob + mmi_weight * mmi_log_prob - loop_penalty * loops(text)
    - guard_penalty * guarded(text)`, where
    `log_prob` is the reply's mean log-probability per token under the model (its closing `[SEP]` included),
    `mmi_log_prob` the reverse model's mean log P(patient turn | reply) per token (0 without one), `loops` the
    `repetition` metric's definition (`medbot_hf.metrics.loops`) and `guarded` whether `safety.guard_reply` would
    change the text. An empty reply scores -inf: it loses to any reply with words in it.
    """
    if not text.strip():
        return -math.inf
    score = weights.log_prob_weight * log_prob
    if mmi_log_prob is not None:
        score += weights.mmi_weight * mmi_log_prob
    if is_looping(text):
        score -= weights.loop_penalty
    if guard_reply(text).changed:
        score -= weights.guard_penalty
    return score


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The log-probability of each target id under `logits` (`[..., vocab]` scores and `[...]` ids, any ids where
    nothing is scored clamped to 0): the one formula behind every reply score here."""
    return torch.log_softmax(logits.float(), -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)


def mean_token_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per row, the mean log-probability of the `targets` that are not `IGNORE_INDEX` (0 for a row with none).

    Args:
        logits: `(rows, length, vocab)` scores, position `i` predicting `targets[:, i]`.
        targets: `(rows, length)` token ids, `IGNORE_INDEX` where nothing is scored.
    """
    mask = targets != IGNORE_INDEX
    return torch.where(mask, token_log_probs(logits, targets), 0).sum(1) / mask.sum(1).clamp(min=1)


class Reranker:
    """The weights, and the reverse model when there is one (`mmi_model_name_or_path`).

    Args:
        weights: the weights of :func:`candidate_score` (the defaults of :class:`RerankArguments` when None).
        mmi_model: a GPT-2 trained with `turn_order: reversed` (e.g. recipes/medical_dialogue/config_mmi_cpu.yaml).
        mmi_tokenizer: its tokenizer.
    """

    def __init__(self, weights: RerankArguments | None = None, mmi_model=None, mmi_tokenizer=None):
        self.weights = weights or RerankArguments()
        self.mmi_model, self.mmi_tokenizer = mmi_model, mmi_tokenizer

    @classmethod
    def from_args(cls, args: RerankArguments, device: str = "auto") -> Reranker:
        """The weights of `args`, and its reverse model loaded when `mmi_model_name_or_path` is set."""
        if not args.mmi_model_name_or_path:
            return cls(args)
        return cls(args, *load_for_inference(args.mmi_model_name_or_path, device))

    @torch.inference_mode()
    def mmi_log_probs(self, questions: list[str], replies: list[str]) -> list[float] | None:
        """The reverse model's mean log P(question | reply) per token, laid out `[CLS] reply [SEP] question [SEP]` by
        the one chat format (reversed order); None without a reverse model."""
        if self.mmi_model is None:
            return None
        tok, model = self.mmi_tokenizer, self.mmi_model
        ids = encode_texts(tok, [t for pair in zip(questions, replies, strict=True) for t in pair])
        rows = [
            encode_turns(ids[i : i + 2], cls_id=tok.cls_token_id, sep_id=tok.sep_token_id,
                         max_length=model.config.n_positions, turn_order="reversed")
            for i in range(0, len(ids), 2)
        ]  # fmt: skip
        width = max(len(r["input_ids"]) for r in rows)
        pad = [width - len(r["input_ids"]) for r in rows]  # right padding
        input_ids = torch.tensor([r["input_ids"] + [tok.pad_token_id] * n for r, n in zip(rows, pad, strict=True)])
        labels = torch.tensor([r["labels"] + [IGNORE_INDEX] * n for r, n in zip(rows, pad, strict=True)])
        mask = torch.tensor([[1] * (width - n) + [0] * n for n in pad])
        targets = labels[:, 1:]  # position i predicts the id at i + 1
        scored = targets != IGNORE_INDEX
        # Only the question's positions go through the LM head (a boolean logits_to_keep): the reply's are not scored.
        keep = torch.cat([scored, scored.new_zeros(len(rows), 1)], 1).to(model.device)
        logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device),
                       logits_to_keep=keep).logits  # fmt: skip
        values = token_log_probs(logits, targets[scored].to(model.device)).cpu()
        sums = torch.zeros(len(rows)).index_add_(0, scored.nonzero()[:, 0], values)
        return (sums / scored.sum(1).clamp(min=1)).tolist()

    def best(self, question: str, texts: list[str], log_probs: list[float]) -> int:
        """The index of the best of one history's candidates under :func:`candidate_score`."""
        mmi = self.mmi_log_probs([question] * len(texts), texts) or [None] * len(texts)
        scores = [candidate_score(lp, t, m, self.weights) for lp, t, m in zip(log_probs, texts, mmi, strict=True)]
        return max(range(len(texts)), key=scores.__getitem__)
