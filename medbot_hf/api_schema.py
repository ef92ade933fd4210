"""Request and response models, limits and their checks for the web service (see `serving.create_app`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from .chat_format import is_prompt

MAX_MESSAGE_CHARS = 2000  # one message; the corpus's longest utterances are ~600
MAX_TURNS = 64
MAX_BODY_BYTES = 64 * 1024
MAX_TOKENS_CAP = 256  # replies longer than this are cut, whatever max_tokens asks
HARD_MAX_TOKENS = 4096  # beyond this a request is refused outright
REQUEST_TIMEOUT_S = 60.0
RETRY_AFTER_S = 2
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class ServeLimits:
    """Request limits; breaking one gives a 4xx JSON error naming the field."""

    max_message_chars: int = MAX_MESSAGE_CHARS
    max_turns: int = MAX_TURNS
    max_body_bytes: int = MAX_BODY_BYTES
    max_tokens_cap: int = MAX_TOKENS_CAP
    request_timeout_s: float = REQUEST_TIMEOUT_S


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients send fields we do not use (n, stop, ...)
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2, description="0 decodes greedily; clamped to 1.5")
    top_p: float | None = Field(default=None, gt=0, le=1, description="Clamped to at least 0.05")
    max_tokens: int | None = Field(default=None, ge=1, le=HARD_MAX_TOKENS, description="Clamped to the server cap")
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class Triage(BaseModel):
    urgent: bool
    category: str | None
    advice: str


class Guard(BaseModel):
    changed: bool = Field(
        description="whether the guard replaced a sentence of the reply (a dose, stopping a medicine)"
    )
    reasons: list[str]


class Medbot(BaseModel):
    """On every API response: the reply is AI-generated (人工智能生成合成内容标识办法), the triage and the guard."""

    ai_generated: Literal[True]
    triage: Triage
    guard: Guard


class ChatResponse(BaseModel):
    reply: str
    triage: Triage
    medbot: Medbot


class CompletionRequest(Sampling):
    model: str | None = None
    stream: bool = False


def error(status: int, message: str, param: str | None = None, headers: dict | None = None) -> JSONResponse:
    """An OpenAI-style error body; `param` names the offending field."""
    body = {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}}
    body["error"]["param"] = param
    return JSONResponse(body, status_code=status, headers=headers)


class RequestError(HTTPException):
    """A request that breaks a limit or the chat format; answered with `status` and the field's name.

    An `HTTPException`, so that FastAPI passes it through unchanged when it is raised while the body is read.
    """

    def __init__(self, status: int, param: str, message: str):
        super().__init__(status, message)
        self.status, self.param, self.message = status, param, message


def check_messages(messages: list[dict[str, str]], limits: ServeLimits) -> None:
    """Raise a 4xx naming the field when the history breaks a limit or the chat format's role order."""
    if len(messages) > limits.max_turns:
        raise RequestError(413, "messages", f"messages: at most {limits.max_turns} turns")
    for i, m in enumerate(messages):
        if len(m["content"]) > limits.max_message_chars:
            limit = limits.max_message_chars
            raise RequestError(413, f"messages[{i}].content", f"messages[{i}].content: over {limit} characters")
        if m["role"] == "user" and not m["content"].strip():  # an empty reply from the model may come back as history
            raise RequestError(422, f"messages[{i}].content", f"messages[{i}].content: empty")
    if not is_prompt(messages):
        message = "messages: roles must alternate user/assistant, start and end with user (a system turn first)"
        raise RequestError(422, "messages", message)


def sampling_params(request: Sampling, limits: ServeLimits) -> dict:
    """Request fields as `generate` overrides, clamped to safe ranges."""
    params = {}
    if request.max_tokens is not None:
        params["max_new_tokens"] = min(request.max_tokens, limits.max_tokens_cap)
    if request.temperature is not None:
        params.update(do_sample=False) if request.temperature == 0 else params.update(
            do_sample=True, temperature=min(request.temperature, 1.5)
        )
    if request.top_p is not None:
        params["top_p"] = max(request.top_p, 0.05)
    if request.seed is not None:
        params["seed"] = request.seed
    return params


def sse(data) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"
