"""Character-level corpus BLEU-4 for Chinese replies, as a local `evaluate` module (no hub, no nltk or sacrebleu).

Load it offline with `evaluate.load("medbot_hf/metrics/char_bleu")` or `medbot_hf.metrics.load_metric("char_bleu")`.
"""

from __future__ import annotations

import math
from collections import Counter

import datasets
import evaluate

_DESCRIPTION = """\
Corpus-level BLEU-4 (Papineni et al., 2002) over characters. Chinese has no spaces between words, and the model
emits one token per character, so every character is a token and all whitespace is removed first (the decoder puts
spaces between characters).

- Modified n-gram precision p_n, n = 1..4: each prediction n-gram counts as matched at most as many times as it
  occurs in a reference (clipping; with several references, the largest count over them). Matches and totals are
  summed over the whole corpus before dividing, so this is corpus BLEU, not an average of sentence scores.
- Brevity penalty BP = exp(1 - r/c) when c <= r, else 1, where c is the total prediction length and r the total
  reference length; with several references per prediction, r uses the one closest in length (the shorter on a
  tie), as in nltk and sacrebleu. BP = 0 when c = 0.
- BLEU-4 = BP * exp(mean(log p_1 .. log p_4)), uniform weights.

No smoothing: when any p_n is 0 (including when the predictions hold no n-grams of that order at all, e.g. every
prediction is under 4 characters), BLEU-4 is 0.
"""

_CITATION = """\
@inproceedings{papineni2002bleu,
  title = {BLEU: a Method for Automatic Evaluation of Machine Translation},
  author = {Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing},
  booktitle = {Proceedings of the 40th Annual Meeting of the Association for Computational Linguistics},
  pages = {311--318},
  year = {2002},
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[str]`): generated replies; empty strings are allowed.
    references (`list[str]` or `list[list[str]]`): one reference per prediction, or a list of references per
        prediction. Use one form for the whole call.

Returns:
    `dict` with
    - `bleu_4` (`float`, in [0, 1]): corpus BLEU-4.
    - `precisions` (`list[float]`): the modified precisions p_1 .. p_4.
    - `brevity_penalty` (`float`): BP.
    - `length_ratio` (`float`): c / r (0.0 when r = 0).

Examples:
    >>> bleu = evaluate.load("medbot_hf/metrics/char_bleu")
    >>> bleu.compute(predictions=["多喝温水注意休息"], references=["多喝温水注意休息"])["bleu_4"]
    1.0
"""

MAX_ORDER = 4


def _ngrams(chars: str, n: int) -> Counter:
    return Counter(chars[i : i + n] for i in range(len(chars) - n + 1))


def _corpus_stats(predictions: list[str], references: list[list[str]]) -> tuple[list[int], list[int], int, int]:
    """Matched and total n-gram counts per order, summed over the corpus, plus the corpus lengths c and r."""
    matches, totals = [0] * MAX_ORDER, [0] * MAX_ORDER
    pred_len = ref_len = 0
    for prediction, refs in zip(predictions, references, strict=True):
        pred = "".join(prediction.split())
        refs = ["".join(ref.split()) for ref in refs]
        pred_len += len(pred)
        ref_len += min((len(ref) for ref in refs), key=lambda length: (abs(length - len(pred)), length))
        for n in range(1, MAX_ORDER + 1):
            max_ref_counts = Counter()
            for ref in refs:
                max_ref_counts |= _ngrams(ref, n)  # `|` keeps the max count, the multi-reference clipping limit
            pred_counts = _ngrams(pred, n)
            matches[n - 1] += sum((pred_counts & max_ref_counts).values())
            totals[n - 1] += sum(pred_counts.values())
    return matches, totals, pred_len, ref_len


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CharBleu(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        string = datasets.Value("string")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # evaluate picks the first option the first sample fits, so one call uses one form throughout.
            features=[
                datasets.Features({"predictions": string, "references": datasets.Sequence(string)}),
                datasets.Features({"predictions": string, "references": string}),
            ],
            reference_urls=["https://aclanthology.org/P02-1040/"],
        )

    def _compute(self, predictions: list[str], references: list[str] | list[list[str]]) -> dict:
        references = [[refs] if isinstance(refs, str) else list(refs) for refs in references]
        matches, totals, pred_len, ref_len = _corpus_stats(predictions, references)
        precisions = [m / t if t > 0 else 0.0 for m, t in zip(matches, totals, strict=True)]
        if pred_len == 0:
            brevity_penalty = 0.0
        elif pred_len > ref_len:
            brevity_penalty = 1.0
        else:
            brevity_penalty = math.exp(1 - ref_len / pred_len)
        if min(precisions) == 0:
            bleu = 0.0  # no smoothing: log 0 is undefined and one empty order means no 4-gram evidence
        else:
            bleu = brevity_penalty * math.exp(sum(math.log(p) for p in precisions) / MAX_ORDER)
        return {
            "bleu_4": bleu,
            "precisions": precisions,
            "brevity_penalty": brevity_penalty,
            "length_ratio": pred_len / ref_len if ref_len > 0 else 0.0,
        }
