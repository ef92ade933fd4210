"""`medbot-serve`: load a trained folder and serve the chat page and APIs with uvicorn."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from .api_schema import ServeLimits
from .batching import Scheduler
from .configs import LOG_FORMAT, GenerationArguments, RerankArguments, ServeArguments, parse_args
from .modeling import load_for_inference
from .reranking import Reranker
from .retrieval import load_model_index
from .serving import create_app

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-serve` and `recipes/serve.py`."""
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)
    args, gen_args, rerank_args = parse_args((ServeArguments, GenerationArguments, RerankArguments), argv)
    try:
        model, tokenizer = load_for_inference(args.model_name_or_path, args.device, args.quantize)
        reranker = Reranker.from_args(rerank_args, args.device) if rerank_args.num_candidates > 1 else None
    except (OSError, ValueError) as e:
        sys.exit(f"error: cannot load the model: {e}")
    rerank = {"num_candidates": rerank_args.num_candidates, "reranker": reranker} if reranker else None
    index = None
    if args.show_similar:
        try:
            index = load_model_index(args.model_name_or_path)
        except OSError as e:  # a folder trained before indexes existed, or a hub id: replies carry none
            logger.warning("No similar consultations: %s", e)
    model.generation_config.update(**gen_args.overrides())
    # replies may take at most half the context, so a prompt always has room
    cap = min(args.max_tokens_cap, (args.max_seq_length or model.config.n_positions) // 2)
    model.generation_config.max_new_tokens = min(model.generation_config.max_new_tokens, cap)
    scheduler = Scheduler(
        model, tokenizer, args.max_batch_size, args.max_queue, args.max_seq_length, args.request_timeout_s
    )
    limits = ServeLimits(max_tokens_cap=cap, request_timeout_s=args.request_timeout_s)
    origins = tuple(o.strip() for o in (args.cors_origins or "").split(",") if o.strip())
    name = (
        os.path.basename(os.path.abspath(args.model_name_or_path))
        if os.path.isdir(args.model_name_or_path)
        else args.model_name_or_path
    )
    key = args.api_key or os.environ.get("MEDBOT_API_KEY")
    app = create_app(scheduler, name, limits, key, origins, args.log_messages, rerank, index, args.show_similar)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server_process(
    model_dir: str, *flags: str, log_path: str, script: str | None = None, startup_timeout_s: float = 90.0
) -> Iterator[str]:
    """Run `medbot-serve` in a child process on a free port of 127.0.0.1 for the `with` block (tests, benchmarks).

    Args:
        model_dir: the folder to serve.
        *flags: more `medbot-serve` flags, e.g. `"--max_batch_size", "1"`.
        log_path: where the server's stdout and stderr go.
        script: a script to run instead of `python -m medbot_hf.serve_cli`, e.g. `recipes/serve.py`.
        startup_timeout_s: how long to wait for `/health`; the log's text is in the error after that.

    Yields:
        The base URL, once `/health` answers; the server is stopped when the block ends.
    """
    port = free_port()
    entry = [script] if script else ["-m", "medbot_hf.serve_cli"]
    command = [sys.executable, *entry, "--model_name_or_path", str(model_dir), "--port", str(port), *flags]
    with open(log_path, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    raise RuntimeError(f"the server did not start:\n{f.read()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
