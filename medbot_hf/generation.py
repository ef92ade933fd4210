"""Replies from a trained model: prompts in the one chat format, `model.generate` with the KV cache, streaming and
batching. No I/O: the CLI and the server build on these functions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from transformers import (
    CompileConfig,
    DynamicCache,
    GenerationConfig,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from .chat_format import encode_messages, is_prompt, split_system, truncate_turns
from .modeling import encode_texts
from .reranking import Reranker, token_log_probs
from .sampling import RowSampler, choose_tokens, sample_within_top_k, split_top_k_top_p


def trim_history(messages: list[dict[str, str]], max_history_len: int | None) -> list[dict[str, str]]:
    """Keep the system text and the last `max_history_len` turns (the new question included), as the ancestor did.

    The kept turns start with a patient turn, since roles are positional, so one more turn may go.
    """
    system, turns = split_system(messages)
    if max_history_len is not None:
        turns = turns[-max_history_len:] if max_history_len > 0 else turns[-1:]
        if turns and turns[0]["role"] != "user":
            turns = turns[1:]
    return ([system] if system else []) + turns


def build_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], max_length: int) -> list[int]:
    """Prompt ids for the doctor's next turn: the chat format over `messages`, which end with a patient turn.

    Older turns are dropped with the same function that truncates training sequences.
    """
    if not is_prompt(messages):
        raise ValueError("messages must alternate user/assistant, starting and ending with a user turn")
    ids = encode_texts(tokenizer, [m["content"] for m in messages])
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    return encode_messages(messages, ids, cls_id=cls_id, sep_id=sep_id, max_length=max_length)["input_ids"]


def enable_compiled_decoding(model) -> None:
    """Decode with a static KV cache and a `torch.compile`d step, on any device (transformers compiles on GPUs only
    by default). The first reply pays the compilation (8 s on 2 CPU cores for 12 layers); later ones were
    2-19% faster on that CPU (benchmarks/bench_generation.py)."""
    config = CompileConfig(mode="default", dynamic=False)  # "reduce-overhead" means CUDA graphs
    config._compile_all_devices = True  # the documented switch for compiling off-GPU
    model.generation_config.cache_implementation = "static"
    model.generation_config.compile_config = config


class StopOnEvents(StoppingCriteria):
    """Stops each row of a batch once its event is set: Ctrl-C in the CLI, a client gone or out of time in the
    server. One event (for every row) or one per row."""

    def __init__(self, events: threading.Event | list[threading.Event]):
        self.events = events

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        events = self.events if isinstance(self.events, list) else [self.events] * input_ids.shape[0]
        return torch.tensor([e.is_set() for e in events], dtype=torch.bool, device=input_ids.device)


def _room(model, max_seq_length: int | None, config: GenerationConfig) -> int:
    """Ids left for the prompt once the reply's `max_new_tokens` are set aside."""
    return (max_seq_length or model.config.n_positions) - config.max_new_tokens


def question_room(model, max_seq_length: int | None = None, **overrides) -> int:
    """The most ids of a lone question a prompt holds (`[CLS]` and its `[SEP]` aside); a longer one loses its start
    (:func:`~medbot_hf.chat_format.truncate_turns`). The keyword arguments are those of :func:`generate_replies`."""
    return _room(model, max_seq_length, _config(model, overrides)) - 2


def prompt_turns(
    model,
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    *,
    max_seq_length: int | None = None,
    max_history_len: int | None = None,
    **overrides,
) -> int:
    """How many of the latest turns of `messages` (a system message aside) the prompt keeps, whole or cut, by the
    rule :func:`generate_replies` applies (:func:`trim_history`, then the truncation of :func:`build_prompt`): a
    client that keeps the history need send no more than these next time. Arguments as for :func:`generate_replies`.
    """
    system, turns = split_system(trim_history(messages, max_history_len))
    ids = encode_texts(tokenizer, [m["content"] for m in ([system] if system else []) + turns])
    system_ids, turn_ids = (ids[0], ids[1:]) if system else (None, ids)
    room = _room(model, max_seq_length, _config(model, overrides))
    return len(truncate_turns(turn_ids, room, system_ids)[1])


def _prompts(model, tokenizer, histories, max_seq_length, max_history_len, config) -> list[list[int]]:
    """Prompt ids for each history, with room left for `config.max_new_tokens`."""
    room = _room(model, max_seq_length, config)
    if room < 4:
        raise ValueError(
            f"max_new_tokens={config.max_new_tokens} leaves no room for a prompt in {room + config.max_new_tokens}"
        )
    return [build_prompt(tokenizer, trim_history(h, max_history_len), room) for h in histories]


def _inputs(model, tokenizer, histories, max_seq_length, max_history_len, config) -> dict[str, torch.Tensor]:
    """Left-padded prompt ids and attention mask for a batch of histories."""
    prompts = _prompts(model, tokenizer, histories, max_seq_length, max_history_len, config)
    width = max(map(len, prompts))
    ids = [[tokenizer.pad_token_id] * (width - len(p)) + p for p in prompts]
    mask = [[0] * (width - len(p)) + [1] * len(p) for p in prompts]
    return {
        "input_ids": torch.tensor(ids, device=model.device),
        "attention_mask": torch.tensor(mask, device=model.device),
    }


def _config(model, overrides: dict) -> GenerationConfig:
    """The model's saved `generation_config` with the given fields replaced (None means keep)."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return GenerationConfig.from_dict({**model.generation_config.to_dict(), **values})


@dataclass
class Reply:
    """One generated reply: its text, the prompt's ids (after truncation) and the ids generated for it."""

    text: str
    prompt_tokens: int
    completion_tokens: int  # the closing [SEP] included, when there is one
    finished: bool  # True when the model closed the reply with [SEP] or met a stop string; False when cut or stopped
    token_ids: list[int] = field(default_factory=list, repr=False)  # the ids generated, [SEP] included


def reply_streamer(tokenizer: PreTrainedTokenizerBase) -> TextIteratorStreamer:
    """A streamer that yields the reply's text only (no prompt, no special tokens)."""
    return TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def cut_at_stop(text: str, stop_strings) -> tuple[str, bool]:
    """`text` up to (not including) the first of `stop_strings`, and whether one was found: OpenAI's `stop` never
    appears in the reply, while transformers' `stop_strings` stop just after it."""
    cuts = [i for i in (text.find(s) for s in stop_strings or ()) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


@torch.inference_mode()
def generate_replies(
    model,
    tokenizer: PreTrainedTokenizerBase,
    histories: list[list[dict[str, str]]],
    *,
    max_seq_length: int | None = None,
    max_history_len: int | None = None,
    seed: int | None = None,
    stop_event: threading.Event | list[threading.Event] | None = None,
    streamer=None,
    num_candidates: int = 1,
    reranker: Reranker | None = None,
    **overrides,
) -> list[Reply]:
    """The doctor's next reply to each history, in one batched `generate` call (left padding, KV cache).

    With `num_candidates` N > 1, N candidates per history are sampled as one batch (:func:`sample_candidates`: the
    prompt read once, its KV cache repeated N times) and the best by :func:`medbot_hf.reranking.candidate_score` is
    kept; with `num_return_sequences` k as well, each of the k replies is the best of its own N (k x N rows). A
    streamer then gets the chosen reply in one piece, once all N are done: the first visible token waits for the
    candidates.

    Args:
        model: a GPT-2 LM whose `generation_config` stops at `[SEP]` and suppresses `[UNK]`/`[PAD]`/`[CLS]`.
        tokenizer: its tokenizer.
        histories: message lists, each ending with the patient's turn.
        max_seq_length: room for prompt plus reply; defaults to the model's `n_positions`. The prompt gets this
            minus `max_new_tokens`, and older turns are dropped to fit.
        max_history_len: keep only this many of the latest turns (the new question included).
        seed: seeds sampling, for reproducible replies.
        stop_event: generation stops early once it is set; a list gives one event per history (per batch row).
        streamer: a `transformers` streamer (one history only).
        num_candidates: candidates sampled per history; 1 (the default) samples one reply, as without reranking.
        reranker: the score's weights and reverse (MMI) model; default weights and no reverse model when None.
        **overrides: `GenerationConfig` fields such as `temperature`, `top_k`, `top_p`, `repetition_penalty`,
            `no_repeat_ngram_size`, `max_new_tokens`, `do_sample`, `num_return_sequences` (several replies per
            history, which needs sampling) and `stop_strings` (the reply ends before the first one); None keeps the
            saved value.

    Returns:
        `num_return_sequences` :class:`Reply` objects per history, in history order; the text has no special tokens,
        no stop string and no spaces between Chinese characters.
    """
    if num_candidates < 1:
        raise ValueError(f"num_candidates must be at least 1, got {num_candidates}")
    config = _config(model, overrides)
    if not config.do_sample:  # greedy decoding has one candidate only
        num_candidates = 1
    choices = config.num_return_sequences or 1
    if num_candidates > 1:  # each of the `choices` replies is the best of its own N candidates
        config.num_return_sequences = choices * num_candidates
    rows = config.num_return_sequences or 1  # generate repeats each history's row this many times, side by side
    if isinstance(stop_event, list):  # one event per history, so one per row of it
        stop_event = [event for event in stop_event for _ in range(rows)]
    inputs = _inputs(model, tokenizer, histories, max_seq_length, max_history_len, config)
    if seed is not None:
        torch.manual_seed(seed)
    stopping = StoppingCriteriaList([StopOnEvents(stop_event)] if stop_event is not None else [])
    stops = tokenizer if config.stop_strings else None  # transformers' StopStringCriteria needs the tokenizer
    prompt_lengths = inputs["attention_mask"].sum(1).repeat_interleave(rows).tolist()
    if num_candidates == 1:
        output = model.generate(
            **inputs, generation_config=config, stopping_criteria=stopping, streamer=streamer, tokenizer=stops
        )
        return _replies(tokenizer, config, output[:, inputs["input_ids"].shape[1] :], prompt_lengths)
    new, log_probs = sample_candidates(model, inputs, config, rows, stop_event, tokenizer)
    candidates = _replies(tokenizer, config, new, prompt_lengths)
    groups = [h for h in histories for _ in range(choices)]  # one group of N candidates per reply asked for
    chosen = _choose(groups, candidates, log_probs, reranker or Reranker())
    if streamer is not None:  # TextIteratorStreamer holds one row only: it gets the chosen reply, whole
        streamer.on_finalized_text(chosen[0].text, stream_end=True)
    return chosen


def _replies(tokenizer, config: GenerationConfig, new: torch.Tensor, prompt_lengths: list[int]) -> list[Reply]:
    """One :class:`Reply` per row of the generated ids `new` (the prompt cut off), given each row's prompt length."""
    texts = tokenizer.batch_decode(new, skip_special_tokens=True)
    eos = set(config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id])
    replies = []
    for text, row, prompt in zip(texts, new.tolist(), prompt_lengths, strict=True):
        # After [SEP] (or a stop) generate fills the row with [PAD], which the model itself never emits.
        used = next((i for i, t in enumerate(row) if t in eos or t == config.pad_token_id), len(row))
        closed = used < len(row) and row[used] in eos
        text, stopped = cut_at_stop(text, config.stop_strings)
        replies.append(Reply(text.strip(), prompt, used + closed, stopped or closed, row[: used + closed]))
    return replies


def _choose(histories, candidates: list[Reply], log_probs: list[float], reranker: Reranker) -> list[Reply]:
    """The best of each history's candidates (rows `i * n` to `(i + 1) * n`), given each one's mean log-probability
    under the model."""
    n = len(candidates) // len(histories)
    chosen = []
    for i, history in enumerate(histories):
        rows = candidates[i * n : (i + 1) * n]
        best = reranker.best(history[-1]["content"], [c.text for c in rows], log_probs[i * n : (i + 1) * n])
        chosen.append(rows[best])
    return chosen


@torch.inference_mode()
def sample_candidates(
    model, inputs: dict[str, torch.Tensor], config: GenerationConfig, rows: int, stop_event=None, tokenizer=None
) -> tuple[torch.Tensor, list[float]]:
    """`rows` sampled replies to each prompt of `inputs` (left-padded ids and mask), decoded as one batch, and each
    reply's mean log-probability per token under the model (from the raw logits, before temperature and top-k; the
    closing `[SEP]` included).

    The rules are `generate`'s (the same `GenerationConfig`, the logits processors it builds, the stop at `[SEP]`,
    `max_new_tokens`, `stop_strings` and `stop_event`), but the decoding is cheaper for many samples of one prompt:
    the prompt is read once and its KV cache repeated for its rows, a row leaves the batch once it has ended, and a
    top-k config samples within the top k (:func:`medbot_hf.sampling.sample_within_top_k`); what that saves is in
    the README ("Reranked replies", `benchmarks/bench_rerank.py`). The draws are not `generate`'s: with N = 1,
    `generate_replies` calls `generate` itself.

    Returns:
        The generated ids `[prompts * rows, longest]`, `[PAD]` after a row's end, and the mean log-probabilities.
    """
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    model._prepare_special_tokens(config, kwargs_has_attention_mask=True, device=ids.device)  # generate's own step
    processors = model._get_logits_processor(config, input_ids_seq_length=ids.shape[1], device=ids.device)
    split = split_top_k_top_p(processors) if config.do_sample else None
    if split is not None:
        processors = split[0]
    eos = set(config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id])
    stops = tuple(config.stop_strings or ())
    events = stop_event if isinstance(stop_event, list) else [stop_event] * (len(ids) * rows)
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)  # as generate's prepare_inputs_for_generation
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, logits_to_keep=1)
    cache.batch_repeat_interleave(rows)
    logits = out.logits[:, -1].float().repeat_interleave(rows, 0)
    seen, mask, positions = (t.repeat_interleave(rows, 0) for t in (ids, mask, positions[:, -1:]))
    alive = list(range(len(seen)))  # the original row of each batch row
    tokens: list[list[int]] = [[] for _ in alive]
    sums = [0.0] * len(alive)
    for step in range(config.max_new_tokens):
        scores = logits.clone()
        for processor in processors:  # as LogitsProcessorList does, without its inspect.signature per call
            scores = processor(seen, scores)
        if split is not None:
            chosen = sample_within_top_k(scores, *split[1:])
        elif config.do_sample:
            chosen = torch.multinomial(scores.softmax(-1), 1)
        else:
            chosen = scores.argmax(-1, keepdim=True)
        raw = token_log_probs(logits, chosen.squeeze(1)).tolist()
        keep = []
        for j, (row, token) in enumerate(zip(alive, chosen.squeeze(1).tolist(), strict=True)):
            tokens[row].append(token)
            sums[row] += raw[j]
            ended = token in eos or (events[row] is not None and events[row].is_set())
            if stops and not ended:
                ended = cut_at_stop(tokenizer.decode(tokens[row], skip_special_tokens=True), stops)[1]
            if not ended:
                keep.append(j)
        if not keep or step == config.max_new_tokens - 1:
            break
        if len(keep) < len(alive):
            index = torch.tensor(keep, device=ids.device)
            cache.batch_select_indices(index)
            alive = [alive[j] for j in keep]
            seen, mask, positions, chosen = seen[index], mask[index], positions[index], chosen[index]
        seen, positions = torch.cat([seen, chosen], 1), positions + 1
        mask = torch.cat([mask, mask.new_ones(len(alive), 1)], 1)
        out = model(input_ids=chosen, attention_mask=mask, position_ids=positions, cache=cache)
        logits = out.logits[:, -1].float()
    width = max(map(len, tokens))
    new = torch.tensor([t + [config.pad_token_id] * (width - len(t)) for t in tokens], device=ids.device)
    return new, [total / len(t) for total, t in zip(sums, tokens, strict=True)]


def generate_reply(model, tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], **kwargs) -> str:
    """The text of the doctor's next reply to one history; the keyword arguments are those of
    :func:`generate_replies`."""
    return generate_replies(model, tokenizer, [messages], **kwargs)[0].text


def stream_reply(model, tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], **kwargs) -> Iterator[str]:
    """Yield the reply's text as it is generated; the keyword arguments are those of :func:`generate_replies`.

    Generation runs in a worker thread. Closing the iterator early (or setting `stop_event`) stops it.
    """
    stop_event = kwargs.pop("stop_event", None) or threading.Event()
    streamer = reply_streamer(tokenizer)
    errors: list[BaseException] = []

    def work():
        try:
            generate_replies(model, tokenizer, [messages], stop_event=stop_event, streamer=streamer, **kwargs)
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)
            streamer.end()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        for text in streamer:
            if text:
                yield text
    finally:
        stop_event.set()
        thread.join()
    if errors:
        raise errors[0]


class DecodeRow:
    """One reply generated token by token, outside `generate`: for a scheduler that runs many replies in one batch.

    It takes the same arguments as :func:`generate_replies` (one history) and keeps `generate`'s rules: the same
    prompt, the logits processors `generate` builds from the same `GenerationConfig` (temperature, top-k/p,
    repetition penalty, suppressed tokens, ...), multinomial sampling or argmax, and the stop at `[SEP]` or
    `max_new_tokens`. :func:`choose_next` picks the next token of many rows at once
    (:func:`medbot_hf.sampling.choose_tokens`); each row draws from its own `torch.Generator`, so a seeded reply
    does not depend on the rows beside it, and equals `generate_replies(..., seed=seed)` for that history alone.
    """

    def __init__(
        self, model, tokenizer, messages, *, max_seq_length=None, max_history_len=None, seed=None, **overrides
    ):
        self.tokenizer, self.config = tokenizer, _config(model, overrides)
        (self.prompt,) = _prompts(model, tokenizer, [messages], max_seq_length, max_history_len, self.config)
        # generate's own two steps (private API): eos/pad tensors on the config, then the processor list from it
        model._prepare_special_tokens(self.config, kwargs_has_attention_mask=True, device=torch.device("cpu"))
        processors = model._get_logits_processor(self.config, input_ids_seq_length=len(self.prompt), device="cpu")
        self.sampler = RowSampler(processors, self.config.do_sample, self.prompt, seed)
        eos = self.config.eos_token_id
        self.eos = set(eos if isinstance(eos, list) else [eos])
        self.tokens: list[int] = []
        self.finished = False  # closed by [SEP] or a stop string
        self.stops = tuple(self.config.stop_strings or ())
        self._text, self._prefix, self._read = "", 0, 0  # the text so far, decoded a few ids at a time
        self._final: str | None = None

    @property
    def done(self) -> bool:
        return self.finished or len(self.tokens) >= self.config.max_new_tokens

    def choose(self, logits: torch.Tensor) -> int:
        """Pick the next token from this row's last-position logits (1-D, on any device) and record it."""
        choose_next([self], logits.unsqueeze(0))
        return self.tokens[-1]

    def add(self, token: int) -> None:
        """Record the chosen token: the reply's ids and text, and whether it has ended."""
        self.tokens.append(token)
        self._extend_text()
        self.finished = token in self.eos or bool(self.stops) and cut_at_stop(self._text, self.stops)[1]

    def _extend_text(self) -> None:
        """Decode only the newest ids, with the offsets of TGI and vLLM: from the id before those already read, so a
        decoder that joins ids (spaces between ASCII words, `##` pieces) sees the left neighbour, and nothing while
        the text ends in an incomplete character."""
        decode = lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
        before, after = decode(self.tokens[self._prefix : self._read]), decode(self.tokens[self._prefix :])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._text += after[len(before) :]
            self._prefix, self._read = self._read, len(self.tokens)

    def text(self) -> str:
        """The reply so far, as `generate_replies` decodes it (before its final strip), cut before a stop string;
        while it runs, a tail that could start a stop string is held back. Once done, the whole reply is decoded
        again in one call, exactly as `generate_replies` does."""
        if self.done:
            if self._final is None:
                decoded = self.tokenizer.decode(self.tokens, skip_special_tokens=True)
                self._final = cut_at_stop(decoded, self.stops)[0]
            return self._final
        held = max(map(len, self.stops), default=1) - 1
        text = cut_at_stop(self._text, self.stops)[0]
        return text if not held else text[: max(0, len(text) - held)]

    def reply(self) -> Reply:
        return Reply(self.text().strip(), len(self.prompt), len(self.tokens), self.finished, list(self.tokens))


def choose_next(rows: list[DecodeRow], logits: torch.Tensor) -> None:
    """Pick and record the next token of every row from one step's last-position logits `[rows, vocab]`, in one
    batch (:func:`medbot_hf.sampling.choose_tokens`)."""
    for row, token in zip(rows, choose_tokens([row.sampler for row in rows], logits), strict=True):
        row.add(token)
