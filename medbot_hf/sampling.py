"""The next token of every row of a decode step at once: transformers' logits processors and sampling as tensor ops
over the step's `[rows, vocab]` logits, each row with its own settings and its own generator.

`generate` runs one list of processors and one `torch.multinomial` for a batch that shares its settings; the
scheduler's rows each have their own (temperature, top-k, top-p, repetition penalty, `min_new_tokens`, suppressed
tokens), and running each row's list alone was most of a 16-row step. :func:`choose_tokens` applies each of those
processors once per step with a per-row parameter (a row without it gets the value that changes nothing: penalty 1,
temperature 1, no top-k, no top-p) and computes the very numbers the processors compute, bit for bit
(`tests/test_sampling.py`). A row whose list holds any other processor (`no_repeat_ngram_size`, `min_p`, ...) runs
its own list, as `generate` would, and is sampled with the others.

Sampling: on CPU, `torch.multinomial(probs, 1)` is `argmax(probs / q)` with `q = empty_like(probs).exponential_()`
(its fast path for one sample, the "exponential race" form of the Gumbel-max trick). Each row draws its `q` from its
own `torch.Generator` and one argmax serves the whole step, so a row draws exactly what `generate` draws after
`torch.manual_seed(seed)`: a seeded reply is the same alone, in a crowd and from `generate_replies`.
"""

from __future__ import annotations

import math

import torch
from transformers.generation.logits_process import (
    MinNewTokensLengthLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

# The processors done in one batch, in `generate`'s own order (GenerationMixin._get_logits_processor).
BATCHED = (
    RepetitionPenaltyLogitsProcessor,
    MinNewTokensLengthLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)


class RowSampler:
    """One row's sampling: its settings (read from the processors `generate` builds for it), its generator and the
    ids it has seen (prompt and reply), which the repetition penalty and `min_new_tokens` need.

    Args:
        processors: the row's logits processors, from `model._get_logits_processor(config, len(prompt))`.
        do_sample: sample (True) or take the argmax.
        prompt: the row's prompt ids.
        seed: seeds the row's own generator; a fresh random seed when None.
    """

    def __init__(self, processors: list, do_sample: bool, prompt: list[int], seed: int | None = None):
        self.processors, self.do_sample, self.ids = list(processors), do_sample, list(prompt)
        self.generator = torch.Generator()
        self.generator.manual_seed(seed) if seed is not None else self.generator.seed()
        self.penalty, self.temperature, self.top_k, self.top_p, self.keep = 1.0, 1.0, 0, 1.0, 1
        self.suppress: list[int] = []
        self.eos: list[int] = []
        self.eos_until = 0  # [SEP] is banned while the ids (prompt + reply) are fewer than this
        self.own = not self._read(self.processors)  # True: this row runs its own processor list
        self._seen: torch.Tensor | None = None  # bool [vocab]: ids in prompt + reply (made at the first step)
        self._bans: dict[bool, torch.Tensor | None] = {}

    def _read(self, processors: list) -> bool:
        """Take the settings from `processors`; False if one of them is not batched here (or out of order)."""
        kinds = [type(p) for p in processors]
        if any(k not in BATCHED for k in kinds) or kinds != sorted(set(kinds), key=BATCHED.index):
            return False
        for p in processors:
            if isinstance(p, RepetitionPenaltyLogitsProcessor):
                if p.prompt_ignore_length is not None:
                    return False
                self.penalty = p.penalty
            elif isinstance(p, MinNewTokensLengthLogitsProcessor):
                self.eos, self.eos_until = p.eos_token_id.tolist(), p.prompt_length_to_skip + p.min_new_tokens
            elif isinstance(p, SuppressTokensLogitsProcessor):
                self.suppress = p.suppress_tokens.tolist()
            elif isinstance(p, TemperatureLogitsWarper):
                self.temperature = p.temperature
            elif p.filter_value != -math.inf:  # top-k, top-p
                return False
            elif isinstance(p, TopKLogitsWarper):
                self.top_k = p.top_k
            else:
                self.top_p, self.keep = p.top_p, p.min_tokens_to_keep
        return True

    def seen(self, vocab: int) -> torch.Tensor:
        if self._seen is None:
            self._seen = torch.zeros(vocab, dtype=torch.bool)
            self._seen[[i for i in self.ids if i < vocab]] = True  # as the processor, ids beyond the logits go
        return self._seen

    def bans(self, vocab: int) -> torch.Tensor | None:
        """Tokens set to -inf at this step: the suppressed ones, and [SEP] before `min_new_tokens`."""
        young = len(self.ids) < self.eos_until
        if young not in self._bans:
            banned = self.suppress + (self.eos if young else [])
            mask = torch.zeros(vocab, dtype=torch.bool)
            mask[banned] = True
            self._bans[young] = mask if banned else None
        return self._bans[young]

    def record(self, token: int) -> None:
        self.ids.append(token)
        if self._seen is not None and token < len(self._seen):
            self._seen[token] = True


def choose_tokens(rows: list[RowSampler], logits: torch.Tensor) -> list[int]:
    """Pick and record each row's next token from the step's last-position logits `[rows, vocab]` (any device)."""
    scores = logits.to("cpu", torch.float32, copy=True)  # as `generate` copies its last-position logits
    batched = [i for i, row in enumerate(rows) if not row.own]
    if len(batched) == len(rows):
        scores = process(rows, scores)
    elif batched:
        scores[batched] = process([rows[i] for i in batched], scores[batched])
    for i, row in enumerate(rows):
        if row.own:  # as LogitsProcessorList does, without its inspect.signature per processor per call
            one = scores[i : i + 1]
            for processor in row.processors:
                one = processor(torch.tensor([row.ids]), one)
            scores[i] = one[0]
    tokens = sample(rows, scores)
    for row, token in zip(rows, tokens, strict=True):
        row.record(token)
    return tokens


def process(rows: list[RowSampler], scores: torch.Tensor) -> torch.Tensor:
    """The batched processors over `scores` `[rows, vocab]`, each with every row's own parameter."""
    vocab, inf = scores.shape[1], math.inf
    column = lambda values, dtype=torch.float32: torch.tensor(values, dtype=dtype)[:, None]  # noqa: E731
    if any(row.penalty != 1.0 for row in rows):  # x * 1.0 and x / 1.0 are x: a row without one is unchanged
        penalty = column([row.penalty for row in rows])
        penalized = torch.where(scores < 0, scores * penalty, scores / penalty)
        scores = torch.where(torch.stack([row.seen(vocab) for row in rows]), penalized, scores)
    bans = [row.bans(vocab) for row in rows]
    if any(b is not None for b in bans):
        nothing = torch.zeros(vocab, dtype=torch.bool)
        scores = scores.masked_fill(torch.stack([nothing if b is None else b for b in bans]), -inf)
    if any(row.temperature != 1.0 for row in rows):
        scores = scores / column([row.temperature for row in rows])
    top_k = [min(row.top_k, vocab) for row in rows]
    if any(top_k):
        kth = torch.topk(scores, max(top_k)).values.gather(1, column([max(k, 1) - 1 for k in top_k], torch.long))
        kth = torch.where(column(top_k, torch.long) > 0, kth, -inf)  # no top-k: nothing is below -inf
        scores = scores.masked_fill(scores < kth, -inf)
    if any(row.top_p < 1.0 for row in rows):
        ordered, order = torch.sort(scores, descending=False)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        # the processor compares with the float `1 - top_p`; a row without top-p compares with -1: nothing goes
        remove = cumulative <= column([1 - row.top_p if row.top_p < 1.0 else -1.0 for row in rows])
        remove &= torch.arange(vocab) < column([vocab - row.keep for row in rows], torch.long)
        scores = scores.masked_fill(remove.scatter(1, order, remove), -inf)
    return scores


def sample(rows: list[RowSampler], scores: torch.Tensor) -> list[int]:
    """Argmax for greedy rows; for sampling rows `torch.multinomial(softmax(scores), 1)`'s own computation, with
    each row's noise from its own generator."""
    tokens = scores.argmax(dim=-1)
    sampled = [i for i, row in enumerate(rows) if row.do_sample]
    if sampled:
        probs = torch.softmax(scores if len(sampled) == len(rows) else scores[sampled], dim=-1)
        if not bool((probs.max() < math.inf) & (probs.min() >= 0)):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        noise = torch.empty_like(probs)
        for j, i in enumerate(sampled):
            noise[j].exponential_(generator=rows[i].generator)
        tokens[sampled] = (probs / noise).argmax(dim=-1)
    return tokens.tolist()


def split_top_k_top_p(processors: list) -> tuple[list, int, float, int] | None:
    """`(the processors before them, top_k, top_p, min_tokens_to_keep)` when `processors` end with top-k (and maybe
    top-p after it), both filtering to -inf, as `generate` builds them from a config with `top_k`; None otherwise."""
    rest, top_k, top_p, keep = list(processors), 0, 1.0, 1
    if rest and isinstance(rest[-1], TopPLogitsWarper) and rest[-1].filter_value == -math.inf:
        top_p, keep = rest[-1].top_p, rest[-1].min_tokens_to_keep
        rest.pop()
    if not rest or not isinstance(rest[-1], TopKLogitsWarper) or rest[-1].filter_value != -math.inf:
        return None
    top_k = rest.pop().top_k  # the warper already holds max(top_k, min_tokens_to_keep)
    return rest, top_k, top_p, keep


def top_k_top_p_probs(scores: torch.Tensor, top_k: int, top_p: float = 1.0, keep: int = 1):
    """The distribution `TopKLogitsWarper` + `TopPLogitsWarper` + softmax give over `scores` `[rows, vocab]`, held
    on the `top_k` best ids only: `(probs, ids)`, each `[rows, top_k]`, the ids in descending order of score."""
    values, ids = scores.topk(min(top_k, scores.shape[-1]))
    probs = values.softmax(-1)
    if top_p < 1.0:  # the warper drops the low tail whose cumulative probability (ascending) is <= 1 - top_p
        tail = probs.flip(-1).cumsum(-1).flip(-1)
        drop = tail <= 1 - top_p
        drop[:, :keep] = False
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)  # the softmax over what is left
    return probs, ids


def sample_within_top_k(scores: torch.Tensor, top_k: int, top_p: float = 1.0, keep: int = 1) -> torch.Tensor:
    """One token per row of `scores` `[rows, vocab]` (the processors before top-k applied), drawn from the same
    distribution as top-k + top-p + `torch.multinomial` over the whole vocabulary (:func:`top_k_top_p_probs`), but
    sampled within the `top_k` best: on CPU, the full-vocabulary sort and noise were most of a candidate step. The
    draws are not `generate`'s (the global generator, on `top_k` columns).

    Returns:
        `[rows, 1]` token ids.
    """
    probs, ids = top_k_top_p_probs(scores, top_k, top_p, keep)
    return ids.gather(1, torch.multinomial(probs, 1))
