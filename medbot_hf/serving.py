"""The web service: `create_app(...)` builds a FastAPI app around a :class:`~medbot_hf.batching.Scheduler`.

Endpoints: `GET /` (the chat page), `POST /api/chat` and `/api/chat/stream` (SSE), `POST /v1/chat/completions`
(OpenAI-compatible, streaming or not), `GET /v1/models`, `GET /health`, and the OpenAPI schema. Nothing is loaded and
no argument is parsed at import time: `medbot_hf.serve_cli` does that.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .api_schema import (
    PAGE_CSP,
    RETRY_AFTER_S,
    ChatResponse,
    CompletionRequest,
    RequestError,
    Sampling,
    ServeLimits,
    check_messages,
    check_unsupported,
    completion_params,
    context_messages,
    error,
    find_surrogate,
    message_texts,
    sampling_params,
    sse,
)
from .batching import QueueFull, Scheduler
from .generation import Reply, prompt_turns
from .pipeline import Answer, start_answer
from .retrieval import RetrievalIndex, consultations_json
from .safety import advice_block

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` (declared or streamed) gets 413 before any handler reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = error(413, f"request body is larger than {self.max_bytes} bytes", "body")
        if declared is not None and int(declared) > self.max_bytes:
            return await too_big(scope, receive, send)
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise RequestError(413, "body", f"request body is larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


class KeyCheck:
    """ASGI middleware: `/api` and `/v1` need `Authorization: Bearer <api_key>` (the scheme in any case), checked
    before the body is read, so a request without the key learns nothing about its body."""

    def __init__(self, app: ASGIApp, api_key: str):
        self.app, self.expected = app, api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(("/api/", "/v1/")) and scope["method"] != "OPTIONS":
            scheme, _, key = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode("latin-1"), self.expected):
                message = "missing or wrong API key (Authorization: Bearer ...)"
                return await error(401, message, "authorization", {"WWW-Authenticate": "Bearer"})(scope, receive, send)
        await self.app(scope, receive, send)


async def wait_for_reply(job, request: Request, timeout: float) -> list[Reply]:
    """The job's replies (one per choice); frees its row if the client leaves (499); 504 once the scheduler timed it
    out."""
    replies = asyncio.ensure_future(job.wait())
    try:
        while not (await asyncio.wait({replies}, timeout=0.1))[0]:
            if await request.is_disconnected():
                raise RequestError(499, "client", "client disconnected")
    finally:
        job.cancel()  # a no-op once the row has retired
    if job.finish_reason == "timeout":
        raise RequestError(504, "timeout", f"no reply within {timeout:.0f} s")
    return replies.result()


async def stream_pieces(job):
    """Text pieces of a streaming job, up to its first stop string (the scheduler's rows hold back a tail that could
    start one); it ends at the scheduler's timeout. Frees its row when the consumer goes away (Starlette cancels a
    streaming response whose client disconnected)."""
    try:
        async for piece in job.stream():
            yield piece
    finally:
        job.cancel()


class RequestLog:
    """The one log line of every reply endpoint, written when the reply ends (a stream's too, however it ends): the
    path, message count and size, the time taken and the time to the model's first token (before the guard's
    sentence hold-back; benchmarks/bench_serving.py reads it); the last message's text only with `--log_messages`."""

    def __init__(self, path: str, messages: list[dict], log_messages: bool):
        self.path, self.messages, self.log_messages, self.started = path, messages, log_messages, time.monotonic()

    def done(self, job=None) -> None:
        size = sum(len(m["content"]) for m in self.messages)
        elapsed = time.monotonic() - self.started
        first = job.first_token_s if job is not None else None
        first = f", first token after {first:.3f} s" if first is not None else ""
        logger.info("%s: %d messages, %d chars, %.2f s%s", self.path, len(self.messages), size, elapsed, first)
        if self.log_messages:
            logger.info("%s: last message %r", self.path, self.messages[-1]["content"])


async def logged(events, log: RequestLog, job=None):
    """`events`, then the request's log line once the stream has ended or its client has gone."""
    try:
        async for event in events:
            yield event
    finally:
        log.done(job)


async def logged_reply(job, request: Request, timeout: float, log: RequestLog) -> list[Reply]:
    """:func:`wait_for_reply`, then the request's log line (also when it fails: timeout, disconnect)."""
    try:
        return await wait_for_reply(job, request, timeout)
    finally:
        log.done(job)


def _checked_messages(body: Sampling, limits: ServeLimits) -> list[dict]:
    """The history as role/content strings, or a 4xx naming the field (a lone surrogate is a 400 on every endpoint)."""
    where = find_surrogate(body.model_dump())
    if where:
        raise RequestError(400, where, f"{where}: not valid Unicode text (a lone surrogate)")
    messages = message_texts(body.messages)
    check_messages(messages, limits)
    return messages


def _reply_params(body: Sampling, limits: ServeLimits, rerank: dict) -> tuple[list[dict], dict]:
    """The history and the `generate_replies` arguments of a request: its sampling fields and the server's rerank."""
    return _checked_messages(body, limits), {**sampling_params(body, limits), **rerank}


class Similar:
    """The similar real consultations a reply carries: the request's `show_similar` (else the server's default)
    closest (question, answer) pairs of the model's retrieval index to the last message."""

    def __init__(self, index: RetrievalIndex | None, default_k: int):
        self.index, self.default_k = index, default_k

    def __call__(self, body: Sampling, messages: list[dict]) -> dict:
        """The `similar_consultations` object; a 400 naming `show_similar` when it asks for some and there is no
        index (the served folder had none)."""
        k = self.default_k if body.show_similar is None else body.show_similar
        if k and self.index is None:
            if body.show_similar is None:
                return consultations_json([])
            message = "show_similar: this server has no retrieval index (build one with medbot-index)"
            raise RequestError(400, "show_similar", message)
        return consultations_json(self.index.search(messages[-1]["content"], k) if k else [])


def _context(scheduler: Scheduler, messages: list[dict], params: dict, limits: ServeLimits) -> int:
    """`context_messages` for the page: what of this history the model read, by generation's own trimming rule."""
    model, tokenizer = scheduler.model, scheduler.tokenizer
    room = {"max_seq_length": scheduler.max_seq_length, "max_new_tokens": params.get("max_new_tokens")}
    turns = prompt_turns(model, tokenizer, messages, **room)
    return context_messages(turns, limits)


def _submit(scheduler: Scheduler, messages: list[dict], params: dict, limits: ServeLimits):
    try:
        return scheduler.submit(messages, params, timeout_s=limits.request_timeout_s)
    except QueueFull:
        raise RequestError(503, "queue", "the server is busy; retry shortly") from None


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is JSON naming the field where there is one; no stack trace ever leaves the server."""

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError):
        headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 503 else None
        return error(exc.status, exc.message, exc.param, headers, exc.code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"] if part != "body"]
        param = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or "body"
        return error(422, f"{param}: {first['msg']}", param)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        headers = exc.headers
        if exc.status_code == 405 and not headers:  # StaticFiles' 405 names no methods
            headers = {"Allow": "GET, HEAD"}
        return error(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        logger.exception("Unhandled error on %s", request.url.path)  # the trace stays in the server log
        return error(500, "internal server error")


def create_app(
    scheduler: Scheduler,
    model_name: str,
    limits: ServeLimits | None = None,
    api_key: str | None = None,
    cors_origins: tuple[str, ...] = (),
    log_messages: bool = False,
    rerank: dict | None = None,
    index: RetrievalIndex | None = None,
    show_similar: int = 0,
) -> FastAPI:
    """The FastAPI app: page, JSON API, OpenAI-compatible API and health, over `scheduler`.

    Args:
        scheduler: runs every reply off the event loop, in one continuous batch.
        model_name: the id shown by `/v1/models` and in completions.
        limits: request limits; see :class:`~medbot_hf.api_schema.ServeLimits`.
        api_key: when set, `/api` and `/v1` need `Authorization: Bearer <api_key>`.
        cors_origins: origins allowed to call the API from a browser; none by default (CORS closed).
        log_messages: log message text (off: only sizes and timings are logged).
        rerank: `num_candidates` and `reranker` (`generate_replies` arguments, from --num_candidates), added to every
            request: each reply is then the best of N candidates, sampled by one `generate_replies` call.
        index: the model's :class:`~medbot_hf.retrieval.RetrievalIndex`, for similar real consultations.
        show_similar: how many of them a reply carries unless the request says (`show_similar`).

    Returns:
        The app, for uvicorn or a test client.
    """
    limits = limits or ServeLimits()
    app = FastAPI(title="medbot-hf", version=__version__, description="Chinese medical chat demo. Not a doctor.")
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    if api_key:  # outside BodyLimit: no key, no look at the body
        app.add_middleware(KeyCheck, api_key=api_key)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip
    _add_error_handlers(app)
    rerank, similar = rerank or {}, Similar(index, show_similar)

    def request_log(request: Request, messages: list[dict]) -> RequestLog:
        return RequestLog(request.url.path, messages, log_messages)

    page_html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")  # the input box takes the server's limit
    page_html = page_html.replace("{max_message_chars}", str(limits.max_message_chars))

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> HTMLResponse:
        headers = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff"}
        return HTMLResponse(page_html, headers=headers)

    @app.api_route("/health", methods=["GET", "HEAD"])
    async def health() -> dict:
        return {"status": "ok", "model": model_name, **scheduler.stats()}

    @app.post("/api/chat", response_model=ChatResponse)
    async def chat(body: Sampling, request: Request) -> dict:
        """One reply to the history in `messages` (the page keeps the history), through the answer pipeline: the
        guarded reply, the red-flag triage (its advice to show apart), the `medbot` label and the similar real
        consultations."""
        messages, params = _reply_params(body, limits, rerank)
        found = similar(body, messages)
        log = request_log(request, messages)
        answer = start_answer(messages)
        reply = (
            await logged_reply(_submit(scheduler, messages, params, limits), request, limits.request_timeout_s, log)
        )[0]
        answer.complete(reply.text)
        context = _context(scheduler, messages, params, limits)
        return {
            "reply": answer.text,
            "triage": vars(answer.triage),
            "medbot": answer.medbot(),
            "context_messages": context,
            "similar_consultations": found,
        }

    @app.post("/api/chat/stream")
    async def chat_stream(body: Sampling, request: Request) -> StreamingResponse:
        """Server-Sent Events: `{"triage", "medbot"}` first, then `{"delta"}` pieces (whole checked sentences), then
        `{"done", "reply", "medbot", "context_messages", "similar_consultations"}` with what the guard did."""
        messages, params = _reply_params(body, limits, rerank)
        found = similar(body, messages)
        log = request_log(request, messages)
        answer = start_answer(messages)
        context = _context(scheduler, messages, params, limits)
        job = _submit(scheduler, messages, params, limits)

        async def events():
            yield sse({"triage": vars(answer.triage), "medbot": answer.medbot()})
            async for shown in guarded_pieces(answer, stream_pieces(job)):
                yield sse({"delta": shown})
            done = {"done": True, "reply": answer.text, "medbot": answer.medbot(), "context_messages": context}
            yield sse({**done, "similar_consultations": found})

        return StreamingResponse(logged(events(), log, job), media_type="text/event-stream")

    _add_openai_routes(app, scheduler, model_name, limits, request_log, rerank, similar)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_openai_routes(
    app: FastAPI, scheduler: Scheduler, model_name: str, limits: ServeLimits, request_log, rerank: dict, similar
) -> None:
    """`/v1/models` and `/v1/chat/completions`; urgent triage advice is put before the reply's text. The similar
    real consultations go in an extra top-level `similar_consultations` object (in a stream, on the last chunk),
    which OpenAI clients keep (`model_extra`) and may ignore."""
    created = int(time.time())

    @app.api_route("/v1/models", methods=["GET", "HEAD"])
    async def models() -> dict:
        model = {"id": model_name, "object": "model", "created": created, "owned_by": "medbot-hf"}
        return {"object": "list", "data": [model]}

    @app.post("/v1/chat/completions")
    async def completions(body: CompletionRequest, request: Request):
        """OpenAI's chat completions: `n`, `stop`, `temperature`, `top_p`, `max_tokens`, `seed` and `stream` are
        honoured; any other field that would change the reply is a 400 naming it."""
        messages = _checked_messages(body, limits)
        check_unsupported(body)
        if body.model not in (None, model_name):
            message = f"The model `{body.model}` does not exist; this server serves `{model_name}` (see /v1/models)"
            raise RequestError(404, "model", message, code="model_not_found")
        if body.stream and body.n > 1:
            raise RequestError(400, "n", "n: several choices are not streamed; use stream=false or n=1")
        params = {**completion_params(body, limits), **rerank}
        found = {"similar_consultations": similar(body, messages)}
        log = request_log(request, messages)
        answer = start_answer(messages)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model_name}
        if body.stream:
            job = _submit(scheduler, messages, params, limits)
            chunks = logged(_completion_chunks(job, head, answer, found), log, job)
            return StreamingResponse(chunks, media_type="text/event-stream")
        replies = await logged_reply(
            _submit(scheduler, messages, params, limits), request, limits.request_timeout_s, log
        )
        answers = [answer] + [start_answer(messages) for _ in replies[1:]]  # each choice through the whole pipeline
        choices = []
        for i, (choice_answer, r) in enumerate(zip(answers, replies, strict=True)):
            choice_answer.complete(r.text)
            message = {"role": "assistant", "content": choice_answer.shown()}
            choices.append({"index": i, "message": message, "finish_reason": "stop" if r.finished else "length"})
            if len(replies) > 1:
                choices[-1]["medbot"] = choice_answer.medbot()
        completion_tokens = sum(r.completion_tokens for r in replies)
        usage = {
            "prompt_tokens": replies[0].prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": replies[0].prompt_tokens + completion_tokens,
        }  # fmt: skip
        medbot = answer.medbot()
        return {**head, "object": "chat.completion", "choices": choices, "usage": usage, "medbot": medbot, **found}


async def guarded_pieces(answer: Answer, pieces):
    """The answer pipeline's guard over a stream: yields checked text as each sentence completes, then the rest."""
    async for piece in pieces:
        if shown := answer.feed(piece):
            yield shown
    if rest := answer.finish():
        yield rest


async def _completion_chunks(job, head: dict, answer: Answer, last: dict):
    """Chunks of a streamed completion; every chunk carries the `medbot` object (the last one with the guard's
    verdict), an extra field that OpenAI clients keep; the last one also `last` (the similar consultations)."""

    def chunk(delta: dict, finish: str | None = None, **more) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({**head, "object": "chat.completion.chunk", "choices": [choice], "medbot": answer.medbot(), **more})

    yield chunk({"role": "assistant", "content": advice_block(answer.triage)})
    async for shown in guarded_pieces(answer, stream_pieces(job)):
        yield chunk({"content": shown})
    yield chunk({}, "stop" if job.reply.finished else "length", **last)
    yield sse("[DONE]")
