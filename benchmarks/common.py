"""Shared bits of the benchmark scripts: the machine's details and a plain-text table."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_TRAIN = ROOT.parent / "shared" / "data" / "medical_dialogue" / "train.txt"
SHARED_VALID = ROOT.parent / "shared" / "data" / "medical_dialogue" / "valid.txt"


def machine() -> str:
    """One line: CPU model, cores, memory, torch threads and library versions."""
    import datasets
    import tokenizers
    import torch
    import transformers

    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = (
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), transformers {transformers.__version__}, "
        f"datasets {datasets.__version__}, tokenizers {tokenizers.__version__}"
    )
    return f"{cpu}; {os.cpu_count()} cores; {mem:.0f} GiB; {versions}"


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(headers), "| " + " | ".join("-" * w for w in widths) + " |", *map(line, cells)])
