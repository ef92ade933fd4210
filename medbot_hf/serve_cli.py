"""`medbot-serve`: load a trained folder and serve the chat page and APIs with uvicorn."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from .api_schema import ServeLimits
from .batching import Batcher
from .configs import GenerationArguments, ServeArguments, parse_args
from .modeling import load_for_inference
from .serving import create_app


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-serve` and `recipes/serve.py`."""
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", level=logging.INFO)
    args, gen_args = parse_args((ServeArguments, GenerationArguments), argv)
    try:
        model, tokenizer = load_for_inference(args.model_name_or_path, args.device)
    except (OSError, ValueError) as e:
        sys.exit(f"error: cannot load the model: {e}")
    model.generation_config.update(**gen_args.overrides())
    # replies may take at most half the context, so a prompt always has room
    cap = min(args.max_tokens_cap, (args.max_seq_length or model.config.n_positions) // 2)
    model.generation_config.max_new_tokens = min(model.generation_config.max_new_tokens, cap)
    batcher = Batcher(model, tokenizer, args.max_batch_size, args.max_queue, max_seq_length=args.max_seq_length)
    limits = ServeLimits(max_tokens_cap=cap, request_timeout_s=args.request_timeout_s)
    origins = tuple(o.strip() for o in (args.cors_origins or "").split(",") if o.strip())
    name = (
        os.path.basename(os.path.abspath(args.model_name_or_path))
        if os.path.isdir(args.model_name_or_path)
        else args.model_name_or_path
    )
    app = create_app(
        batcher, name, limits, args.api_key or os.environ.get("MEDBOT_API_KEY"), origins, args.log_messages
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
