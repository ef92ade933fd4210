"""Fail fast without a network: switch the HF clients to offline mode when the hub cannot be reached.

Without this, every hub lookup on a machine with no network retries with backoff (23-46 s each, measured), before
failing. With offline mode on, cached repos still load, and missing ones fail at once.
"""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlparse

logger = logging.getLogger(__name__)


def ensure_hub_reachable_or_offline(timeout: float = 3.0) -> bool:
    """Probe the hub endpoint once; if it is unreachable, turn on offline mode for this process and its children.

    Returns:
        True when the hub can be used online.
    """
    import datasets
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError as e:
        logger.warning("The hub at %s is unreachable (%s): using offline mode and the local cache only", url.netloc, e)
        os.environ["HF_HUB_OFFLINE"] = "1"
        constants.HF_HUB_OFFLINE = True
        datasets.config.HF_HUB_OFFLINE = True
        return False


def from_folder_or_hub(load, name_or_path: str):
    """`load(name_or_path)` for a local folder, or for a hub id once the hub is known to answer (else offline mode).

    A name that is no folder fails with an `OSError` that says so, and, when it could be a hub id, why the hub
    did not give it: a hub id needs the network (or the local cache), and the hub may not hold it.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if os.path.isdir(name_or_path):
        return load(name_or_path)
    try:
        validate_repo_id(name_or_path)
    except HFValidationError:
        raise OSError(f"{name_or_path}: no such folder (and not a hub id, which looks like user/name)") from None
    online = ensure_hub_reachable_or_offline()
    try:
        return load(name_or_path)
    except (OSError, ValueError) as e:  # the hub client's "not found", "offline" and "gated" errors
        why = (
            f"the hub gave no model {name_or_path!r} ({type(e).__name__}; is the name right, or is it private?)"
            if online
            else "a hub id needs the network, and the hub is unreachable (offline mode) nor is it in the local cache"
        )
        raise OSError(f"{name_or_path}: no such folder; {why}") from None


def hub_repo_name(hub_model_id: str | None, output_dir: str) -> str:
    """The repo a run is pushed to (and its model card's name): `--hub_model_id`, else the output folder's name, as
    the Trainer names the repo it creates; a name without `user/` goes under the token's user."""
    return hub_model_id or os.path.basename(os.path.abspath(output_dir))


class HubError(RuntimeError):
    """The hub cannot be used for this push: offline, no token, or a folder with nothing to push."""


def check_push_possible(token: str | None = None) -> str:
    """Fail fast, before any training or upload, when a push cannot succeed; returns the token to use."""
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise HubError("no hub token: run `hf auth login` or set HF_TOKEN (nothing was pushed)")
    if not ensure_hub_reachable_or_offline():
        raise HubError("the hub is unreachable (offline mode): nothing was pushed")
    return token


def push_folder(folder: str, repo_id: str, private: bool | None = None, token: str | None = None) -> str:
    """Upload a trained folder (weights, tokenizer, configs, model card; no checkpoints) to a model repo.

    Args:
        folder: a final output folder; it must hold `model.safetensors`.
        repo_id: `user/name` on the hub; created if missing.
        private: create the repo private.
        token: a write token; defaults to the logged-in one.

    Returns:
        The URL of the commit.
    """
    from huggingface_hub import HfApi

    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        raise HubError(f"{folder}: no model.safetensors, so there are no weights to push (nothing was pushed)")
    token = check_push_possible(token)
    api = HfApi(token=token)
    try:
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id  # with its namespace
        commit = api.upload_folder(
            repo_id=repo_id, folder_path=folder, ignore_patterns=["checkpoint-*", "_*", "*.tmp-*"],
            commit_message="Upload medbot-hf model",
        )  # fmt: skip
    except Exception as e:  # HTTP, auth and network errors alike: say what failed, claim nothing
        raise HubError(f"push of {folder} to {repo_id} failed ({type(e).__name__}: {str(e)[:300]})") from None
    return commit.commit_url
