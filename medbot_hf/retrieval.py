"""Similar real consultations: a BM25 index (`bm25s`) over the training corpus's (question, answer) pairs.

Questions are indexed as character bigrams (a run of one character is its own token), so no word segmenter is
needed and a query that shares no character pair with a question scores 0 and is not returned. The index lives in
the model's folder, `retrieval_index/`: the `bm25s` arrays, `pairs.jsonl` (the question and answer texts, so loading
needs no corpus) and `index.json` (the corpus's sha256, sizes, library version and the corpus's terms of use).
What it returns is real text from the training corpus, never generated: every surface labels it so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass

import bm25s
import numpy as np

from .chat_format import split_system
from .safety import GuardResult, guard_reply

logger = logging.getLogger(__name__)
INDEX_DIR = "retrieval_index"
# Shown above retrieved consultations on every surface: they are real training text, not the model's words.
SIMILAR_LABEL = "相似的真实问诊：检索自训练语料中的真实医患对话，并非模型生成，仅供参考，不能替代诊疗。"
INDEX_FORMAT = 1
_RUNS = re.compile(r"[^\W_]+")  # letters, digits and CJK characters; punctuation and spaces split runs
# Lines of a corpus README that state its terms of use, carried into the model card.
_TERMS = re.compile(r"research use|license|licence|copyright|terms", re.IGNORECASE)


def bigrams(text: str) -> list[str]:
    """The tokens a text is indexed and searched by: overlapping character bigrams inside each run of letters,
    digits or CJK characters, lowercased; a run of one character is a token of its own."""
    tokens = []
    for run in _RUNS.findall(text.lower()):
        tokens += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return tokens


def qa_pairs(dialogues) -> list[tuple[str, str]]:
    """Every (patient turn, the doctor's answer to it) of a list of message lists, the system text left out."""
    pairs = []
    for messages in dialogues:
        turns = split_system(messages)[1]
        pairs += [(turns[i]["content"], turns[i + 1]["content"]) for i in range(0, len(turns) - 1, 2)]
    return pairs


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_terms(corpus_path: str) -> list[str]:
    """The paragraphs and list items of the README beside a corpus file that state its terms (license, research
    use), Markdown emphasis removed; none when there is no README."""
    readme = os.path.join(os.path.dirname(os.path.abspath(corpus_path)), "README.md")
    if not os.path.isfile(readme):
        return []
    items: list[str] = []
    with open(readme, encoding="utf-8") as f:
        for line in f:
            text = line.strip().replace("**", "")
            starts = line.lstrip().startswith(("- ", "* ", "#")) or not line.startswith(" ")
            if not text:
                items.append("")
            elif starts or not items or not items[-1]:
                items.append(text.lstrip("-*# "))
            else:  # an indented continuation of the item above
                items[-1] += " " + text
    return [item for item in items if _TERMS.search(item) and len(item) < 600]


@dataclass(frozen=True)
class Consultation:
    """One retrieved (question, answer) pair of the training corpus and its BM25 score."""

    question: str
    answer: str
    score: float


class RetrievalIndex:
    """BM25 over the questions of (question, answer) pairs; :meth:`search` returns the closest real pairs."""

    def __init__(self, retriever: bm25s.BM25, pairs: list[tuple[str, str]], meta: dict):
        self.retriever, self.pairs, self.meta = retriever, pairs, meta

    @classmethod
    def build(cls, pairs: list[tuple[str, str]], meta: dict | None = None) -> RetrievalIndex:
        """Index `pairs`; `meta` (corpus path, hash, terms) is saved with it."""
        if not pairs:
            raise ValueError("no (question, answer) pairs to index")
        start = time.perf_counter()
        retriever = bm25s.BM25()
        retriever.index([bigrams(q) for q, _ in pairs], show_progress=False)
        meta = {**(meta or {}), "format": INDEX_FORMAT, "pairs": len(pairs), "tokens": "character bigrams"}
        meta.update(library=f"bm25s {bm25s.__version__}", build_s=round(time.perf_counter() - start, 2))
        return cls(retriever, pairs, meta)

    def save(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        self.retriever.save(path, show_progress=False)
        with open(os.path.join(path, "pairs.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"question": q, "answer": a}, ensure_ascii=False) + "\n" for q, a in self.pairs)
        with open(os.path.join(path, "index.json"), "w", encoding="utf-8") as f:  # last: a complete index has it
            json.dump(self.meta, f, indent=2, ensure_ascii=False)

    @classmethod
    def load(cls, path: str) -> RetrievalIndex:
        """Load a saved index; the corpus it was built from is not needed."""
        if not os.path.isfile(os.path.join(path, "index.json")):
            raise OSError(
                f"{path}: no retrieval index (build one with medbot-index --model_name_or_path DIR --corpus FILE)"
            )
        with open(os.path.join(path, "index.json"), encoding="utf-8") as f:
            meta = json.load(f)
        with open(os.path.join(path, "pairs.jsonl"), encoding="utf-8") as f:
            pairs = [(row["question"], row["answer"]) for row in map(json.loads, f)]
        return cls(bm25s.BM25.load(path, show_progress=False, verbosity=0), pairs, meta)

    def search_many(self, queries: list[str], k: int) -> list[list[Consultation]]:
        """The (at most) `k` pairs whose questions best match each query, best first; pairs scoring 0 (no shared
        character pair) are left out, so a query with nothing in common gets an empty list."""
        if k < 1 or not queries:
            return [[] for _ in queries]
        k = min(k, len(self.pairs))
        docs, scores = self.retriever.retrieve([bigrams(q) for q in queries], k=k, show_progress=False, n_threads=0)
        return [
            [Consultation(*self.pairs[d], float(s)) for d, s in zip(row, row_scores, strict=True) if s > 0]
            for row, row_scores in zip(np.asarray(docs), np.asarray(scores), strict=True)
        ]

    def search(self, query: str, k: int) -> list[Consultation]:
        return self.search_many([query], k)[0]


def shown_answer(consultation: Consultation) -> GuardResult:
    """A retrieved doctor's answer as a user may see it: through the reply guard, as a generated reply is. A real
    answer holds another patient's doses as often as not, and those are not this user's to follow."""
    return guard_reply(consultation.answer)


def format_consultations(found: list[Consultation]) -> str:
    """The retrieved consultations as plain text under :data:`SIMILAR_LABEL`, for the terminal (answers guarded)."""
    lines = [f"[{SIMILAR_LABEL}]"]
    for i, c in enumerate(found, 1):
        lines += [f"  {i}. 患者: {c.question}", f"     医生(真实回答): {shown_answer(c).text}"]
    return "\n".join(lines)


def consultations_json(found: list[Consultation]) -> dict:
    """The retrieved consultations as the API's `similar_consultations` object: the label and the items, each answer
    guarded, with `guard` saying whether the guard changed it and why (as `medbot.guard` does for a reply)."""
    items = []
    for c in found:
        guarded = shown_answer(c)
        guard = {"changed": guarded.changed, "reasons": list(guarded.reasons)}
        items.append({**dataclasses.asdict(c), "answer": guarded.text, "guard": guard})
    return {"label": SIMILAR_LABEL, "items": items}


def build_corpus_index(dialogues, corpus_path: str | None, description: str) -> RetrievalIndex:
    """The index over `dialogues` (message lists), with the corpus file's hash and terms in its metadata.

    Args:
        dialogues: the training dialogues (the train split only: never the held-out ones).
        corpus_path: the file they were read from, for its sha256 and README terms; None for a hub dataset.
        description: where the dialogues came from, e.g. `train.txt (train split, 16701 dialogues)`.
    """
    meta = {"corpus": description}
    if corpus_path:
        meta.update(corpus_sha256=file_sha256(corpus_path), terms=corpus_terms(corpus_path))
    index = RetrievalIndex.build(qa_pairs(dialogues), meta)
    logger.info("Retrieval index: %d pairs in %.2f s", index.meta["pairs"], index.meta["build_s"])
    return index


def load_model_index(model_dir: str) -> RetrievalIndex:
    """The index saved in a model folder (`MODEL/retrieval_index`)."""
    return RetrievalIndex.load(os.path.join(model_dir, INDEX_DIR))
