"""Read dialogue corpora into one shape: a list of `{"role", "content"}` messages per dialogue.

Formats: GPT2-chitchat `train.txt` (one utterance a line, patient and doctor alternating, a blank line between
dialogues), JSONL with a `messages` list, and CSV or JSONL question/answer rows. Every problem with the input is a
:class:`CorpusError` naming the file and, where there is one, the line. What is dropped on the way is counted.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field

from .chat_format import ROLES

CORPUS_FORMATS = ("auto", "chitchat", "messages", "qa")
ROLE_ALIASES = {
    **{role: role for role in ROLES},
    "human": "user", "patient": "user", "gpt": "assistant", "doctor": "assistant",
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


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "UTF-32", "utf-32"), (codecs.BOM_UTF32_BE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF16_LE, "UTF-16", "utf-16"), (codecs.BOM_UTF16_BE, "UTF-16", "utf-16"),
)  # fmt: skip
_NOT_REGULAR = (
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)  # fmt: skip


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; a `ValueError` naming `--encoding` for a name Python does not know."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"--encoding {encoding!r}: not a codec Python knows (e.g. utf-8, gb18030, utf-16)") from None


def read_bytes(path: str) -> bytes:
    """The bytes of a regular file (a symlink is followed); a :class:`CorpusError` naming anything else.

    Devices, FIFOs and sockets are refused before they are opened: `/dev/zero` never ends and a FIFO may never
    answer. At most the size `stat` reported is read, so memory is bounded by the file, not by what a source sends.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file") from None
    if stat.S_ISDIR(info.st_mode):
        raise CorpusError(f"{path}: is a directory; give the corpus file itself")
    kind = next((name for test, name in _NOT_REGULAR if test(info.st_mode)), None)
    if kind or not stat.S_ISREG(info.st_mode):
        raise CorpusError(f"{path}: is {kind or 'not a regular file'}, not a corpus file; give a regular file")
    with open(path, "rb") as f:
        return f.read(info.st_size)


def _position(data: bytes, offset: int, encoding: str) -> tuple[int, int]:
    """Line and column (1-based, in characters) of byte `offset` of `data`."""
    before = data[:offset].decode(encoding, errors="replace")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def read_text(path: str, encoding: str = "utf-8") -> str:
    """Read a text file in `encoding` (any Python codec; for UTF-8 a BOM is allowed), raising :class:`CorpusError`
    for anything else: not a regular file, binary, undecodable (with a hint to the likely encoding), or empty."""
    codec = check_encoding(encoding)
    data = read_bytes(path)
    utf8 = codec == "utf-8"
    bom = next(((name, hint) for mark, name, hint in _BOMS if data.startswith(mark)), None) if utf8 else None
    if bom:
        raise CorpusError(
            f"{path}: is {bom[0]} text (it starts with a {bom[0]} byte-order mark), not UTF-8; "
            f"give --encoding {bom[1]} or re-save the file as UTF-8"
        )
    nul = data.find(b"\x00") if utf8 else -1
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise CorpusError(f"{path}:{line}: looks like a binary file (NUL byte at offset {nul}), not UTF-8 text")
    try:
        text = data.decode("utf-8-sig" if utf8 else codec).removeprefix("\ufeff")  # e.g. utf-16-be keeps its mark
    except UnicodeDecodeError as e:
        line, column = _position(data, e.start, "utf-8" if utf8 else codec)
        byte = f"byte 0x{data[e.start]:02x} at column {column}"
        if utf8:
            raise CorpusError(
                f"{path}:{line}: invalid UTF-8 ({byte}); re-save the file as UTF-8, or if it is GB18030/GBK "
                "(common for Chinese corpora) give --encoding gb18030"
            ) from None
        raise CorpusError(f"{path}:{line}: invalid {encoding} ({byte}); is --encoding {encoding} right?") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise CorpusError(f"{path}:{text.count(chr(10), 0, nul) + 1}: looks like a binary file (a NUL character)")
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
    encoding: str = "utf-8",
) -> ParsedCorpus:
    """Read one corpus file.

    Args:
        path: a `.txt` (chitchat), `.jsonl`/`.json` (messages or question/answer) or `.csv` (question/answer) file.
        corpus_format: one of :data:`CORPUS_FORMATS`; `auto` decides by the extension and, for JSON, by the record.
        question_column: column or key that holds the patient's question in question/answer data.
        answer_column: column or key that holds the doctor's answer in question/answer data.
        messages_column: key that holds the message list in messages data.
        encoding: the file's text encoding, any Python codec name (`gb18030` for most Chinese corpora).

    Returns:
        The :class:`ParsedCorpus`. Raises :class:`CorpusError` naming the file and line for bad input.
    """
    if corpus_format not in CORPUS_FORMATS:
        raise CorpusError(f"{path}: corpus_format must be one of {CORPUS_FORMATS}, got {corpus_format!r}")
    text = read_text(path, encoding)
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
