"""Generation off the event loop: a bounded queue and one worker thread that batches concurrent requests.

Requests with the same sampling settings that wait together are answered by one batched `generate` call (left
padding); a request with a seed, or a streaming one, runs alone so its reply does not depend on its neighbours. Each
request carries a stop event, set when its client goes away or its time is up, which stops its row of the batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from transformers import TextIteratorStreamer

from .configs import MAX_BATCH_SIZE, MAX_QUEUE
from .generation import generate_replies, reply_streamer


class QueueFull(RuntimeError):
    """The queue is full: the server answers 503 with Retry-After."""


@dataclass
class Job:
    """One request: its history, its sampling settings, and how it reports back."""

    messages: list[dict[str, str]]
    params: dict
    future: Future = field(default_factory=Future)
    stop_event: threading.Event = field(default_factory=threading.Event)
    streamer: TextIteratorStreamer | None = None

    @property
    def batch_key(self) -> tuple | None:
        """Jobs with equal keys may share a batch; None runs alone."""
        if self.streamer is not None or self.params.get("seed") is not None:
            return None
        return tuple(sorted(self.params.items()))


class Batcher:
    """Answers jobs from a bounded queue on one worker thread, batching those that can share a `generate` call.

    Args:
        model: the GPT-2 LM; it is only touched from the worker thread.
        tokenizer: its tokenizer.
        max_batch_size: most jobs in one `generate` call (1 serves one request at a time).
        max_queue: most jobs waiting; beyond it `submit` raises :class:`QueueFull`.
        batch_wait_s: how long the worker waits for more jobs to join a batch.
        max_seq_length: room for prompt plus reply (default: the model's `n_positions`).
    """

    def __init__(
        self,
        model,
        tokenizer,
        max_batch_size=MAX_BATCH_SIZE,
        max_queue=MAX_QUEUE,
        batch_wait_s=0.01,
        max_seq_length=None,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch_size, self.batch_wait_s, self.max_seq_length = max_batch_size, batch_wait_s, max_seq_length
        self.queue: queue.Queue[Job] = queue.Queue(maxsize=max_queue)
        self.batches = 0
        self._held: Job | None = None  # a job taken while filling a batch that did not fit it
        self._thread = threading.Thread(target=self._run, name="medbot-generate", daemon=True)
        self._thread.start()

    def submit(self, messages: list[dict[str, str]], params: dict, stream: bool = False) -> Job:
        """Queue a request; its `future` gets its list of :class:`~medbot_hf.generation.Reply` (one per choice, `n`),
        and its `streamer` yields the text as it comes (when `stream`)."""
        streamer = reply_streamer(self.tokenizer) if stream else None
        job = Job(messages, params, streamer=streamer)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            raise QueueFull(f"{self.queue.maxsize} requests are already waiting") from None
        return job

    def pending(self) -> int:
        return self.queue.qsize()

    def _next_batch(self) -> list[Job]:
        first = self._held or self.queue.get()
        self._held = None
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while first.batch_key is not None and len(batch) < self.max_batch_size:
            try:
                job = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job.batch_key != first.batch_key:
                self._held = job  # it opens the next batch
                break
            batch.append(job)
        live = []
        for job in batch:  # a job whose client left (or whose time ran out) while it waited is not generated
            if job.stop_event.is_set():
                job.future.set_exception(TimeoutError("cancelled before generation"))
            else:
                live.append(job)
        return live

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                continue
            self.batches += 1
            try:
                replies = generate_replies(
                    self.model, self.tokenizer, [j.messages for j in batch], max_seq_length=self.max_seq_length,
                    stop_event=[j.stop_event for j in batch],
                    streamer=batch[0].streamer, **batch[0].params,
                )  # fmt: skip
            except Exception as e:  # reported to each waiting request; the worker lives on
                for job in batch:
                    job.future.set_exception(e)
                    if job.streamer is not None:
                        job.streamer.end()
                continue
            per = batch[0].params.get("num_return_sequences", 1)
            for i, job in enumerate(batch):
                job.future.set_result(replies[i * per : (i + 1) * per])

    def stream(self, job: Job) -> Iterator[str]:
        """The text pieces of a streaming job, as they are generated (blocking; call from a thread)."""
        yield from (piece for piece in job.streamer if piece)
