"""Continuous batching: one scheduler thread owns the model and runs every reply in one batch over the KV cache.

Between two decode steps the scheduler admits waiting requests (their prompts prefilled together, in one forward
pass), then appends one token to every running row in one forward pass (every row's token picked in one batch of
tensor ops, :mod:`medbot_hf.sampling`), sends each row's new text to its own client, and retires the rows that hit
`[SEP]`, `max_new_tokens`, a cancel (the client left) or their deadline, without waiting for the others. Rows are
left-padded in one `DynamicCache`; each gets its own `position_ids`, since GPT-2's position embeddings are absolute.
What to generate (prompt, sampling settings, stop) is :class:`~medbot_hf.generation.DecodeRow`'s business: each row
samples with its own settings and its own generator.

    scheduler = Scheduler(model, tokenizer)
    request = scheduler.submit(messages, {"temperature": 0.7, "seed": 1})
    async for piece in request.stream(): ...  # or `for piece in request` from a thread
    request.reply, request.finish_reason      # "stop", "length", "cancelled", "timeout" or "error"

A request for several replies (`num_return_sequences` > 1, OpenAI's `n`) or for the best of several candidates
(`num_candidates` > 1) is answered by one `generate_replies` call run by the scheduler between two steps (the running
rows wait for it); its text comes whole, once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator

import torch
from transformers import DynamicCache

from .configs import MAX_BATCH_SIZE, MAX_QUEUE, REQUEST_TIMEOUT_S
from .generation import DecodeRow, Reply, choose_next, generate_replies

logger = logging.getLogger(__name__)
FINISH_REASONS = ("stop", "length", "cancelled", "timeout", "error")
_END = object()


class QueueFull(RuntimeError):
    """The queue is full: the server answers 503 with Retry-After."""


class Request:
    """One submitted reply: its text pieces as they come, then `reply` and `finish_reason`.

    Created by :meth:`Scheduler.submit`. When submitted from an event loop, read it with `async for piece in
    request.stream()`; from a thread, with `for piece in request`. `cancel()` frees its row at the next step.
    """

    def __init__(self, row: DecodeRow | None, deadline: float, messages: list[dict] | None = None, params=None):
        self.row, self.deadline = row, deadline
        self.messages, self.params = messages, params  # for a request answered by `generate_replies` (row None)
        self.replies: list[Reply] = []
        self.finish_reason: str | None = None
        self.error: BaseException | None = None
        self.sent = ""  # text already sent
        self.submitted = time.monotonic()
        self.first_token_s: float | None = None  # from submit to the first token chosen (or the whole replies)
        self.cancelled = threading.Event()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            self._queue: asyncio.Queue | queue.SimpleQueue = asyncio.Queue()
        except RuntimeError:
            self._loop, self._queue = None, queue.SimpleQueue()

    def cancel(self) -> None:
        self.cancelled.set()

    def _put(self, item) -> None:  # scheduler thread
        if self._loop is None:
            self._queue.put(item)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    @property
    def reply(self) -> Reply | None:
        """The (first) reply, once the request has ended."""
        return self.replies[0] if self.replies else None

    def _finish(self, reason: str, error: BaseException | None = None, replies: list[Reply] | None = None) -> None:
        self.finish_reason, self.error = reason, error
        self.replies = replies or ([self.row.reply()] if self.row is not None else [])
        self._put(_END)

    async def stream(self) -> AsyncIterator[str]:
        """The reply's text pieces; ends when the row retires (raises the scheduler's error, if it failed)."""
        while (item := await self._queue.get()) is not _END:
            yield item
        if self.error is not None:
            raise self.error

    async def wait(self) -> list[Reply]:
        """The whole replies (one unless `num_return_sequences` asked for more), once the request has ended."""
        async for _ in self.stream():
            pass
        return self.replies

    def __iter__(self) -> Iterator[str]:
        while (item := self._queue.get()) is not _END:
            yield item
        if self.error is not None:
            raise self.error


class Scheduler:
    """Continuous batching over one model, on one worker thread.

    Args:
        model: the GPT-2 LM; only the worker thread touches it once the scheduler runs.
        tokenizer: its tokenizer.
        max_batch_size: most rows decoding together (1 answers one request at a time).
        max_queue: most requests waiting for a row; beyond it `submit` raises :class:`QueueFull`.
        max_seq_length: room for prompt plus reply (default: the model's `n_positions`).
        request_timeout_s: a request still running this long after it was submitted retires with "timeout".
    """

    def __init__(
        self,
        model,
        tokenizer,
        max_batch_size=MAX_BATCH_SIZE,
        max_queue=MAX_QUEUE,
        max_seq_length=None,
        request_timeout_s=REQUEST_TIMEOUT_S,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch_size, self.max_queue = max_batch_size, max_queue
        self.max_seq_length, self.request_timeout_s = max_seq_length, request_timeout_s
        self.waiting: collections.deque[Request] = collections.deque()
        self.rows: list[Request] = []  # running, in cache order
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None  # [rows, cache length]: 0 over each row's left padding
        self.steps = 0
        self.finished = dict.fromkeys(FINISH_REASONS, 0)
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="medbot-scheduler", daemon=True)
        self._thread.start()

    def submit(self, messages: list[dict[str, str]], params: dict, timeout_s: float | None = None) -> Request:
        """Queue a reply to `messages` with `params` (`generate_replies` keyword arguments: sampling settings, `seed`,
        `max_new_tokens`, `max_history_len`). Raises :class:`QueueFull`, or `ValueError` for a prompt that cannot fit.
        """
        deadline = time.monotonic() + (timeout_s or self.request_timeout_s)
        if params.get("num_return_sequences", 1) > 1 or params.get("num_candidates", 1) > 1:
            request = Request(None, deadline, messages, params)
        else:
            row = DecodeRow(self.model, self.tokenizer, messages, max_seq_length=self.max_seq_length, **params)
            request = Request(row, deadline)
        with self._wake:
            if len(self.waiting) >= self.max_queue:
                raise QueueFull(f"{self.max_queue} requests are already waiting")
            self.waiting.append(request)
            self._wake.notify()
        return request

    def stats(self) -> dict:
        return {"queued": len(self.waiting), "running": len(self.rows), "steps": self.steps, "finished": self.finished}

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self.waiting and not self.rows:
                    self._wake.wait()
            try:
                with torch.inference_mode():
                    self._admit()
                    self._retire()  # a reply may end at its first token
                    if self.rows:
                        self._step()
                        self._retire()
            except Exception as e:  # reported to every running request; the scheduler lives on
                logger.exception("Decode step failed; failing %d running requests", len(self.rows))
                for request in self.rows:
                    self._count(request, "error", e)
                self.rows, self.cache, self.mask = [], None, None

    def _count(self, request: Request, reason: str, error: BaseException | None = None, replies=None) -> None:
        self.finished[reason] += 1
        request._finish(reason, error, replies)

    def _admit(self) -> None:
        """Prefill waiting requests into free rows, all in one forward pass (:meth:`_prefill`)."""
        joining: list[Request] = []
        while len(self.rows) + len(joining) < self.max_batch_size:
            with self._wake:
                if not self.waiting:
                    break
                request = self.waiting.popleft()
            if request.cancelled.is_set() or time.monotonic() > request.deadline:
                self._count(request, "cancelled" if request.cancelled.is_set() else "timeout")
            elif request.row is None:
                self._generate_alone(request)
            else:
                joining.append(request)
        if joining:
            self._prefill(joining)

    def _prefill(self, requests: list[Request]) -> None:
        """The prompts of joining requests in one forward pass, left-padded, each with its own positions; then their
        first tokens. If it fails, each prompt is tried alone, so a request that cannot run fails alone."""
        prompts = [r.row.prompt for r in requests]
        width = max(map(len, prompts))
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=ids.device)
        try:
            out = self.model(
                input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0), use_cache=True,
                logits_to_keep=1,
            )  # fmt: skip
        except Exception as e:  # the running rows are untouched
            if len(requests) > 1:
                for request in requests:
                    self._prefill([request])
                return
            logger.exception("Prefill failed")
            return self._count(requests[0], "error", e)
        self._join(requests, out.cache, mask)
        choose_next([r.row for r in requests], out.logits[:, -1])
        now = time.monotonic()
        for request in requests:
            request.first_token_s = now - request.submitted
            self._emit(request)

    def _generate_alone(self, request: Request) -> None:
        """Several replies to one request, by `generate_replies` (its `max_time` keeps the request's deadline)."""
        left = max(0.01, request.deadline - time.monotonic())
        try:
            replies = generate_replies(
                self.model, self.tokenizer, [request.messages], max_seq_length=self.max_seq_length,
                stop_event=[request.cancelled], max_time=left, **request.params,
            )  # fmt: skip
        except Exception as e:
            logger.exception("Generation failed")
            self._count(request, "error", e)
            return
        late = time.monotonic() > request.deadline
        request.first_token_s = time.monotonic() - request.submitted
        ended = "stop" if replies[0].finished else "length"
        request._put(replies[0].text)
        reason = "cancelled" if request.cancelled.is_set() else "timeout" if late else ended
        self._count(request, reason, replies=replies)

    def _join(self, requests: list[Request], cache: DynamicCache, mask: torch.Tensor) -> None:
        """Add prefilled rows (their cache and attention mask) to the batch, left-padding whichever side is shorter."""
        if self.cache is None:
            self.cache, self.mask = cache, mask
        else:
            width = max(mask.shape[1], self.mask.shape[1])
            for layer, new in zip(self.cache.layers, cache.layers, strict=True):
                layer.keys = torch.cat([_pad_left(layer.keys, width), _pad_left(new.keys, width)])
                layer.values = torch.cat([_pad_left(layer.values, width), _pad_left(new.values, width)])
            self.mask = torch.cat([_pad_left(self.mask, width, dim=1), _pad_left(mask, width, dim=1)])
        self.rows.extend(requests)

    def _step(self) -> None:
        """One token for every running row, in one forward pass."""
        ids = torch.tensor([[r.row.tokens[-1]] for r in self.rows], device=self.model.device)
        positions = torch.tensor([[len(r.row.prompt) + len(r.row.tokens) - 1] for r in self.rows], device=ids.device)
        self.mask = torch.cat([self.mask, torch.ones_like(ids)], dim=1)
        out = self.model(
            input_ids=ids, attention_mask=self.mask, position_ids=positions, cache=self.cache, use_cache=True
        )
        self.cache, self.steps = out.cache, self.steps + 1
        live = [i for i, r in enumerate(self.rows) if not (r.cancelled.is_set() or r.row.done)]
        if not live:
            return
        choose_next([self.rows[i].row for i in live], out.logits[live, -1])
        for i in live:
            self._emit(self.rows[i])

    def _emit(self, request: Request) -> None:
        """Send the text the row's newest token adds (held back while it does not extend the text sent)."""
        text = request.row.text()
        if text.startswith(request.sent) and len(text) > len(request.sent):
            request._put(text[len(request.sent) :])
            request.sent = text

    def _retire(self) -> None:
        """Drop finished, cancelled and late rows from the batch, and the padding no remaining row needs."""
        now, keep, gone = time.monotonic(), [], []
        with self._wake:  # waiting requests whose client left or whose time ran out never get a row
            for request in [r for r in self.waiting if r.cancelled.is_set() or now > r.deadline]:
                self.waiting.remove(request)
                gone.append((request, "cancelled" if request.cancelled.is_set() else "timeout"))
        for i, request in enumerate(self.rows):
            if request.cancelled.is_set():
                gone.append((request, "cancelled"))
            elif request.row.done:
                gone.append((request, "stop" if request.row.finished else "length"))
            elif now > request.deadline:
                gone.append((request, "timeout"))
            else:
                keep.append(i)
        if len(keep) < len(self.rows):
            self._select(keep)
        for request, reason in gone:  # told once their row is gone
            self._count(request, reason)

    def _select(self, keep: list[int]) -> None:
        """Keep only these rows of the batch, and drop the padding columns that no remaining row needs."""
        self.rows = [self.rows[i] for i in keep]
        if not self.rows:
            self.cache, self.mask = None, None
            return
        index = torch.tensor(keep, device=self.mask.device)
        self.mask = self.mask[index]
        start = int((self.mask.cumsum(1) == 0).all(0).sum())  # columns that are padding in every row
        self.mask = self.mask[:, start:]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[index, :, start:], layer.values[index, :, start:]


def _pad_left(x: torch.Tensor, width: int, dim: int = 2) -> torch.Tensor:
    """`x` with zeros added before its entries along `dim` (the sequence axis) up to `width`."""
    missing = width - x.shape[dim]
    if missing == 0:
        return x
    shape = list(x.shape)
    shape[dim] = missing
    return torch.cat([x.new_zeros(shape), x], dim=dim)
