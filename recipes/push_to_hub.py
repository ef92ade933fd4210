"""Upload a trained output folder (weights, tokenizer, configs, model card; no checkpoints) to a model repo.

    python recipes/push_to_hub.py --folder outputs/sample-smoke --repo_id USER/medbot-smoke [--private]

Needs a write token (`hf auth login` or HF_TOKEN). Offline or without a token it stops within seconds and says so.
"""

import argparse
import sys

from medbot_hf.hub import HubError, push_folder


def main(args: argparse.Namespace) -> None:
    try:
        url = push_folder(args.folder, args.repo_id, private=args.private, token=args.token)
    except HubError as e:
        sys.exit(f"error: {e}")
    print(f"Pushed {args.folder} to {url}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True, help="A final output folder holding model.safetensors.")
    parser.add_argument("--repo_id", required=True, help="USER/NAME on the hub; created if missing.")
    parser.add_argument("--private", action="store_true", help="Create the repo private.")
    parser.add_argument("--token", default=None, help="Write token (default: the logged-in one).")
    main(parser.parse_args())
