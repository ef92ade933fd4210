"""The triage classifier: shipped weights, determinism, its own tuning data, and what it adds to the rules.

The data checked here are the classifier's own (`medbot_hf/safety/data/triage_train.txt`, written for it) and
messages written for these tests; the frozen held-out sets are scored only by `benchmarks/bench_triage.py`.
Speed and load time are measured there too, not asserted here.
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import pytest

from medbot_hf.safety import ADVICE, CATEGORIES, NOT_URGENT, rule_triage, triage
from medbot_hf.safety.classifier import BUCKETS, NONE, feature_ids, load_model, shipped_model, weights_path
from medbot_hf.safety.context import tells_something_now
from medbot_hf.safety.train_triage import LABELS, TRAIN_FILE, fit, make_parser, read_train_file
from medbot_hf.safety.triage import RULES_ONLY

WRITTEN = read_train_file()

# Written for this test, not in the training file: emergencies the rules do not match (checked below), which the
# classifier is there to add. Most, not all, must be caught with the right category: a linear model on n-grams is
# not expected to be perfect on new wording, and the held-out bench is where recall is measured.
RULES_MISS = [
    ("我爸在地里干活时突然栽倒了，喊他也不答应", "unconscious_seizure"),
    ("宝宝把奶奶的安眠药吃了好几颗", "poisoning"),
    ("我老婆突然说不清楚话了，右手拿杯子都拿不住", "stroke"),
    ("我爸脸一下子歪了，话也讲不利落", "stroke"),
    ("我爷爷突然一边身子不会动了", "stroke"),
    ("宝宝两个月发烧了38度", "infant_fever"),
]


def test_shipped_weights_load_from_the_package():
    path = weights_path()
    assert path.is_file() and path.name == "triage_classifier.safetensors"
    assert path.parent.parent.name == "safety"  # inside the package, where package_data puts it in a wheel
    model = shipped_model()
    assert model.labels == LABELS and set(LABELS) == {*CATEGORIES, NONE} - set(RULES_ONLY)
    assert model.weight.shape == (BUCKETS, len(LABELS)) and model.weight.dtype == np.float32
    assert 0.0 < model.threshold < 1.0
    assert shipped_model() is model  # loaded once


def test_predictions_are_deterministic():
    first, second = shipped_model(), load_model(weights_path())
    for text, _, _ in WRITTEN[::97]:
        assert np.array_equal(first.probabilities(text), second.probabilities(text))
    assert np.array_equal(feature_ids("我爸胸口疼，出冷汗"), feature_ids("我爸胸口疼，出冷汗"))
    assert len(feature_ids("")) == 0 and 0.0 <= first.predict("")[0] <= 1.0


def test_training_is_reproducible_from_the_seed():
    rows = [(t, c if s == "+" else NONE) for t, c, s in random.Random(0).sample(WRITTEN, 120)]
    args = make_parser().parse_args(["--epochs", "2"])
    first, second = fit(rows, args), fit(rows, args)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert np.abs(first[0]).max() > 0  # it learned something


def test_read_train_file_names_the_line_of_bad_input(tmp_path):
    bad = tmp_path / "train.txt"
    bad.write_text("## chest_pain\n+ 胸口痛\nno sign here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.txt:3: expected"):
        read_train_file(bad)
    bad.write_text("## chest_ache\n+ 胸口痛\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.txt:1: unknown category 'chest_ache'"):
        read_train_file(bad)


def test_written_data_covers_every_category_both_ways():
    for category in LABELS[:-1]:  # the classifier's categories (not the rules-only ones)
        assert sum(c == category and s == "+" for _, c, s in WRITTEN) >= 40, category
        assert sum(c == category and s == "-" for _, c, s in WRITTEN) >= 40, category
    assert TRAIN_FILE.is_file()


def test_combined_triage_on_its_own_written_data():
    """The shipped model was fit on these rows: this checks the weights and the combination, not generalisation."""
    urgent = [(t, c) for t, c, s in WRITTEN if s == "+"]
    routine = [t for t, _, s in WRITTEN if s == "-"]
    results = [triage(t) for t, _ in urgent]
    assert sum(r.urgent for r in results) / len(urgent) >= 0.97
    assert sum(r.category == c for r, (_, c) in zip(results, urgent, strict=True)) / len(urgent) >= 0.85
    assert sum(triage(t).urgent for t in routine) / len(routine) <= 0.05


def test_the_classifier_adds_what_the_rules_miss():
    assert not any(rule_triage(t).urgent for t, _ in RULES_MISS)  # if a rule learns one, write another message
    results = [triage(t) for t, _ in RULES_MISS]
    assert all(r.advice == ADVICE[r.category] for r in results if r.urgent)
    assert sum(r.urgent for r in results) >= len(RULES_MISS) - 1
    assert sum(r.category == c for r, (_, c) in zip(results, RULES_MISS, strict=True)) >= len(RULES_MISS) - 2


@pytest.mark.parametrize(
    "text",
    [
        "去年中过暑，今年夏天怎么预防",
        "我没有胸痛，就是想问体检要空腹吗",
        "如果孩子误吞了纽扣电池怎么办",
        "高血压平时吃什么好",
    ],
)
def test_calm_questions_stay_calm(text):
    assert triage(text) == NOT_URGENT


def test_a_rule_fire_is_kept_unless_the_downgrade_drops_it():
    """Before the downgrade a rule fire is the result as it is; the downgrade (medbot_hf.safety.context) may drop it,
    which on the written data happens only to routine messages ("溺水多长时间会脑死亡", "我没有吐血，只是胃有点不舒服")."""
    dropped = []
    for text, _, sign in WRITTEN:
        rule = rule_triage(text)
        if rule.urgent:
            assert triage(text, downgrade=False) == rule
            if not triage(text).urgent:
                dropped.append(sign)
    assert dropped and set(dropped) == {"-"}


def test_parser_defaults_are_the_shipped_recipe():
    args = make_parser().parse_args([])
    assert isinstance(args, argparse.Namespace) and args.seed == 0 and args.target_recall == 0.95
    assert shipped_model().meta["seed"] == args.seed


@pytest.mark.parametrize(
    "text", ["我爸突然无法呼吸了", "孩子未排尿十几个小时了", "他不会说话了", "都不认识人了", "老人无意识了"]
)
def test_emergency_openings_are_not_read_as_denials(text):
    """Clauses opening with 无/未/不会/都不 can be emergencies: the classifier's denial filter must not silence them."""
    assert tells_something_now(text)


@pytest.mark.parametrize("text", ["我没有胸痛，也不出汗", "并没有发烧", "否认胸痛"])
def test_denials_tell_nothing_now(text):
    assert not tells_something_now(text)
