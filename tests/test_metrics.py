"""The offline metric modules, loaded through `evaluate.load` by path, against values worked out by hand."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from medbot_hf.metrics import METRIC_NAMES, load_metric


@pytest.fixture(scope="module")
def metrics() -> dict:
    """Every bundled metric, loaded once: `import evaluate` alone takes about 6 s."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield {name: load_metric(name) for name in METRIC_NAMES}


def test_import_does_not_import_evaluate():
    code = "import sys, medbot_hf.metrics; assert 'evaluate' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_metric_never_asks_the_hub(monkeypatch):
    import evaluate.loading

    hub_calls = []

    def record(path, *args, **kwargs):
        hub_calls.append(path)
        raise ConnectionError("offline")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(evaluate.loading, "HubEvaluationModuleFactory", record)
    # The sensor works: a bare name goes to the hub, which fails offline.
    with pytest.raises(FileNotFoundError, match="doesn't exist on the Hugging Face Hub"):
        evaluate.load("bleu")
    assert hub_calls
    hub_calls.clear()
    for name in METRIC_NAMES:
        assert load_metric(name).name == name
    assert hub_calls == []


def test_load_metric_rejects_unknown_name():
    with pytest.raises(ValueError, match="Unknown metric 'bleu'; choose one of char_bleu, char_rouge_l"):
        load_metric("bleu")


# ---------------------------------------------------------------- char_bleu


def test_bleu_two_pair_corpus_with_clipping_and_brevity_penalty(metrics):
    # Pair A: "多喝水多喝水" (c=6, decoder spaces removed) vs "多喝水" (r=3)
    #   1-grams 多2 喝2 水2, ref 多1 喝1 水1 -> clipped 3 of 6
    #   2-grams 多喝2 喝水2 水多1, ref 多喝1 喝水1 -> 2 of 5
    #   3-grams 多喝水2 喝水多1 水多喝1, ref 多喝水1 -> 1 of 4
    #   4-grams 多喝水多 喝水多喝 水多喝水, ref has none -> 0 of 3
    # Pair B: "注意休息" (c=4) vs "请您一定注意休息好" (r=9): every n-gram matches -> 4/4, 3/3, 2/2, 1/1
    # Corpus: p1 = 7/10, p2 = 5/8, p3 = 3/6, p4 = 1/4; c = 10 <= r = 12 -> BP = exp(1 - 12/10) = exp(-0.2)
    # BLEU-4 = exp(-0.2) * (0.7 * 0.625 * 0.5 * 0.25) ** (1/4) = 0.8187 * 0.4836 = 0.3959
    result = metrics["char_bleu"].compute(
        predictions=["多 喝 水 多 喝 水", "注意休息"], references=["多喝水", "请您一定注意休息好"]
    )
    assert result["precisions"] == pytest.approx([7 / 10, 5 / 8, 1 / 2, 1 / 4])
    assert result["brevity_penalty"] == pytest.approx(math.exp(-0.2))
    assert result["length_ratio"] == pytest.approx(10 / 12)
    assert result["bleu_4"] == pytest.approx(math.exp(-0.2) * (0.7 * 0.625 * 0.5 * 0.25) ** 0.25)
    assert result["bleu_4"] == pytest.approx(0.3959, abs=1e-4)


def test_bleu_several_references_clip_by_max_count_and_use_closest_length(metrics):
    # "多喝水水" (c=4) vs refs "多喝水" (3) and "水多" (2)
    #   1-grams 多1 喝1 水2; max ref counts 多1 喝1 水1 (not 水2, the sum) -> 3 of 4
    #   2-grams 多喝 喝水 水水; refs hold 多喝 喝水 (ref 1), 水多 (ref 2) -> 2 of 3
    #   3-grams 多喝水 喝水水; ref 1 holds 多喝水 -> 1 of 2
    #   4-grams 多喝水水 -> 0 of 1, so BLEU-4 = 0 (no smoothing)
    # r = 3, the reference length closest to c = 4 -> c > r, BP = 1, ratio 4/3
    result = metrics["char_bleu"].compute(predictions=["多喝水水"], references=[["多喝水", "水多"]])
    assert result["precisions"] == pytest.approx([3 / 4, 2 / 3, 1 / 2, 0.0])
    assert result["bleu_4"] == 0.0
    assert result["brevity_penalty"] == 1.0
    assert result["length_ratio"] == pytest.approx(4 / 3)


def test_bleu_closest_reference_length_tie_takes_the_shorter(metrics):
    # c = 4; refs of length 3 and 5 are both 1 away -> r = 3
    result = metrics["char_bleu"].compute(predictions=["多喝温水"], references=[["多喝水", "多喝温水水"]])
    assert result["length_ratio"] == pytest.approx(4 / 3)


def test_bleu_identical_strings_score_one(metrics):
    result = metrics["char_bleu"].compute(predictions=["多喝温水，注意休息"], references=[["多喝温水，注意休息"]])
    assert result == {"bleu_4": 1.0, "precisions": [1.0] * 4, "brevity_penalty": 1.0, "length_ratio": 1.0}


def test_bleu_empty_prediction_counts_only_in_the_brevity_penalty(metrics):
    # "" adds r = 3 and no n-grams; the second pair matches fully: every p_n = 1
    # c = 7, r = 3 + 7 = 10 -> BP = exp(1 - 10/7) = exp(-3/7) = 0.6514 = BLEU-4
    result = metrics["char_bleu"].compute(predictions=["", "注意休息多喝水"], references=["多喝水", "注意休息多喝水"])
    assert result["precisions"] == [1.0] * 4
    assert result["bleu_4"] == pytest.approx(math.exp(-3 / 7))


def test_bleu_without_smoothing_is_zero_below_four_characters(metrics):
    # 3 characters hold no 4-gram: p4 = 0/0 -> 0, so BLEU-4 = 0 even for an exact match
    result = metrics["char_bleu"].compute(predictions=["多喝水"], references=["多喝水"])
    assert result["precisions"] == [1.0, 1.0, 1.0, 0.0]
    assert result["bleu_4"] == 0.0


def test_bleu_all_empty_predictions(metrics):
    result = metrics["char_bleu"].compute(predictions=[""], references=["多喝水"])
    assert result == {"bleu_4": 0.0, "precisions": [0.0] * 4, "brevity_penalty": 0.0, "length_ratio": 0.0}


# ---------------------------------------------------------------- char_rouge_l


@pytest.mark.parametrize(
    "prediction, reference, expected",
    [
        ("多 喝 温 水", "多喝水", 6 / 7),  # LCS 多喝水 = 3: P = 3/4, R = 3/3, F = 2*3 / (4+3)
        ("注意休息，多喝水", "多喝水，注意休息", 1 / 2),  # LCS 注意休息 = 4: F = 2*4 / (8+8)
        ("水喝多", "多喝水", 1 / 3),  # order matters: LCS = 1 (e.g. 喝), F = 2*1 / (3+3)
        ("头疼", "多喝水", 0.0),  # LCS = 0
        ("多喝水", "多喝水", 1.0),
        ("", "多喝水", 0.0),  # empty prediction
        ("多喝水", "", 0.0),  # empty reference
        ("", "", 0.0),  # both empty: an empty reply is never rewarded
    ],
)
def test_rouge_l_pairs(metrics, prediction, reference, expected):
    assert metrics["char_rouge_l"].compute(predictions=[prediction], references=[reference]) == {
        "rouge_l": pytest.approx(expected)
    }


def test_rouge_l_averages_over_pairs(metrics):
    # (6/7 + 1/2 + 0) / 3 = 0.4524
    result = metrics["char_rouge_l"].compute(
        predictions=["多喝温水", "注意休息，多喝水", ""], references=["多喝水", "多喝水，注意休息", "多喝水"]
    )
    assert result["rouge_l"] == pytest.approx((6 / 7 + 1 / 2 + 0) / 3)


# ---------------------------------------------------------------- distinct


def test_distinct_pools_all_predictions(metrics):
    # "好的好的" and "好的谢谢" (space removed)
    #   1-grams: 4 + 4 = 8, unique {好, 的, 谢} = 3 -> 3/8
    #   2-grams: 好的 的好 好的 + 好的 的谢 谢谢 = 6, unique {好的, 的好, 的谢, 谢谢} = 4 -> 4/6
    result = metrics["distinct"].compute(predictions=["好的好的", "好的 谢谢"])
    assert result == {"distinct_1": pytest.approx(3 / 8), "distinct_2": pytest.approx(4 / 6)}


def test_distinct_ngrams_do_not_span_predictions(metrics):
    # 1-grams 好, 好 -> 1/2; no 2-gram inside either prediction -> 0.0 (好好 across the two would give 1/1)
    assert metrics["distinct"].compute(predictions=["好", "好"]) == {"distinct_1": 0.5, "distinct_2": 0.0}


def test_distinct_empty_predictions(metrics):
    assert metrics["distinct"].compute(predictions=["", " "]) == {"distinct_1": 0.0, "distinct_2": 0.0}


# ---------------------------------------------------------------- repetition


@pytest.mark.parametrize(
    "prediction, loops",
    [
        ("好的好的好的", True),  # unit 好的 three times in a row
        ("。。。", True),  # unit of one character
        ("您好，治疗治疗治疗需要时间", True),
        ("建议您多喝水，建议您多喝水，建议您多喝水，", True),  # unit of 7 characters
        (
            "请及时到医院就诊，发烧请及时到医院就诊，平时也请及时到医院就诊",
            True,
        ),  # 8-gram 请及时到医院就诊 3 times, apart
        ("好的好的", False),  # only twice
        ("每次1000毫克", False),  # 000 is a number, not a loop
        ("隔代遗传指隔代遗传给孙辈，隔代遗传概率低", False),  # a 4-character term 3 times is normal prose
        ("多喝温水，注意休息。", False),
        ("", False),
    ],
)
def test_repetition_single_prediction(metrics, prediction, loops):
    assert metrics["repetition"].compute(predictions=[prediction]) == {
        "repetition_rate": float(loops),
        "num_looping": int(loops),
    }


def test_repetition_rate_over_predictions(metrics):
    # 好的好的好的 and 。。。。 loop, the other two do not -> 2/4
    result = metrics["repetition"].compute(predictions=["好的好的好的", "多喝温水", "。。。。", "好的好的"])
    assert result == {"repetition_rate": 0.5, "num_looping": 2}


def test_repetition_min_repeats(metrics):
    assert metrics["repetition"].compute(predictions=["好的好的"], min_repeats=2)["num_looping"] == 1
    with pytest.raises(ValueError, match="min_repeats must be at least 2, got 1"):
        metrics["repetition"].compute(predictions=["好的"], min_repeats=1)
