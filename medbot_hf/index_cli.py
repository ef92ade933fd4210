"""`medbot-index`: build the retrieval index of similar real consultations for an existing model folder.

    medbot-index --model_name_or_path outputs/medical-cpu --corpus PATH/train.txt

Training runs build it themselves; this is for folders trained before, or another corpus. Give the model's training
corpus (or its train split): the index should never hold the dialogues the model is evaluated on.
"""

from __future__ import annotations

import logging
import os
import sys

from .configs import LOG_FORMAT, IndexArguments, parse_args
from .corpus import CorpusError
from .data import read_split
from .model_card import update_index_section
from .retrieval import INDEX_DIR, build_corpus_index

logger = logging.getLogger("medbot_hf.index")


def run(args: IndexArguments) -> dict:
    """Build and save the index into the model folder, note it in the model card; returns its metadata."""
    if not os.path.isdir(args.model_name_or_path):
        raise OSError(f"{args.model_name_or_path}: no such model folder")
    parsed = read_split(args.corpus, args)
    dropped = sum(parsed.dropped.values())
    description = f"{os.path.basename(args.corpus)} ({len(parsed.dialogues)} dialogues, {dropped} skipped)"
    index = build_corpus_index(parsed.dialogues, args.corpus, description)
    index.save(os.path.join(args.model_name_or_path, INDEX_DIR))
    if os.path.isfile(os.path.join(args.model_name_or_path, "README.md")):
        update_index_section(args.model_name_or_path, index.meta)
    return index.meta


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-index`."""
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)
    (args,) = parse_args((IndexArguments,), argv)
    try:
        meta = run(args)
    except (CorpusError, OSError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(f"Indexed {meta['pairs']} (question, answer) pairs in {meta['build_s']} s into "
          f"{os.path.join(args.model_name_or_path, INDEX_DIR)}")  # fmt: skip


if __name__ == "__main__":
    main()
