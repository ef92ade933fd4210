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
from .generation import enable_compiled_decoding, stream_reply
from .modeling import load_for_inference
from .pipeline import AI_LABEL, start_answer
from .reranking import Reranker
from .retrieval import format_consultations, load_model_index

BANNER = (
    "medbot-hf 医疗问诊演示。本机器人不是医生，回答由模型生成、可能有误，仅供参考，不能替代专业诊疗。\n"
    "如有急症请立即拨打 120 或前往急诊。输入 /help 查看命令，Ctrl-D 退出。"
)
HELP = (
    "/reset    清空对话历史\n/history  显示对话历史\n/help     显示本帮助\n/quit     退出\n"
    "回复生成时按 Ctrl-C 可中断该回复。"
)
BOT = f"医生（{AI_LABEL}）: "  # every model line, on screen and in the transcript, says it is AI-generated
DEFAULT_SAMPLES_FILE = os.path.join("samples", "chat_samples.txt")


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
        if reranker is not None:  # N candidates, the best kept; the reply then comes in one piece
            self.overrides.update(num_candidates=reranker.weights.num_candidates, reranker=reranker)
        self.index = index
        self.history: list[dict[str, str]] = []
        self.stop_event = threading.Event()

    def reply(self, question: str, emit) -> tuple[str, bool]:
        """Answer `question` through the answer pipeline (triage, generate, guard, advice first); returns
        `(reply, finished)`, the reply as shown. An interrupted reply is not kept in the history."""
        messages = [*self.history, {"role": "user", "content": question}]
        answer = start_answer(messages)
        if answer.triage.urgent:
            emit(answer.triage.advice + "\n")
        self.stop_event.clear()
        try:
            for piece in stream_reply(
                self.model, self.tokenizer, messages, max_seq_length=self.chat_args.max_seq_length,
                max_history_len=self.chat_args.max_history_len, seed=self.chat_args.seed,
                stop_event=self.stop_event, **self.overrides,
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


def _interactive(session: ChatSession, transcript: Transcript) -> None:
    def emit(text: str) -> None:
        print(text, end="", flush=True)

    # Ctrl-C stops a reply even when the chat was started with SIGINT ignored (`nohup`, a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(BANNER)
    while True:
        try:
            line = input("\n患者: ").strip()
        except EOFError:
            print("\n再见。")
            return
        except KeyboardInterrupt:
            print("\n(输入 /quit 或按 Ctrl-D 退出)")
            continue
        if not line:
            continue
        if line in ("/quit", "/exit"):
            print("再见。")
            return
        if line == "/help":
            print(HELP)
        elif line == "/reset":
            session.history = []
            transcript.write("--- reset")
            print("已清空对话历史。")
        elif line == "/history":
            for m in session.history:
                print(("患者: " if m["role"] == "user" else BOT) + m["content"])
            print(f"({len(session.history) // 2} 轮)")
        else:
            print(BOT, end="", flush=True)
            text, finished = session.reply(line, emit)
            print("" if finished else " [已中断]")
            if finished and (similar := session.similar(line)):
                print(similar)
            transcript.write(f"患者: {line}")
            transcript.write(f"{BOT}{text}" + ("" if finished else " [interrupted]"))


def _piped(session: ChatSession, transcript: Transcript) -> None:
    print(BANNER, file=sys.stderr)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        pieces: list[str] = []
        text, _ = session.reply(line, pieces.append)  # urgent advice first, then the reply
        print("".join(pieces).strip().replace("\n", " "), flush=True)
        if similar := session.similar(line):  # stdout keeps one line per reply
            print(similar, file=sys.stderr, flush=True)
        transcript.write(f"患者: {line}")
        transcript.write(f"{BOT}{text}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-chat`."""
    chat_args, gen_args, rerank_args = parse_args((ChatArguments, GenerationArguments, RerankArguments), argv)
    try:
        model, tokenizer = load_for_inference(chat_args.model_name_or_path, chat_args.device)
        reranker = Reranker.from_args(rerank_args, chat_args.device) if rerank_args.num_candidates > 1 else None
        index = load_model_index(chat_args.model_name_or_path) if chat_args.show_similar else None
    except (OSError, ValueError) as e:
        sys.exit(f"error: cannot load {chat_args.model_name_or_path}: {e}")
    if chat_args.torch_compile:
        enable_compiled_decoding(model)
    transcript = Transcript(chat_args.samples_file or DEFAULT_SAMPLES_FILE, chat_args.model_name_or_path)
    session = ChatSession(model, tokenizer, chat_args, gen_args, reranker, index)
    try:
        (_interactive if sys.stdin.isatty() else _piped)(session, transcript)
    finally:
        transcript.close()
