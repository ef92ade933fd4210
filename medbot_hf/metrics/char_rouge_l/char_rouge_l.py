"""Character-level ROUGE-L F1 for Chinese replies, as a local `evaluate` module (no hub, no rouge_score).

Load it offline with `evaluate.load("medbot_hf/metrics/char_rouge_l")` or
`medbot_hf.metrics.load_metric("char_rouge_l")`.
"""

from __future__ import annotations

import datasets
import evaluate

_DESCRIPTION = """\
ROUGE-L (Lin, 2004) over characters, averaged over prediction/reference pairs. All whitespace is removed first and
every remaining character is a token, because Chinese has no word spaces and the decoder puts spaces between
characters (rouge_score's default tokenizer would drop Chinese characters altogether).

For one pair with longest common subsequence length L, prediction length c and reference length r:
P = L / c, R = L / r and F = 2PR / (P + R) = 2L / (c + r) (beta = 1).

Empty cases: F = 0 when either side is empty, including when both are empty. An empty reply is never rewarded,
so a model cannot score by saying nothing; an empty reference is a data error that should not raise the score.
The corpus score is the mean F over pairs (0.0 for no pairs).
"""

_CITATION = """\
@inproceedings{lin2004rouge,
  title = {ROUGE: A Package for Automatic Evaluation of Summaries},
  author = {Lin, Chin-Yew},
  booktitle = {Text Summarization Branches Out},
  pages = {74--81},
  year = {2004},
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): generated replies; empty strings are allowed.
    references (`list[str]`): one reference reply per prediction.

Returns:
    `dict` with `rouge_l` (`float`, in [0, 1]): the mean ROUGE-L F1 over pairs.

Examples:
    >>> rouge = evaluate.load("medbot_hf/metrics/char_rouge_l")
    >>> rouge.compute(predictions=["多喝水"], references=["多喝温水"])["rouge_l"]  # L = 3: 2*3 / (3+4)
    0.8571428571428571
"""


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of `a` and `b` (dynamic programming, one row of memory)."""
    if len(b) > len(a):
        a, b = b, a  # keep the row as short as possible
    row = [0] * (len(b) + 1)
    for char_a in a:
        diagonal = 0  # row[j - 1] of the previous row
        for j, char_b in enumerate(b, start=1):
            above = row[j]
            row[j] = diagonal + 1 if char_a == char_b else max(row[j], row[j - 1])
            diagonal = above
    return row[-1]


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 of one pair over characters, whitespace removed; 0.0 when either side is empty."""
    pred, ref = "".join(prediction.split()), "".join(reference.split())
    if not pred or not ref:
        return 0.0
    return 2 * lcs_length(pred, ref) / (len(pred) + len(ref))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CharRougeL(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        string = datasets.Value("string")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": string, "references": string}),
            reference_urls=["https://aclanthology.org/W04-1013/"],
        )

    def _compute(self, predictions: list[str], references: list[str]) -> dict:
        scores = [rouge_l_f1(pred, ref) for pred, ref in zip(predictions, references, strict=True)]
        return {"rouge_l": sum(scores) / len(scores) if scores else 0.0}
