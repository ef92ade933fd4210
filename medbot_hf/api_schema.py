"""Request and response models, limits and their checks for the web service (see `serving.create_app`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from .chat_format import ROLES, is_prompt
from .configs import MAX_SHOW_SIMILAR, MAX_TOKENS_CAP, REQUEST_TIMEOUT_S
from .safety import TriageResult

MAX_MESSAGE_CHARS = 2000  # one message; the corpus's longest utterances are ~600
MAX_TURNS = 64
MAX_BODY_BYTES = 64 * 1024
MAX_CHOICES = 4  # most choices one request may ask for (`n`)
MAX_STOP = 4  # most stop strings, as OpenAI allows
MAX_STOP_CHARS = 32
HARD_MAX_TOKENS = 4096  # beyond this a request is refused outright
RETRY_AFTER_S = 2
MAX_TEMPERATURE = 1.5  # hotter than this, a small model's replies fall apart; higher asks are lowered to it
MIN_TOP_P = 0.05  # a smaller nucleus is greedy decoding in disguise; lower asks are raised to it
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


class ContentPart(BaseModel):
    """One part of OpenAI's content-parts form; only `{"type": "text", "text": ...}` is served."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    role: Literal[ROLES]
    content: str | list[ContentPart] = Field(description="Text, or OpenAI content parts of type `text`")


class Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients send fields we do not use (n, stop, ...)
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(
        default=None, ge=0, le=2, description=f"0 decodes greedily; clamped to {MAX_TEMPERATURE}"
    )
    top_p: float | None = Field(default=None, gt=0, le=1, description=f"Clamped to at least {MIN_TOP_P}")
    max_tokens: int | None = Field(default=None, ge=1, le=HARD_MAX_TOKENS, description="Clamped to the server cap")
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    show_similar: int | None = Field(
        default=None, ge=0, le=MAX_SHOW_SIMILAR,
        description="Similar real consultations to return, retrieved from the training corpus (default: the server's "
        "--show_similar; 0: none)",
    )  # fmt: skip


class Guard(BaseModel):
    changed: bool = Field(
        description="whether the guard replaced a sentence of the reply (a dose, stopping a medicine)"
    )
    reasons: list[str]


class Medbot(BaseModel):
    """On every API response: the reply is AI-generated (人工智能生成合成内容标识办法), the triage and the guard."""

    ai_generated: Literal[True]
    triage: TriageResult
    guard: Guard


class SimilarConsultation(BaseModel):
    """A real (question, answer) pair of the training corpus, retrieved by BM25: not generated."""

    question: str = Field(description="The patient's question, as in the training corpus")
    answer: str = Field(
        description="The real doctor's answer to it, through the reply guard (another patient's doses are replaced)"
    )
    score: float = Field(description="BM25 score of the question against the request's last message")
    guard: Guard = Field(description="Whether the guard changed the answer, and why")


class SimilarConsultations(BaseModel):
    label: str = Field(description="Says that these are retrieved real consultations, not generated text")
    items: list[SimilarConsultation]


class ChatResponse(BaseModel):
    reply: str
    triage: TriageResult
    medbot: Medbot
    context_messages: int = Field(
        description="How many of the request's last messages the reply was based on: send these, the reply and the "
        "next question next time (the page does); never more than the turn limit allows"
    )
    similar_consultations: SimilarConsultations = Field(
        description="The closest real consultations of the training corpus to the last message (retrieved, not "
        "generated); `items` is empty when the request or the server asks for none, or nothing matches"
    )


class CompletionRequest(Sampling):
    """The OpenAI request. Fields it does not declare are kept (`extra="allow"`) so that
    :func:`check_unsupported` can name them in a 400 instead of ignoring them."""

    model_config = ConfigDict(extra="allow")
    model: str | None = Field(default=None, description="Must be the served model's id (see /v1/models), or absent")
    stream: bool = False
    n: int = Field(default=1, ge=1, le=MAX_CHOICES, description="Choices in one call (num_return_sequences)")
    stop: str | list[str] | None = Field(
        default=None, description="Up to 4 strings; the reply ends before the first (transformers' stop_strings)"
    )
    max_completion_tokens: int | None = Field(default=None, ge=1, le=HARD_MAX_TOKENS, description="Same as max_tokens")


# OpenAI fields that only describe the caller and never change a reply: accepted whatever their value.
INFORMATIONAL_FIELDS = ("user", "metadata", "store", "service_tier", "safety_identifier", "prompt_cache_key")


def error(
    status: int, message: str, param: str | None = None, headers: dict | None = None, code: str | None = None
) -> JSONResponse:
    """An OpenAI-style error body; `param` names the offending field, `code` is OpenAI's (`model_not_found`)."""
    body = {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}}
    body["error"]["param"] = param
    body["error"]["code"] = code
    return JSONResponse(body, status_code=status, headers=headers)


class RequestError(HTTPException):
    """A request that breaks a limit or the chat format; answered with `status` and the field's name.

    An `HTTPException`, so that FastAPI passes it through unchanged when it is raised while the body is read.
    """

    def __init__(self, status: int, param: str, message: str, code: str | None = None):
        super().__init__(status, message)
        self.status, self.param, self.message, self.code = status, param, message, code


def find_surrogate(value, path: str = "") -> str | None:
    """The path (`messages[0].content`) of the first string holding a lone surrogate, which no UTF-8 text can."""
    if isinstance(value, str):
        return path or "body" if any("\ud800" <= c <= "\udfff" for c in value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = find_surrogate(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip("."))
        if found:
            return found
    return None


def check_unsupported(request: CompletionRequest) -> None:
    """A 400 naming the first field the server would not act on (`logprobs`, `tools`, ...), unless it asks for nothing
    (null, false, 0 or empty); informational fields such as `user` pass."""
    for name, value in (request.model_extra or {}).items():
        if name not in INFORMATIONAL_FIELDS and value not in (None, False, 0, "", [], {}):
            raise RequestError(400, name, f"{name}: not supported by this server")
    if request.n > 1 and request.temperature == 0:
        raise RequestError(400, "n", "n: more than one choice needs sampling (temperature > 0)")
    stops = [request.stop] if isinstance(request.stop, str) else request.stop or []
    if len(stops) > MAX_STOP or any(not s or len(s) > MAX_STOP_CHARS for s in stops):
        raise RequestError(400, "stop", f"stop: at most {MAX_STOP} non-empty strings of {MAX_STOP_CHARS} characters")


def message_texts(messages: list[Message]) -> list[dict[str, str]]:
    """Messages as `{"role", "content"}` strings: text parts are joined with newlines; any other part is a 400."""
    out = []
    for i, m in enumerate(messages):
        content = m.content
        if isinstance(content, list):
            for j, part in enumerate(content):
                where = f"messages[{i}].content[{j}]"
                if part.type != "text":
                    message = f"{where}.type: {part.type!r} parts are not supported, only 'text'"
                    raise RequestError(400, f"{where}.type", message)
                if part.text is None:
                    raise RequestError(400, f"{where}.text", f"{where}.text: missing")
            content = "\n".join(part.text for part in content)
        out.append({"role": m.role, "content": content})
    return out


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


def context_messages(turns: int, limits: ServeLimits) -> int:
    """The trailing messages of a request worth sending again: the `turns` the prompt kept (an odd count, from a user
    turn to the question), fewer if the next request (these, the reply and a new question) would break `max_turns`."""
    most = limits.max_turns - 2
    return min(turns, most if most % 2 else most - 1)


def sampling_params(request: Sampling, limits: ServeLimits) -> dict:
    """Request fields as `generate` overrides, clamped to safe ranges."""
    params = {}
    if request.max_tokens is not None:
        params["max_new_tokens"] = min(request.max_tokens, limits.max_tokens_cap)
    if request.temperature == 0:
        params["do_sample"] = False
    elif request.temperature is not None:
        params.update(do_sample=True, temperature=min(request.temperature, MAX_TEMPERATURE))
    if request.top_p is not None:
        params["top_p"] = max(request.top_p, MIN_TOP_P)
    if request.seed is not None:
        params["seed"] = request.seed
    return params


def completion_params(request: CompletionRequest, limits: ServeLimits) -> dict:
    """:func:`sampling_params` plus the OpenAI-only fields: `n`, `stop` and `max_completion_tokens`."""
    params = sampling_params(request, limits)
    if request.max_tokens is None and request.max_completion_tokens is not None:
        params["max_new_tokens"] = min(request.max_completion_tokens, limits.max_tokens_cap)
    if request.n > 1:
        params["num_return_sequences"] = request.n
    if request.stop:
        params["stop_strings"] = (request.stop,) if isinstance(request.stop, str) else tuple(request.stop)
    return params


def sse(data) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"
