"""Repetition rate: the share of replies stuck in a loop, as a local `evaluate` module (no hub).

Load it offline with `evaluate.load("medbot_hf/metrics/repetition")` or `medbot_hf.metrics.load_metric("repetition")`.
"""

from __future__ import annotations

import datasets
import evaluate

from medbot_hf.metrics import loops

_DESCRIPTION = (
    "The share of predictions that loop, the usual failure of greedy or low-temperature decoding. The definition is "
    "`medbot_hf.metrics.loops.is_looping`, which the reranker's loop penalty uses too:\n\n" + loops.__doc__
)

_CITATION = """\
@inproceedings{holtzman2020curious,
  title = {The Curious Case of Neural Text Degeneration},
  author = {Holtzman, Ari and Buys, Jan and Du, Li and Forbes, Maxwell and Choi, Yejin},
  booktitle = {International Conference on Learning Representations},
  year = {2020},
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): generated replies; empty strings are allowed (they never loop).
    min_repeats (`int`, defaults to 3): how many occurrences make a loop, for both rules.

Returns:
    `dict` with
    - `repetition_rate` (`float`, in [0, 1]): looping predictions / all predictions (0.0 for no predictions).
    - `num_looping` (`int`): the number of looping predictions.

Examples:
    >>> repetition = evaluate.load("medbot_hf/metrics/repetition")
    >>> repetition.compute(predictions=["好的好的好的", "多喝温水"])
    {'repetition_rate': 0.5, 'num_looping': 1}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Repetition(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string")}),
            reference_urls=["https://arxiv.org/abs/1904.09751"],
        )

    def _compute(self, predictions: list[str], min_repeats: int = 3) -> dict:
        if min_repeats < 2:
            raise ValueError(f"min_repeats must be at least 2, got {min_repeats}")
        num_looping = sum(loops.is_looping(prediction, min_repeats) for prediction in predictions)
        return {
            "repetition_rate": num_looping / len(predictions) if predictions else 0.0,
            "num_looping": num_looping,
        }
