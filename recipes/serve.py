"""Serve a trained folder: the chat page at /, a JSON API and an OpenAI-compatible API (also `medbot-serve`).

    python recipes/serve.py --model_name_or_path outputs/sample-smoke [--port 8000 --api_key SECRET]

Binds 127.0.0.1 unless --host says otherwise. Flags: `--help`.
"""

from medbot_hf.serve_cli import main

if __name__ == "__main__":
    main()
