"""The terminal chat (`medbot-chat`, `python recipes/chat.py`): streaming replies, history, commands, transcript.

On a terminal it is a REPL. With stdin piped it answers one reply per input line on stdout and exits at EOF, so
scripts can use it; the banner then goes to stderr.
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
import threading

from .configs import ChatArguments, GenerationArguments, RerankArguments, parse_args
from .generation import enable_compiled_decoding, question_room, stream_reply
from .modeling import encode_texts, load_for_inference
from .pipeline import AI_LABEL, start_answer
from .reranking import Reranker
from .retrieval import format_consultations, load_model_index
from .safety import advice_block

BANNER = (
    "medbot-hf 医疗问诊演示。本机器人不是医生，回答由模型生成、可能有误，仅供参考，不能替代专业诊疗。\n"
    "如有急症请立即拨打 120 或前往急诊。输入 /help 查看命令，Ctrl-D 退出。"
)
HELP = (
    "/reset    清空对话历史\n/history  显示对话历史\n/help     显示本帮助\n/quit     退出（也可 /exit）\n"
    "命令不分大小写。回复生成时按 Ctrl-C 可中断该回复；方向键可编辑输入，上下键翻看以前的问题。"
)
BOT = f"医生（{AI_LABEL}）: "  # every model line, on screen and in the transcript, says it is AI-generated
COMMANDS = ("/reset", "/history", "/help", "/quit", "/exit")
DEFAULT_SAMPLES_FILE = os.path.join("samples", "chat_samples.txt")


def history_file(samples_file: str) -> str:
    """The readline history, next to the transcript: `samples/chat_samples.txt` -> `samples/chat_samples.history`."""
    return os.path.splitext(samples_file)[0] + ".history"


def line_editing(path: str):
    """Turn on the standard library's readline (arrow keys, Up for earlier questions) with its history in `path`.

    Returns a function that appends the latest line to `path`, or None where readline does not exist (Windows). Reading
    through readline also takes the terminal out of its line mode, whose 4096-byte line cut a long paste short.
    """
    try:
        import readline
    except ImportError:
        return None
    readline.set_auto_history(True)
    if os.path.isfile(path):
        readline.read_history_file(path)
    open(path, "a", encoding="utf-8").close()  # append_history_file needs the file to exist

    def remember() -> None:
        readline.append_history_file(1, path)

    return remember


def command(line: str) -> str | None:
    """The command a line asks for (`/HELP` and `/quit now` included), or None for a question. An unknown `/word`
    is `/help`; a full-width slash (`／`, from a Chinese input method) counts as `/`."""
    if not line.startswith(("/", "／")):
        return None
    word = "/" + line[1:].split(maxsplit=1)[0].lower() if line[1:].strip() else "/help"
    return word if word in COMMANDS else "/help"


class Transcript:
    """Appends each exchange, with a timestamp, to the samples file (as the ancestor saved its samples)."""

    def __init__(self, path: str, model_name: str):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the session
        self.write(f"=== session {model_name}")

    def write(self, line: str) -> None:
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        self.file.write(f"[{stamp}] {line}\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class ChatSession:
    """History plus one reply at a time; `reply` streams text pieces to `emit`."""

    def __init__(self, model, tokenizer, chat_args: ChatArguments, gen_args: GenerationArguments, reranker=None,
                 index=None):  # fmt: skip
        self.model, self.tokenizer = model, tokenizer
        self.chat_args, self.overrides = chat_args, gen_args.overrides()
        # N candidates, the best kept (the reply then comes in one piece); not GenerationConfig fields
        self.rerank = {"num_candidates": reranker.weights.num_candidates, "reranker": reranker} if reranker else {}
        self.index = index
        self.history: list[dict[str, str]] = []
        self.stop_event = threading.Event()

    def overflow(self, question: str) -> tuple[int, int] | None:
        """`(ids, room)` when `question` alone is longer than a prompt can hold (its start would be cut), else None."""
        room = question_room(self.model, self.chat_args.max_seq_length, **self.overrides)
        ids = len(encode_texts(self.tokenizer, [question])[0])
        return (ids, room) if ids > room else None

    def reply(self, question: str, emit) -> tuple[str, bool]:
        """Answer `question` through the answer pipeline (triage, generate, guard, advice first as a block of its
        own); returns `(reply, finished)`, the reply as shown. An interrupted reply is not kept in the history."""
        messages = [*self.history, {"role": "user", "content": question}]
        answer = start_answer(messages)
        if answer.triage.urgent:
            emit(advice_block(answer.triage))
        self.stop_event.clear()
        try:
            for piece in stream_reply(
                self.model, self.tokenizer, messages, max_seq_length=self.chat_args.max_seq_length,
                max_history_len=self.chat_args.max_history_len, seed=self.chat_args.seed,
                stop_event=self.stop_event, **self.overrides, **self.rerank,
            ):  # fmt: skip
                if shown := answer.feed(piece):  # whole sentences, once the guard has checked them
                    emit(shown)
        except KeyboardInterrupt:
            self.stop_event.set()
            emit(answer.finish())
            return answer.text, False
        emit(answer.finish())
        text = answer.text
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        return text, True

    def similar(self, question: str) -> str | None:
        """The `--show_similar` consultations for `question`, as labelled text; None when off or none match."""
        found = self.index.search(question, self.chat_args.show_similar) if self.index is not None else []
        return format_consultations(found) if found else None


def overflow_note(session: ChatSession, question: str) -> str | None:
    """A note for a question longer than the model can read, or None: the start is cut, never silently."""
    over = session.overflow(question)
    if over is None:
        return None
    return f"（问题有 {over[0]} 个字词，模型一次最多读 {over[1]} 个：只有最后 {over[1]} 个会被读到，开头会被截掉。）"


def _interactive(session: ChatSession, transcript: Transcript, remember) -> None:
    def emit(text: str) -> None:
        print(text, end="", flush=True)

    # Ctrl-C stops a reply even when the chat was started with SIGINT ignored (`nohup`, a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(BANNER)
    while True:
        try:
            print()
            line = input("患者: ").strip()
        except EOFError:
            print("\n再见。")
            return
        except KeyboardInterrupt:
            print("\n(输入 /quit 或按 Ctrl-D 退出)")
            continue
        except UnicodeDecodeError as e:  # plain input(); readline hands the bad bytes over as lone surrogates
            print(f"输入不是有效的 UTF-8（第 {e.start + 1} 个字节），请重新输入。")
            continue
        if not line:
            continue
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as e:
            print(f"输入不是有效的 UTF-8（第 {e.start + 1} 个字），请重新输入。")
            continue
        if remember:
            remember()
        word = command(line)
        if word in ("/quit", "/exit"):
            print("再见。")
            return
        if word == "/help":
            print(HELP)
        elif word == "/reset":
            session.history = []
            transcript.write("--- reset")
            print("已清空对话历史。")
        elif word == "/history":
            for m in session.history:
                print(("患者: " if m["role"] == "user" else BOT) + m["content"])
            print(f"({len(session.history) // 2} 轮)")
        else:
            note = overflow_note(session, line)
            if note:
                print(note)
            print(BOT, end="", flush=True)
            text, finished = session.reply(line, emit)
            print("" if finished else " [已中断]")
            if finished and (similar := session.similar(line)):
                print(similar)
            transcript.write(f"患者: {line}")
            transcript.write(f"{BOT}{text}" + ("" if finished else " [interrupted]"))


def _piped(session: ChatSession, transcript: Transcript) -> None:
    print(BANNER, file=sys.stderr)
    skipped = 0
    for number, raw in enumerate(sys.stdin.buffer, 1):  # bytes, so that one bad line cannot end the chat
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            skipped += 1
            shown = raw.decode("utf-8", errors="replace").strip()
            print(f"第 {number} 行不是有效的 UTF-8（第 {e.start + 1} 个字节），已跳过：{shown}", file=sys.stderr)
            continue
        if not line:
            continue
        note = overflow_note(session, line)
        if note:
            print(f"第 {number} 行：{note}", file=sys.stderr)
        pieces: list[str] = []
        text, _ = session.reply(line, pieces.append)  # urgent advice first, then the reply
        print("".join(pieces).strip().replace("\n", " "), flush=True)
        if similar := session.similar(line):  # stdout keeps one line per reply
            print(similar, file=sys.stderr, flush=True)
        transcript.write(f"患者: {line}")
        transcript.write(f"{BOT}{text}")
    if skipped:
        print(f"共跳过 {skipped} 行无效输入。", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-chat`."""
    chat_args, gen_args, rerank_args = parse_args((ChatArguments, GenerationArguments, RerankArguments), argv)
    try:
        model, tokenizer = load_for_inference(chat_args.model_name_or_path, chat_args.device, chat_args.quantize)
        reranker = Reranker.from_args(rerank_args, chat_args.device) if rerank_args.num_candidates > 1 else None
        index = load_model_index(chat_args.model_name_or_path) if chat_args.show_similar else None
    except (OSError, ValueError) as e:
        sys.exit(f"error: cannot load the model: {e}")
    if chat_args.torch_compile:
        enable_compiled_decoding(model)
    samples_file = chat_args.samples_file or DEFAULT_SAMPLES_FILE
    transcript = Transcript(samples_file, chat_args.model_name_or_path)
    session = ChatSession(model, tokenizer, chat_args, gen_args, reranker, index)
    try:
        if sys.stdin.isatty():
            _interactive(session, transcript, line_editing(history_file(samples_file)))
        else:
            _piped(session, transcript)
    finally:
        transcript.close()
