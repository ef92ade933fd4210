"""A small red-flag classifier backing up the triage rules: hashed character n-grams + multinomial logistic regression.

The rules in :mod:`medbot_hf.safety.triage` catch the phrasings they were written for; this model catches the same
emergencies worded another way. It reads a message as clauses (the rules' own splitting) and turns each into
character 1-3-grams, each hashed (CRC32) into :data:`BUCKETS` rows twice: once plain and once tagged with the
clause's kind, "now" or "background" (a past, hypothetical or general-knowledge clause, as the rules judge it), so
that "胸痛" in "去年胸痛过" weighs differently from "胸痛" in "现在胸痛". A message's logits are the sum of its
n-gram rows (each distinct n-gram once, divided by the square root of their number) plus a bias, over the 33 triage
categories and `none`; the urgency is `1 - p(none)`.

The weights ship in the package (`data/triage_classifier.safetensors`, float16) with the threshold chosen on the
training script's own validation split and the real-corpus fire rate (never on a held-out test set). They were built
with `python -m medbot_hf.safety.train_triage` (see that module), which is reproducible from its seed. The shipped
file predates the merge of the clause reader into `safety/context.py`, which tags a few more clauses (fears,
hearsay) as background, so a rebuild today gives slightly different weights, not the shipped bytes.

Inference is numpy only: the file loads once, lazily, on the first call (a few tens of milliseconds); a message then
takes well under a millisecond (measured in `benchmarks/bench_triage.py`).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from .context import is_background, split_clauses

BUCKETS = 2**16  # rows of the hashed n-gram table; 2**16 x 34 float16 is 4.5 MB
NGRAMS = (1, 2, 3)
NONE = "none"
WEIGHTS_FILE = "triage_classifier.safetensors"
_NOW_CRC, _BACKGROUND_CRC = zlib.crc32(b"n\x00"), zlib.crc32(b"b\x00")  # the clause-kind tags, hashed in front


def clauses(text: str) -> list[tuple[str, bool]]:
    """The message as `(clause, is_background)` pairs, split and normalised as the rules do."""
    return [(c, is_background(c)) for c in split_clauses(text)]


def feature_ids(text: str) -> np.ndarray:
    """Sorted distinct hashed feature ids of a message (plain n-grams and clause-kind-tagged n-grams)."""
    ids = set()
    for clause, background in clauses(text):
        tag = _BACKGROUND_CRC if background else _NOW_CRC
        for n in NGRAMS:
            for i in range(len(clause) - n + 1):
                gram = clause[i : i + n].encode("utf-8")
                ids.add(zlib.crc32(gram) % BUCKETS)
                ids.add(zlib.crc32(gram, tag) % BUCKETS)  # = crc32(tag + gram)
    return np.fromiter(sorted(ids), dtype=np.int64, count=len(ids))


@dataclass(frozen=True)
class TriageModel:
    """Loaded classifier weights.

    Args:
        weight: `(BUCKETS, len(labels))` float32 n-gram rows.
        bias: `(len(labels),)` float32.
        labels: the class names, the triage categories then `none` (as stored).
        threshold: urgency (`1 - p(none)`) at or above which the message counts as urgent.
        meta: the rest of the file's metadata (seed, data counts, validation figures), for reports.
    """

    weight: np.ndarray
    bias: np.ndarray
    labels: tuple[str, ...]
    threshold: float
    meta: dict

    def probabilities(self, text: str) -> np.ndarray:
        """Softmax over :attr:`labels` for one message."""
        ids = feature_ids(text)
        logits = self.bias.copy()
        if len(ids):
            logits += self.weight[ids].sum(axis=0) / np.sqrt(len(ids))
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def predict(self, text: str) -> tuple[float, str]:
        """`(urgency, most likely category)` of one message; urgency is `1 - p(none)`."""
        probs = self.probabilities(text)
        none = self.labels.index(NONE)
        urgency = float(1.0 - probs[none])
        probs[none] = -1.0
        return urgency, self.labels[int(probs.argmax())]


def weights_path():
    """Where the shipped weights are (inside the installed package)."""
    return resources.files("medbot_hf.safety") / "data" / WEIGHTS_FILE


def load_model(path=None) -> TriageModel:
    """Read a weights file written by :mod:`medbot_hf.safety.train_triage` (default: the shipped one)."""
    from safetensors import safe_open

    path = weights_path() if path is None else Path(path)
    with resources.as_file(path) as real:
        with safe_open(str(real), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            weight = f.get_tensor("weight").astype(np.float32)
            bias = f.get_tensor("bias").astype(np.float32)
    labels = tuple(json.loads(meta.pop("labels")))
    if weight.shape != (BUCKETS, len(labels)) or NONE not in labels:
        raise ValueError(f"{path}: weights of shape {weight.shape} for {len(labels)} labels; expected {BUCKETS} rows")
    threshold = float(meta.pop("threshold"))
    return TriageModel(weight, bias, labels, threshold, {k: json.loads(v) for k, v in meta.items()})


@cache
def shipped_model() -> TriageModel:
    """The package's classifier, loaded once on first use."""
    return load_model()
