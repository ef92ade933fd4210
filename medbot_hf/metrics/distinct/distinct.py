"""Distinct-1 and distinct-2 over characters, as a local `evaluate` module (no hub).

Load it offline with `evaluate.load("medbot_hf/metrics/distinct")` or `medbot_hf.metrics.load_metric("distinct")`.
"""

from __future__ import annotations

import datasets
import evaluate

_DESCRIPTION = """\
Distinct-n (Li et al., 2016): the number of unique n-grams divided by the total number of n-grams, over all
predictions pooled (corpus level, not a mean of per-reply ratios), for n = 1 and 2. Tokens are characters with all
whitespace removed. N-grams never span two predictions. A score is 0.0 when there are no n-grams of that order
(e.g. every prediction is empty). Low values mean the model repeats the same characters and phrases across replies.
"""

_CITATION = """\
@inproceedings{li2016diversity,
  title = {A Diversity-Promoting Objective Function for Neural Conversation Models},
  author = {Li, Jiwei and Galley, Michel and Brockett, Chris and Gao, Jianfeng and Dolan, Bill},
  booktitle = {Proceedings of NAACL-HLT 2016},
  pages = {110--119},
  year = {2016},
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): generated replies; empty strings are allowed.

Returns:
    `dict` with `distinct_1` and `distinct_2` (`float`, in [0, 1]).

Examples:
    >>> distinct = evaluate.load("medbot_hf/metrics/distinct")
    >>> distinct.compute(predictions=["好的好的"])  # unigrams 好的好的: 2/4; bigrams 好的 的好 好的: 2/3
    {'distinct_1': 0.5, 'distinct_2': 0.6666666666666666}
"""


def distinct_n(predictions: list[str], n: int) -> float:
    """Unique over total character n-grams of `predictions` pooled, whitespace removed; 0.0 with no n-grams."""
    unique, total = set(), 0
    for prediction in predictions:
        chars = "".join(prediction.split())
        grams = [chars[i : i + n] for i in range(len(chars) - n + 1)]
        unique.update(grams)
        total += len(grams)
    return len(unique) / total if total else 0.0


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Distinct(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string")}),
            reference_urls=["https://aclanthology.org/N16-1014/"],
        )

    def _compute(self, predictions: list[str]) -> dict:
        return {"distinct_1": distinct_n(predictions, 1), "distinct_2": distinct_n(predictions, 2)}
