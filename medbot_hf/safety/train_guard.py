"""Train the guard's self-harm-method classifier (:mod:`medbot_hf.safety.guard_classifier`) and write its weights.

    python -m medbot_hf.safety.train_guard              # -> medbot_hf/safety/data/guard_classifier.safetensors
    python -m medbot_hf.safety.train_guard --validate   # only the threshold sweep, nothing written

Run it from the repository root. The model and its fit are the triage classifier's (`classifier.feature_ids`,
`train_triage.fit`), with the labels `self_harm_method` and `none`. The data, all single lowercased sentences:
1. positives: the `self_harm_method` flags of `tests/data/guard_cases.json` (`tuning` and the `written_*` sets of
   :data:`CASE_SETS`; `written_by_guard5` is held apart, never read here), each with two seeded variants (a lead-in
   clause, no punctuation);
2. negatives: every `ok` and `ok_near` sentence of those sets, and their dose and stop-medication flags (those get
   their own notes);
3. negatives: the sentences of real doctor turns (odd lines) of `../shared/data/medical_dialogue/train.txt`, turns
   sampled by the seed. Research-only text: read here, never copied; the run goes on without it (saying so) when the
   file is absent, and then gives other weights.

The threshold comes first: a fit with 20% of the case sentences set apart by the seed, scored on them and on other
doctor turns (a second seeded sample, none trained on) through the gate the guard uses. It is the lowest threshold
at which the classifier changes at most `--max_corpus_rate` of those turns and at most `--max_false` of the
validation negatives; then the same fit on all the data gives the weights. Same seed and data, same weights
(a rebuild of the shipped file gave the same tensors and metadata; the file's bytes can differ in the header's order).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from pathlib import Path

from .classifier import NONE, TriageModel, load_model
from .guard import check_sentence, drug_positions, split_sentences
from .guard_classifier import LABEL, WEIGHTS_FILE
from .self_harm import rule_reading
from .self_harm_means import may_be_method
from .train_triage import add_fit_arguments, fit, save

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
LABELS = (LABEL, NONE)
CASE_SETS = ("tuning", "written_first", "written_second", "written_third", "written_fourth")
LEADS = ("其实，", "说实话，", "我明白你的感受，", "如果你愿意听，", "我想说的是，", "那么，")
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.3 ... 0.95


def case_rows(path: Path) -> list[tuple[str, str]]:
    """`(lowercased sentence, label)` of the training sets of the guard's case file."""
    cases = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for name in CASE_SETS:
        part = cases[name]
        rows += [(t, LABEL if reason == LABEL else NONE) for t, reason in part["flag"]]
        rows += [(t, NONE) for t in part["ok"]]
        rows += [(c[0] if isinstance(c, list) else c, NONE) for c in part.get("ok_near", [])]
    return [(t.lower(), label) for t, label in rows]


def doctor_turns(path: Path) -> list[str]:
    turns = []
    for dialogue in path.read_text(encoding="utf-8").split("\n\n"):
        turns += [line for line in dialogue.split("\n") if line][1::2]
    return turns


def sentences(turn: str) -> list[str]:
    return [s.strip().lower() for s in split_sentences(turn) if len(s.strip()) > 1]


def reaches_model(sentence: str) -> bool:
    """Whether the guard would ask the classifier about this lowercased sentence (read on its own)."""
    return may_be_method(sentence) and rule_reading(sentence, drug_positions(sentence), False) is None


def variants(text: str, rng: random.Random) -> list[str]:
    return [rng.choice(LEADS) + text, re.sub(r"[，。！？,!?；]", "", text)]


def build_sets(args: argparse.Namespace, validate: bool) -> tuple[list, list, list[str]]:
    """`(train, validation, unused doctor turns)`: with `validate`, 20% of the case sentences are kept apart."""
    rng = random.Random(args.seed)
    rows = case_rows(Path(args.cases))
    order = list(range(len(rows)))
    rng.shuffle(order)
    val_ids = set(order[: int(len(order) * 0.2)]) if validate else set()
    train, val = [], []
    for i, (text, label) in enumerate(rows):
        if i in val_ids:
            val.append((text, label))
        else:
            train += [(text, label)] + ([(t, label) for t in variants(text, rng)] if label == LABEL else [])
    corpus, rest = Path(args.corpus), []
    if corpus.exists() and args.corpus_turns:
        turns = doctor_turns(corpus)
        rng.shuffle(turns)
        picked, rest = turns[: args.corpus_turns], turns[args.corpus_turns :]
        negatives = [s for t in picked for s in sentences(t)]
        train += [(s, NONE) for s in negatives]
        logger.info("corpus negatives: %d sentences of %d doctor turns", len(negatives), len(picked))
    else:
        logger.warning("%s not found (or --corpus_turns 0): no real-corpus negatives; weights will differ", corpus)
    return train, val, rest


def sweep(model: TriageModel, val: list, rest: list[str], args: argparse.Namespace) -> float:
    """Print, per threshold, the classifier's recall on the validation methods the readings miss and the changes it
    adds on validation negatives and unseen doctor turns; return the chosen threshold (module docstring)."""
    rng = random.Random(args.seed + 1)
    turns = rng.sample(rest, min(len(rest), args.corpus_check or len(rest)))
    positives = [t for t, label in val if label == LABEL]
    missed = [t for t in positives if check_sentence(t, backstop=False) != LABEL]
    negatives = [t for t, label in val if label == NONE]
    p_missed = [model.predict(t)[0] if reaches_model(t) else 0.0 for t in missed]
    # the readings were fitted on every case set, so they miss few validation methods: the model's recall on all of
    # them (through the vocabulary gate alone) is what tells how well it reads a wording it has not seen
    p_all = [model.predict(t)[0] if may_be_method(t) else 0.0 for t in positives]
    p_neg = [model.predict(t)[0] if reaches_model(t) else 0.0 for t in negatives]
    p_turns = [max([model.predict(s)[0] for s in sentences(t) if reaches_model(s)], default=0.0) for t in turns]
    print(f"validation: {len(positives)} methods ({len(missed)} missed by the readings), {len(negatives)} negatives;")
    print(f"{len(turns)} doctor turns not trained on")
    print("threshold | model alone: methods | missed methods caught | negatives changed | doctor turns changed")
    chosen = None
    for th in THRESHOLDS:
        caught = sum(p >= th for p in p_missed)
        false = sum(p >= th for p in p_neg)
        changed = sum(p >= th for p in p_turns)
        alone = sum(p >= th for p in p_all)
        print(f"{th:.2f} | {alone}/{len(positives)} | {caught}/{len(missed)} | {false}/{len(negatives)} | "
              f"{changed}/{len(turns)}")  # fmt: skip
        ok = changed <= args.max_corpus_rate * len(turns) and false <= args.max_false * len(negatives)
        if ok and chosen is None:
            chosen = th
    return THRESHOLDS[-1] if chosen is None else chosen


PROBES = 24  # probe sentences whose float32 probabilities the file stores, for the tests


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(HERE / "data" / WEIGHTS_FILE), help="weights file to write")
    parser.add_argument("--cases", default="tests/data/guard_cases.json", help="the guard's case file")
    parser.add_argument("--corpus", default="../shared/data/medical_dialogue/train.txt", help="real doctor turns")
    parser.add_argument("--corpus_turns", type=int, default=6000, help="doctor turns whose sentences are negatives")
    parser.add_argument("--corpus_check", type=int, default=0, help="unseen doctor turns for the threshold (0: all)")
    parser.add_argument("--max_corpus_rate", type=float, default=0.0001, help="doctor turns the model may change")
    parser.add_argument("--max_false", type=float, default=0.01, help="validation negatives the model may change")
    parser.add_argument("--validate", action="store_true", help="only the 80/20 fit and threshold sweep; no write")
    add_fit_arguments(parser)
    return parser


def main(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    train, val, rest = build_sets(args, validate=True)
    weight, bias = fit(train, args, LABELS)
    threshold = sweep(TriageModel(weight, bias, LABELS, 0.5, {}), val, rest, args)
    print(f"validation fit on {len(train)} examples, {time.perf_counter() - start:.0f} s; threshold {threshold}")
    if args.validate:
        return
    train, _, _ = build_sets(args, validate=False)
    weight, bias = fit(train, args, LABELS)
    model = TriageModel(weight, bias, LABELS, threshold, {})
    probes = [t for t, _ in train[:: max(1, len(train) // PROBES)]][:PROBES]
    info = {
        "seed": args.seed,
        "train_examples": len(train),
        "epochs": args.epochs,
        "max_corpus_rate": args.max_corpus_rate,
        "probes": [[t, round(model.predict(t)[0], 4)] for t in probes if "\n" not in t],
    }
    save(Path(args.output), weight, bias, threshold, info, LABELS)
    load_model(args.output)  # fails loudly if the file does not read back
    print(f"final fit on {len(train)} examples; wrote {args.output} ({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main(make_parser().parse_args())
