"""Read dialogue corpora into one shape: a list of `{"role", "content"}` messages per dialogue.

Formats: GPT2-chitchat `train.txt` (one utterance a line, patient and doctor alternating, a blank line between
dialogues), JSONL with a `messages` list, and CSV or JSONL question/answer rows. Every problem with the input is a
:class:`CorpusError` naming the file and, where there is one, the line. What is dropped on the way is counted.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field

CORPUS_FORMATS = ("auto", "chitchat", "messages", "qa")
ROLE_ALIASES = {
    "user": "user", "human": "user", "patient": "user",
    "assistant": "assistant", "gpt": "assistant", "doctor": "assistant",
    "system": "system",
}  # fmt: skip
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class CorpusError(ValueError):
    """A corpus that cannot be read; the message names the file and line."""


@dataclass
class ParsedCorpus:
    """Dialogues read from one source, with the source line where each starts, and what was dropped."""

    dialogues: list[list[dict[str, str]]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)

    def add(self, messages: list[dict[str, str]], line: int) -> None:
        messages = normalize_messages(messages, self.dropped)
        if messages:
            self.dialogues.append(messages)
            self.lines.append(line)
        else:
            self.dropped["dialogues_without_a_pair"] += 1


def normalize_messages(messages: list[dict[str, str]], dropped: Counter) -> list[dict[str, str]]:
    """Shape messages as `[system] user assistant user assistant ...`, counting every change in `dropped`.

    Empty turns are dropped, consecutive turns of one role are joined with a newline, doctor turns before the first
    patient turn are dropped, and a last patient turn with no answer (a dangling question) is dropped.
    """
    system = [m for m in messages[:1] if m["role"] == "system" and m["content"].strip()]
    out: list[dict[str, str]] = []
    for message in messages[len(system) :]:
        content = message["content"].strip()
        if not content:
            dropped["empty_turns"] += 1
        elif message["role"] == "system":
            dropped["system_turns_not_first"] += 1
        elif not out and message["role"] == "assistant":
            dropped["leading_doctor_turns"] += 1
        elif out and out[-1]["role"] == message["role"]:
            out[-1] = {"role": message["role"], "content": out[-1]["content"] + "\n" + content}
            dropped["merged_turns"] += 1
        else:
            out.append({"role": message["role"], "content": content})
    if out and out[-1]["role"] == "user":
        out.pop()
        dropped["dangling_questions"] += 1
    if not out:
        return []
    return [{"role": "system", "content": system[0]["content"].strip()}] + out if system else out


def read_text(path: str) -> str:
    """Read a UTF-8 text file (a BOM is allowed), raising :class:`CorpusError` for anything else."""
    if not os.path.exists(path):
        raise CorpusError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CorpusError(f"{path}: is a directory; give the corpus file itself")
    with open(path, "rb") as f:
        data = f.read()
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise CorpusError(f"{path}:{line}: looks like a binary file (NUL byte at offset {nul}), not UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise CorpusError(
            f"{path}:{line}: invalid UTF-8 (byte 0x{data[e.start]:02x} at column {column}); re-save the file as UTF-8"
        ) from None
    if not text.strip():
        raise CorpusError(f"{path}: the corpus is empty")
    return text


def parse_chitchat(path: str, text: str) -> ParsedCorpus:
    """Parse GPT2-chitchat `train.txt`: any line that is empty or only whitespace ends a dialogue."""
    parsed, turns, start = ParsedCorpus(), [], 0
    for number, line in enumerate([*_LINE_BREAK.split(text), ""], start=1):
        if line.strip():
            start = start or number
            turns.append(line.strip())
        elif turns:
            parsed.add([{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(turns)], start)
            turns, start = [], 0
    return parsed


def _records(path: str, text: str):
    """Yield `(line, record)` from JSONL, or from one JSON array (then `line` is the record's index)."""
    if path.endswith(".json") and text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as e:
            raise CorpusError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
        yield from enumerate(records, start=1)
        return
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusError(f"{path}:{number}: not valid JSON ({e.msg} at column {e.colno})") from None


def convert_messages(where: str, raw, messages_column: str) -> list[dict[str, str]]:
    """Turn one record's message list (`role`/`content`, or ShareGPT's `from`/`value`) into our roles."""
    if not isinstance(raw, list):
        raise CorpusError(f"{where}: '{messages_column}' must be a list of {{role, content}} objects")
    out = []
    for i, message in enumerate(raw, start=1):
        if not isinstance(message, dict):
            raise CorpusError(f"{where}: message {i} is not an object")
        role, content = message.get("role", message.get("from")), message.get("content", message.get("value"))
        if role is None or content is None:
            raise CorpusError(f"{where}: message {i} has no 'role' or no 'content'")
        if str(role).lower() not in ROLE_ALIASES:
            known = ", ".join(sorted(ROLE_ALIASES))
            raise CorpusError(f"{where}: message {i} has unknown role {role!r} (known roles: {known})")
        out.append({"role": ROLE_ALIASES[str(role).lower()], "content": str(content)})
    return out


def qa_messages(where: str, record: dict, question_column: str, answer_column: str) -> list[dict[str, str]]:
    """Turn one question/answer record into a single-turn dialogue."""
    missing = [c for c in (question_column, answer_column) if c not in record]
    if missing:
        found = ", ".join(map(str, record)) or "none"
        raise CorpusError(f"{where}: missing column(s) {', '.join(map(repr, missing))} (found: {found})")
    question, answer = (record[c] for c in (question_column, answer_column))
    return [{"role": "user", "content": str(question or "")}, {"role": "assistant", "content": str(answer or "")}]


def record_messages(where: str, record: dict, corpus_format: str, columns: dict[str, str]) -> list[dict[str, str]]:
    """One JSON or hub record as messages: its `messages_column` list, or its question/answer columns.

    `corpus_format` is `messages`, `qa`, or `auto` (messages when the record has the messages column).
    """
    messages_column = columns["messages_column"]
    if corpus_format == "messages" or (corpus_format == "auto" and messages_column in record):
        if messages_column not in record:
            raise CorpusError(f"{where}: missing column '{messages_column}'")
        return convert_messages(where, record[messages_column], messages_column)
    return qa_messages(where, record, columns["question_column"], columns["answer_column"])


def parse_json(path: str, text: str, corpus_format: str, columns: dict[str, str]) -> ParsedCorpus:
    """Parse JSONL (or a JSON array) holding `messages` records or question/answer records."""
    parsed = ParsedCorpus()
    for number, record in _records(path, text):
        where = f"{path}:{number}"
        if not isinstance(record, dict):
            raise CorpusError(f"{where}: expected a JSON object, got {type(record).__name__}")
        parsed.add(record_messages(where, record, corpus_format, columns), number)
    return parsed


def parse_csv(path: str, text: str, columns: dict[str, str]) -> ParsedCorpus:
    """Parse a CSV file with a header row and one question/answer pair a row."""
    parsed = ParsedCorpus()
    reader = csv.DictReader(text.splitlines(keepends=True))
    if not reader.fieldnames:
        raise CorpusError(f"{path}: the CSV file has no header row")
    for record in reader:
        where = f"{path}:{reader.line_num}"
        parsed.add(qa_messages(where, record, columns["question_column"], columns["answer_column"]), reader.line_num)
    return parsed


def read_corpus(
    path: str,
    corpus_format: str = "auto",
    question_column: str = "question",
    answer_column: str = "answer",
    messages_column: str = "messages",
) -> ParsedCorpus:
    """Read one corpus file.

    Args:
        path: a `.txt` (chitchat), `.jsonl`/`.json` (messages or question/answer) or `.csv` (question/answer) file.
        corpus_format: one of :data:`CORPUS_FORMATS`; `auto` decides by the extension and, for JSON, by the record.
        question_column: column or key that holds the patient's question in question/answer data.
        answer_column: column or key that holds the doctor's answer in question/answer data.
        messages_column: key that holds the message list in messages data.

    Returns:
        The :class:`ParsedCorpus`. Raises :class:`CorpusError` naming the file and line for bad input.
    """
    if corpus_format not in CORPUS_FORMATS:
        raise CorpusError(f"{path}: corpus_format must be one of {CORPUS_FORMATS}, got {corpus_format!r}")
    text = read_text(path)
    columns = {"question_column": question_column, "answer_column": answer_column, "messages_column": messages_column}
    ext = os.path.splitext(path)[1].lower()
    if corpus_format == "chitchat" or (corpus_format == "auto" and ext not in (".json", ".jsonl", ".csv")):
        parsed = parse_chitchat(path, text)
    elif ext == ".csv":
        if corpus_format == "messages":
            raise CorpusError(f"{path}: corpus_format 'messages' needs JSONL; a CSV file holds question/answer rows")
        parsed = parse_csv(path, text, columns)
    else:
        parsed = parse_json(path, text, corpus_format, columns)
    if not parsed.dialogues:
        dropped = ", ".join(f"{k}={v}" for k, v in sorted(parsed.dropped.items())) or "nothing"
        raise CorpusError(f"{path}: no complete patient/doctor dialogue found (dropped: {dropped})")
    return parsed
