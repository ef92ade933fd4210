"""Red-flag triage and reply guard: recall and false alarms per category, speed, and the real-corpus fire check.

    python benchmarks/bench_triage.py                 # tuning + held-out sets, speed, guard
    python benchmarks/bench_triage.py --corpus        # ... and every patient turn of the shared train.txt
    python benchmarks/bench_triage.py --corpus --sample 100 --seed 0   # ... printing 100 random fires to hand-check
    python benchmarks/bench_triage.py --corpus --sample 100 --seed 2026 --labels benchmarks/triage_handcheck.json
    python benchmarks/bench_triage.py --corpus --sample 100 --seed 2027 --labels benchmarks/triage_handcheck_2027.json
    python benchmarks/bench_triage.py --corpus --sample 100 --seed 2028 --labels benchmarks/triage_handcheck_2028.json
    python benchmarks/bench_triage.py --corpus --sample 100 --seed 2029 --labels benchmarks/triage_handcheck_2029.json
    python benchmarks/bench_triage.py --tuning_only   # while changing rules: the held-out sets stay unread
    python benchmarks/bench_triage.py --tuning_only --guard_corpus   # ... and the guard over every doctor turn

Sets:
- `tests/data/triage_cases.json` `tuning`: written by the rule author, the rules were shaped on it.
- `tests/data/triage_heldout.json`: written blind from the standards before the rules, frozen; never tuned on.
- `tests/data/triage_blind.json` (`blind-2`): a second blind set, written later by another writer who saw no rule,
  test or case file, frozen; its `other` cases are emergencies of no listed category (recall only: no category fits).
- `tests/data/guard_cases.json` `tuning` and `tests/data/guard_heldout.json` (blind, frozen) for the guard, and
  `tests/data/guard_blind.json` (`blind-2`, as above) and `tests/data/guard_blind3.json` (`blind-3`: self-harm
  methods and harmless sentences on nearby topics only, by a third writer, frozen); `guard_cases.json`
  `written_first`, `written_second` and `written_third` are the guard author's and `written_fourth` (self-harm
  methods) an independent writer's, each written before the rules that catch it (then fitted: not blind);
  `written_by_guard5` (self-harm methods) is round five's, written before the self-harm classifier was trained and
  never trained on (the rules were not fitted to it either).
- `tests/data/triage_frames.json` and `triage_frames_blind.json`: emergencies told in calm-looking frames (an old
  illness, a past stay in hospital, a question, hearsay) and calm messages with alarming words, uncategorised, by two
  more independent writers; the first was fitted to after it was measured, the second (`frames blind-3`) is frozen.
Triage is the rules plus the shipped classifier (`medbot_hf.safety.triage`); the overall table also scores the rules
alone (`rule_triage`) and the classifier alone, and the timings give the classifier's load time (a fresh process, first
call) and the time per message of rules, classifier and both.
Recall: the share of a category's urgent cases flagged urgent at all; right: flagged with that category; false
alarms: the share of that category's calm cases ("中暑了怎么预防") flagged urgent. The corpus check reports the
fire rate per category over real patient turns, each read with its dialogue's earlier patient turns as the answer
pipeline reads it, before and after the downgrade (`medbot_hf.safety.context`); the
printed sample is for a person to judge, and `--labels` scores it from a file of such judgements (turn index,
fingerprint and label per fire; no corpus text, which is research-only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

from common import ROOT, SHARED_TRAIN, machine, table

from medbot_hf.safety import CATEGORIES, guard_reply, rule_triage, triage
from medbot_hf.safety.classifier import shipped_model

DATA = ROOT / "tests" / "data"
REPEATS = 20  # about 20k calls over the case texts: a steady per-call time


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def triage_sets(held_out: bool) -> dict[str, tuple[list, list]]:
    """Each set as `(urgent [text, category], calm [text, category or None])`."""
    tuning = load("triage_cases.json")["tuning"]
    sets = {"tuning": (tuning["urgent"], [c if isinstance(c, list) else [c, None] for c in tuning["ordinary"]])}
    if held_out:
        held = load("triage_heldout.json")
        sets["held-out"] = (held["urgent"], held["routine"])
        blind = load("triage_blind.json")  # a second writer, later, who saw no rule, test or case file
        sets["blind-2"] = (blind["urgent"], blind["routine"])
    return sets


def ratio(hits: int, total: int) -> str:
    return f"{hits / total:.2f} ({hits}/{total})" if total else "-"


def category_row(category: str, sets: dict) -> list[str]:
    row = [category]
    for urgent, calm in sets.values():
        results = [triage(t) for t, c in urgent if c == category]
        alarms = [triage(t).urgent for t, c in calm if c == category]
        row += [ratio(sum(r.urgent for r in results), len(results)),
                ratio(sum(r.category == category for r in results), len(results)),
                ratio(sum(alarms), len(alarms))]  # fmt: skip
    return row


def overall_row(name: str, urgent: list, calm: list, check=triage) -> list[str]:
    results = [check(t) for t, _ in urgent]
    right = sum(r.category == c for r, (_, c) in zip(results, urgent, strict=True))
    return [name, ratio(sum(r.urgent for r in results), len(urgent)), ratio(right, len(urgent)),
            ratio(sum(check(t).urgent for t, _ in calm), len(calm))]  # fmt: skip


def model_only(text: str):
    """The classifier alone, shaped like a triage result (urgent, category)."""
    model = shipped_model()
    urgency, category = model.predict(text)
    fired = urgency >= model.threshold
    return argparse.Namespace(urgent=fired, category=category if fired else None)


def time_per_call_us(texts: list[str], check=triage) -> float:
    start = time.perf_counter()
    for _ in range(REPEATS):
        for text in texts:
            check(text)
    return (time.perf_counter() - start) / (REPEATS * len(texts)) * 1e6


def load_time_ms() -> tuple[float, float]:
    """In a fresh process: ms to import the safety package, and ms of the first triage call (loads the weights)."""
    code = ("import time; t = time.perf_counter(); from medbot_hf.safety import triage; i = time.perf_counter(); "
            "triage('这个药饭前吃还是饭后吃'); print((i - t) * 1e3, (time.perf_counter() - i) * 1e3)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    imported, first = map(float, out.stdout.split())
    return imported, first


GUARD_WRITTEN = ("written_first", "written_second", "written_third", "written_fourth")  # each before its rules
GUARD_HELD_APART = ("written_by_guard5",)  # before the self-harm classifier, never trained on


def guard_sets(held_out: bool) -> dict[str, dict]:
    cases = load("guard_cases.json")
    sets = {name: cases[name] for name in ("tuning", *GUARD_WRITTEN, *GUARD_HELD_APART)}
    if held_out:
        held = load("guard_heldout.json")
        sets["held-out"] = {"flag": held["fire"], "ok": held["keep"]}
        blind = load("guard_blind.json")
        sets["blind-2"] = {"flag": blind["fire"], "ok": blind["keep"]}
        blind3 = load("guard_blind3.json")  # a third writer, self-harm methods only
        sets["blind-3"] = {"flag": blind3["fire"], "ok": blind3["keep"]}
    return sets


def guard_rows(sets: dict[str, dict]) -> list[list[str]]:
    rows = []
    for name, cases in sets.items():
        by_reason = Counter(r for _, r in cases["flag"])
        caught = Counter(r for t, r in cases["flag"] if guard_reply(t).changed)
        recall = ", ".join(f"{r} {ratio(caught[r], n)}" for r, n in sorted(by_reason.items()))
        ok = cases["ok"] + [t for t, _ in cases.get("ok_near", [])]  # ok_near: advice close to a reason's topic
        kept = sum(guard_reply(t).changed for t in ok)
        # self-harm methods by the readings alone (no classifier backstop), and the false changes they make
        methods = [t for t, r in cases["flag"] if r == "self_harm_method"]
        alone = sum(guard_reply(t, backstop=False).changed for t in methods)
        alone_kept = sum(guard_reply(t, backstop=False).changed for t in ok)
        rows.append([name, ratio(sum(caught.values()), len(cases["flag"])), recall, ratio(kept, len(ok)),
                     ratio(alone, len(methods)) if methods else "-", ratio(alone_kept, len(ok))])  # fmt: skip
    return rows


def patient_turns(path) -> list[tuple[str, list[str]]]:
    """Every patient line (even lines of each dialogue) of a GPT2-chitchat corpus file, each with the patient's
    earlier lines of its dialogue: what the answer pipeline triages (`medbot_hf.pipeline.start_answer`)."""
    turns = []
    for dialogue in path.read_text(encoding="utf-8").split("\n\n"):
        patient = [line for line in dialogue.split("\n") if line][0::2]
        turns += [(turn, patient[:k]) for k, turn in enumerate(patient)]
    return turns


def text_id(text: str) -> str:
    """A short fingerprint of a corpus turn: the hand-check file names turns by index and this, never by their text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def corpus_check(sample: int, seed: int, labels_file: str | None) -> None:
    if not SHARED_TRAIN.exists():
        print(f"\ncorpus check skipped: {SHARED_TRAIN} not found")
        return
    dialogue_turns = patient_turns(SHARED_TRAIN)
    turns = [turn for turn, _ in dialogue_turns]
    start = time.perf_counter()
    results = [triage(t, history) for t, history in dialogue_turns]
    per_call = (time.perf_counter() - start) / len(turns) * 1e6
    fires = [(i, t, r.category) for i, (t, r) in enumerate(zip(turns, results, strict=True)) if r.urgent]
    before = Counter(r.category for r in map(partial(triage, downgrade=False), turns) if r.urgent)
    by_rules = Counter(c for _, t, c in fires if rule_triage(t).urgent)
    follow_ups = sum(bool(dialogue_turns[i][1]) for i, *_ in fires)
    counts = Counter(c for *_, c in fires)
    mean_chars = sum(map(len, turns)) / len(turns)
    print(f"\nreal corpus: {len(turns)} patient turns of {SHARED_TRAIN.name}, {len(fires)} fires "
          f"({len(fires) / len(turns):.2%}; {sum(by_rules.values())} by the rules, the rest by the classifier; "
          f"{follow_ups} on follow-up turns, read with their dialogue's earlier patient turns; "
          f"{sum(before.values())} ({sum(before.values()) / len(turns):.2%}) before the downgrade, each turn alone), "
          f"{per_call:.0f} µs/turn (mean {mean_chars:.0f} chars)")  # fmt: skip
    rows = [[c, counts[c], by_rules[c], f"{counts[c] / len(turns):.3%}", before[c]] for c in CATEGORIES]
    print(table(["category", "fires", "by rules", "fire rate", "before downgrade"], rows))
    if not sample:
        return
    # A seeded hash order rather than random.sample: a change that adds or drops a few fires changes only a few of
    # the sampled ones, so a hand check stays comparable across versions.
    picked = sorted(fires, key=lambda fire: text_id(f"{seed}:{fire[1]}"))[:sample]
    print(f"\n{len(picked)} random fires (the first by sha1 of '{seed}:' + text), to hand-check:")
    for n, (i, text, category) in enumerate(picked, 1):
        source = "rules" if rule_triage(text).urgent else "model"
        print(f"{n:3d}. turn {i} {text_id(text)} [{category}, {source}] {text}")
    if labels_file:
        hand_check(picked, json.loads(Path(labels_file).read_text(encoding="utf-8")), seed)


def guard_corpus() -> None:
    """The guard over every doctor turn (odd lines) of train.txt: how often real doctors' text would be changed.

    A doctor telling a patient to stop a medicine or how much to take is what the guard must replace in a model's
    reply; drug names, exercise, diet and hot packs must stay (read the changed sentences; never commit them).
    """
    if not SHARED_TRAIN.exists():
        print(f"\nguard corpus check skipped: {SHARED_TRAIN} not found")
        return
    turns = []
    for dialogue in SHARED_TRAIN.read_text(encoding="utf-8").split("\n\n"):
        turns += [line for line in dialogue.split("\n") if line][1::2]
    start = time.perf_counter()
    results = [guard_reply(t) for t in turns]
    per_call = (time.perf_counter() - start) / len(turns) * 1e6
    reasons = Counter(r for result in results for r in result.reasons)
    changed = sum(result.changed for result in results)
    print(f"\nguard on {len(turns)} doctor turns: {changed} changed ({changed / len(turns):.2%}; {dict(reasons)}), "
          f"{per_call:.0f} µs/turn (mean {sum(map(len, turns)) / len(turns):.0f} chars)")  # fmt: skip


def hand_check(picked: list, labels: dict, seed: int) -> None:
    """Precision of the sampled fires from a person's labels (`benchmarks/triage_handcheck.json`, matched by turn
    and fingerprint; a fire the file does not name is counted as unlabelled, never guessed)."""
    if labels["seed"] != seed:
        print(f"\nhand check: the labels are for seed {labels['seed']}, not {seed}")
        return
    named = {(row["turn"], row["id"]): row["label"] for row in labels["fires"]}
    got = Counter(named.get((i, text_id(t)), "unlabelled") for i, t, _ in picked)
    real, border = got["emergency"], got["borderline"]
    print(f"\nhand check ({labels['file']}): {dict(got)}; precision {real / len(picked):.2f} "
          f"({(real + border) / len(picked):.2f} with borderline)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="store_true", help="also run over every patient turn of train.txt")
    parser.add_argument("--sample", type=int, default=0, help="print this many random corpus fires")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", help="hand-check labels of the sampled fires (benchmarks/triage_handcheck.json)")
    parser.add_argument("--guard_corpus", action="store_true", help="also run the guard over every doctor turn")
    parser.add_argument("--tuning_only", action="store_true", help="leave the held-out sets unread (while tuning)")
    args = parser.parse_args()
    print(machine())
    sets = triage_sets(not args.tuning_only)
    headers = ["category"] + [f"{s} {m}" for s in sets for m in ("recall", "right", "false alarms")]
    print(table(headers, [category_row(c, sets) for c in (*CATEGORIES, "other")]))  # other: blind-2's uncategorised
    print()
    checks = {"rules + classifier": triage, "rules alone": rule_triage, "classifier alone": model_only}
    rows = [[f"{n} ({c})", *overall_row(n, *s, check)[1:]] for n, s in sets.items() for c, check in checks.items()]
    print(table(["set (triage)", "recall", "right category", "false alarms"], rows))
    frames = {"frames (fitted)": load("triage_frames.json")}
    if not args.tuning_only:
        frames["frames blind-3"] = load("triage_frames_blind.json")
    rows = [[name, *(ratio(sum(triage(t).urgent for t, _ in f[k]), len(f[k])) for k in ("urgent", "calm"))]
            for name, f in frames.items()]  # fmt: skip
    print(table(["set (emergencies in calm frames)", "recall", "false alarms"], rows))
    texts = [t for urgent, calm in sets.values() for t, _ in urgent + calm]
    imported, first = load_time_ms()
    print(
        f"\nclassifier load: fresh process, import medbot_hf.safety {imported:.0f} ms, first triage call (loads the "
        f"weights) {first:.0f} ms; threshold {shipped_model().threshold}"
    )
    print("time per call (mean over {} case texts): {}".format(len(texts), ", ".join(
        f"{c} {time_per_call_us(texts, check):.0f} µs" for c, check in checks.items())))  # fmt: skip
    print("\nguard")
    guard_cases = guard_sets(not args.tuning_only)
    columns = ["set", "caught", "caught per reason", "false changes", "self-harm, rules alone", "false, rules alone"]
    print(table(columns, guard_rows(guard_cases)))
    replies = [t for c in guard_cases.values() for t in c["ok"] + [t for t, _ in c["flag"] + c.get("ok_near", [])]]
    print(f"guard time per reply (mean over {len(replies)} case texts): "
          f"{time_per_call_us(replies, guard_reply):.0f} µs")  # fmt: skip
    if args.guard_corpus:
        guard_corpus()
    if args.corpus:
        corpus_check(args.sample, args.seed, args.labels)


if __name__ == "__main__":
    main()
