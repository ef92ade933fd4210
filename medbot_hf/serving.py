"""The web service: `create_app(...)` builds a FastAPI app around a :class:`~medbot_hf.batching.Batcher`.

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

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, StreamingResponse
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
    error,
    sampling_params,
    sse,
)
from .batching import Batcher, QueueFull
from .generation import Reply
from .pipeline import Answer, start_answer

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


async def wait_for_reply(job, request: Request, timeout: float) -> Reply:
    """The job's reply; stops its generation if the client leaves or `timeout` passes (then 504)."""
    future = asyncio.wrap_future(job.future)
    deadline = time.monotonic() + timeout
    while True:
        done, _ = await asyncio.wait({future}, timeout=0.1)
        if done:
            return future.result()
        if await request.is_disconnected():
            job.stop_event.set()
            raise RequestError(499, "client", "client disconnected")
        if time.monotonic() > deadline:
            job.stop_event.set()
            raise RequestError(504, "timeout", f"no reply within {timeout:.0f} s")


async def stream_pieces(batcher: Batcher, job, timeout: float):
    """Text pieces of a streaming job; stops its generation when the consumer goes away or time runs out."""
    pieces = batcher.stream(job)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            piece = await anyio.to_thread.run_sync(next, pieces, None, abandon_on_cancel=True)
            if piece is None:
                return
            yield piece
    finally:
        job.stop_event.set()


def _reply_params(body: Sampling, limits: ServeLimits) -> tuple[list[dict], dict]:
    messages = [m.model_dump() for m in body.messages]
    check_messages(messages, limits)
    return messages, sampling_params(body, limits)


def _submit(batcher: Batcher, messages: list[dict], params: dict, stream: bool = False):
    try:
        return batcher.submit(messages, params, stream=stream)
    except QueueFull:
        raise RequestError(503, "queue", "the server is busy; retry shortly") from None


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is JSON naming the field where there is one; no stack trace ever leaves the server."""

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError):
        headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 503 else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return error(exc.status, exc.message, exc.param, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"] if part != "body"]
        param = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or "body"
        return error(422, f"{param}: {first['msg']}", param)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        logger.exception("Unhandled error on %s", request.url.path)  # the trace stays in the server log
        return error(500, "internal server error")


def create_app(
    batcher: Batcher,
    model_name: str,
    limits: ServeLimits | None = None,
    api_key: str | None = None,
    cors_origins: tuple[str, ...] = (),
    log_messages: bool = False,
) -> FastAPI:
    """The FastAPI app: page, JSON API, OpenAI-compatible API and health, over `batcher`.

    Args:
        batcher: runs generation off the event loop and batches concurrent requests.
        model_name: the id shown by `/v1/models` and in completions.
        limits: request limits; see :class:`~medbot_hf.api_schema.ServeLimits`.
        api_key: when set, `/api` and `/v1` need `Authorization: Bearer <api_key>`.
        cors_origins: origins allowed to call the API from a browser; none by default (CORS closed).
        log_messages: log message text (off: only sizes and timings are logged).

    Returns:
        The app, for uvicorn or a test client.
    """
    limits = limits or ServeLimits()
    app = FastAPI(title="medbot-hf", version=__version__, description="Chinese medical chat demo. Not a doctor.")
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip
    _add_error_handlers(app)

    async def authorized(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if api_key and not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
            raise RequestError(401, "authorization", "missing or wrong API key (Authorization: Bearer ...)")

    def log(path: str, messages: list[dict], started: float) -> None:
        size = sum(len(m["content"]) for m in messages)
        logger.info("%s: %d messages, %d chars, %.2f s", path, len(messages), size, time.monotonic() - started)
        if log_messages:
            logger.info("%s: last message %r", path, messages[-1]["content"])

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        headers = {"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff"}
        return FileResponse(STATIC_DIR / "index.html", headers=headers)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": model_name, "queued": batcher.pending(), "batches": batcher.batches}

    @app.post("/api/chat", response_model=ChatResponse, dependencies=[Depends(authorized)])
    async def chat(body: Sampling, request: Request) -> dict:
        """One reply to the history in `messages` (the page keeps the history), through the answer pipeline: the
        guarded reply, the red-flag triage (its advice to show apart) and the `medbot` label."""
        started = time.monotonic()
        messages, params = _reply_params(body, limits)
        answer = start_answer(messages)
        reply = await wait_for_reply(_submit(batcher, messages, params), request, limits.request_timeout_s)
        answer.complete(reply.text)
        log("/api/chat", messages, started)
        return {"reply": answer.text, "triage": vars(answer.triage), "medbot": answer.medbot()}

    @app.post("/api/chat/stream", dependencies=[Depends(authorized)])
    async def chat_stream(body: Sampling) -> StreamingResponse:
        """Server-Sent Events: `{"triage", "medbot"}` first, then `{"delta"}` pieces (whole checked sentences), then
        `{"done", "reply", "medbot"}` with what the guard did."""
        messages, params = _reply_params(body, limits)
        answer = start_answer(messages)
        job = _submit(batcher, messages, params, stream=True)

        async def events():
            yield sse({"triage": vars(answer.triage), "medbot": answer.medbot()})
            async for shown in guarded_pieces(answer, stream_pieces(batcher, job, limits.request_timeout_s)):
                yield sse({"delta": shown})
            yield sse({"done": True, "reply": answer.text, "medbot": answer.medbot()})

        return StreamingResponse(events(), media_type="text/event-stream")

    _add_openai_routes(app, batcher, model_name, limits, authorized)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_openai_routes(app: FastAPI, batcher: Batcher, model_name: str, limits: ServeLimits, authorized) -> None:
    """`/v1/models` and `/v1/chat/completions`; urgent triage advice is put before the reply's text."""
    created = int(time.time())

    @app.get("/v1/models", dependencies=[Depends(authorized)])
    async def models() -> dict:
        model = {"id": model_name, "object": "model", "created": created, "owned_by": "medbot-hf"}
        return {"object": "list", "data": [model]}

    @app.post("/v1/chat/completions", dependencies=[Depends(authorized)])
    async def completions(body: CompletionRequest, request: Request):
        messages, params = _reply_params(body, limits)
        answer = start_answer(messages)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model_name}
        if body.stream:
            job = _submit(batcher, messages, params, stream=True)
            return StreamingResponse(
                _completion_chunks(batcher, job, head, answer, limits), media_type="text/event-stream"
            )
        reply = await wait_for_reply(_submit(batcher, messages, params), request, limits.request_timeout_s)
        answer.complete(reply.text)
        message = {"role": "assistant", "content": answer.shown()}
        choice = {"index": 0, "message": message, "finish_reason": "stop" if reply.finished else "length"}
        usage = {
            "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        }  # fmt: skip
        return {**head, "object": "chat.completion", "choices": [choice], "usage": usage, "medbot": answer.medbot()}


async def guarded_pieces(answer: Answer, pieces):
    """The answer pipeline's guard over a stream: yields checked text as each sentence completes, then the rest."""
    async for piece in pieces:
        if shown := answer.feed(piece):
            yield shown
    if rest := answer.finish():
        yield rest


async def _completion_chunks(batcher: Batcher, job, head: dict, answer: Answer, limits: ServeLimits):
    """Chunks of a streamed completion; every chunk carries the `medbot` object (the last one with the guard's
    verdict), an extra field that OpenAI clients keep."""

    def chunk(delta: dict, finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({**head, "object": "chat.completion.chunk", "choices": [choice], "medbot": answer.medbot()})

    advice = f"{answer.triage.advice}\n\n" if answer.triage.urgent else ""
    yield chunk({"role": "assistant", "content": advice})
    async for shown in guarded_pieces(answer, stream_pieces(batcher, job, limits.request_timeout_s)):
        yield chunk({"content": shown})
    yield chunk({}, "stop")
    yield sse("[DONE]")
