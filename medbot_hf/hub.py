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


def hub_is_offline() -> bool:
    """True when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) asks for offline mode."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


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
