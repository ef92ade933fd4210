"""Offline `evaluate` metrics for Chinese replies, one local module folder each (`<name>/<name>.py`).

`evaluate.load("bleu")` fetches its script from the hub and fails offline, so the metrics ship inside the package and
load by path. `evaluate` is imported inside `load_metric` only: importing it takes about 6 s (it pulls in
transformers pipelines), and `import medbot_hf.metrics` must stay instant.
"""

from __future__ import annotations

from pathlib import Path

METRIC_NAMES = ("char_bleu", "char_rouge_l", "distinct", "repetition")


def load_metric(name: str, **kwargs):
    """Load one of the bundled metrics with `evaluate.load`, from its folder inside this package (no hub access).

    Args:
        name (`str`): one of `METRIC_NAMES`.
        **kwargs: passed on to `evaluate.load`, e.g. `num_process` and `process_id` for distributed evaluation.

    Returns:
        `evaluate.EvaluationModule`: the metric, ready for `add_batch` / `compute`.
    """
    if name not in METRIC_NAMES:
        raise ValueError(f"Unknown metric {name!r}; choose one of {', '.join(METRIC_NAMES)}")
    import evaluate

    return evaluate.load(str(Path(__file__).resolve().parent / name), **kwargs)
