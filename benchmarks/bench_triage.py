"""Red-flag triage quality and speed on the tuning and held-out phrasing sets.

    python benchmarks/bench_triage.py

Reads `tests/data/triage_cases.json`: `tuning` shaped the patterns; `held_out` was written after the last pattern
change and never used to change one (tests/test_safety.py tells its history). Prints per-category recall (urgent
cases flagged at all) and right-category share, the overall recall and false-alarm rate of both sets, and the mean
time of one `triage` call over every case.
"""

from __future__ import annotations

import json
import time

from common import ROOT, table

from medbot_hf.safety import CATEGORIES, triage

CASES = json.loads((ROOT / "tests" / "data" / "triage_cases.json").read_text(encoding="utf-8"))
REPEATS = 200  # about 30k calls: enough for a steady per-call time, still well under a second of CPU


def ratio(hits: int, total: int) -> str:
    return f"{hits / total:.2f} ({hits}/{total})" if total else "-"


def per_category(split: str, category: str) -> tuple[str, str]:
    """Recall and right-category share of one category's urgent cases in one set."""
    texts = [t for t, c in CASES[split]["urgent"] if c == category]
    results = [triage(t) for t in texts]
    right = sum(r.category == category for r in results)
    return ratio(sum(r.urgent for r in results), len(texts)), ratio(right, len(texts))


def overall(split: str) -> list[str]:
    urgent, ordinary = CASES[split]["urgent"], CASES[split]["ordinary"]
    results = [triage(t) for t, _ in urgent]
    return [
        split,
        ratio(sum(r.urgent for r in results), len(urgent)),
        ratio(sum(r.category == c for r, (_, c) in zip(results, urgent, strict=True)), len(urgent)),
        ratio(sum(triage(t).urgent for t in ordinary), len(ordinary)),
    ]


def time_per_call_us() -> float:
    texts = [t for split in CASES.values() for t in [*(u for u, _ in split["urgent"]), *split["ordinary"]]]
    start = time.perf_counter()
    for _ in range(REPEATS):
        for text in texts:
            triage(text)
    return (time.perf_counter() - start) / (REPEATS * len(texts)) * 1e6


def main() -> None:
    rows = [[c, *per_category("tuning", c), *per_category("held_out", c)] for c in CATEGORIES]
    headers = ["category", "tuning recall", "tuning right category", "held-out recall", "held-out right category"]
    print(table(headers, rows))
    print()
    print(table(["set", "recall", "right category", "false alarms"], [overall("tuning"), overall("held_out")]))
    print(f"\ntime per call: {time_per_call_us():.1f} µs (mean over all cases, {REPEATS} repeats)")


if __name__ == "__main__":
    main()
