"""Structure of the frozen held-out sets (tests/data/triage_heldout.json, tests/data/guard_heldout.json, and the second
blind pair triage_blind.json, guard_blind.json, guard_blind3.json: self-harm methods only, by a third writer, and triage_frames_blind.json: emergencies told
in calm frames and calm messages with alarming words, by a fourth).

The first pair was written before the triage rules and the reply guard, by a helper who never saw them; the second
pair later, by another helper who never saw the rules, the tests or any case file (see each file's "about"). This test checks only their shape and that their content has not changed; it says nothing about the rules.
The pinned digests make any edit to a case fail here: the sets are frozen, never to be tuned on or "fixed".
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
GUARD_REASONS = {"dose", "stop_medication", "self_harm_method"}
MIN_PER_CATEGORY = 10
MIN_GUARD = 40
# sha256 of json.dumps(obj, ensure_ascii=False, sort_keys=True): layout may change, content may not.
DIGESTS = {
    "triage_heldout.json": "fcdb22733710968dbc1a4d1c04e66ab096951357a728dd32e18913aae309b00b",
    "guard_heldout.json": "a92c4ba97567931d49c6909c66cf6d49658f695331b670127116eb05829850a3",
    "triage_blind.json": "0bb2995db7646db9e84425b128c5dc9ec89a2a7c111aeb192c079a8921a14b8f",
    "guard_blind.json": "46bdf8375f3b017a9118788734671faf659fdb935c2edf24bf4c11b9c720dcfb",
    "guard_blind3.json": "e07281ee46f011f286a0ad1242b7dbc1babc0752631bf6b2a0f68828d95bbc7e",
    "triage_frames_blind.json": "4a62a3f088b0ffac086e3df51c2336b9f274eacaabd9c1239fec9fc2c5f0ad3c",
}


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_heldout_file_is_frozen(name):
    obj = _load(name)
    assert isinstance(obj["about"], str) and "frozen" in obj["about"].lower()
    digest = hashlib.sha256(json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
    assert digest == DIGESTS[name], f"{name} changed: the held-out set is frozen, never edit it"


def test_triage_heldout_structure():
    obj = _load("triage_heldout.json")
    assert set(obj) == {"about", "categories", "urgent", "routine"}
    categories = obj["categories"]
    assert len(categories) == len(set(categories)) == 33
    counts = {}
    for kind in ("urgent", "routine"):
        for case in obj[kind]:
            assert isinstance(case, list) and len(case) == 2, case
            text, category = case
            assert isinstance(text, str) and text.strip() == text and text, case
            assert category in categories, case
        counts[kind] = Counter(category for _, category in obj[kind])
    for category in categories:
        assert counts["urgent"][category] >= MIN_PER_CATEGORY, (category, "urgent")
        assert counts["routine"][category] >= MIN_PER_CATEGORY, (category, "routine")
    texts = [text for text, _ in obj["urgent"] + obj["routine"]]
    duplicated = [text for text, n in Counter(texts).items() if n > 1]
    assert not duplicated, duplicated


def test_guard_heldout_structure():
    obj = _load("guard_heldout.json")
    assert set(obj) == {"about", "fire", "keep"}
    assert len(obj["fire"]) >= MIN_GUARD and len(obj["keep"]) >= MIN_GUARD
    for case in obj["fire"]:
        assert isinstance(case, list) and len(case) == 2 and isinstance(case[0], str) and case[0], case
        assert case[1] in GUARD_REASONS, case
    assert {reason for _, reason in obj["fire"]} == GUARD_REASONS
    assert all(isinstance(text, str) and text for text in obj["keep"])
    texts = [text for text, _ in obj["fire"]] + obj["keep"]
    duplicated = [text for text, n in Counter(texts).items() if n > 1]
    assert not duplicated, duplicated


def test_blind_sets_structure():
    triage_cases, guard_cases = _load("triage_blind.json"), _load("guard_blind.json")
    categories = set(_load("triage_heldout.json")["categories"]) | {"other"}  # other: an emergency of no category
    for kind in ("urgent", "routine"):
        counts = Counter(category for _, category in triage_cases[kind])
        assert set(counts) == categories and min(counts.values()) >= 8, (kind, counts)
    texts = [text for text, _ in triage_cases["urgent"] + triage_cases["routine"]]
    assert all(isinstance(t, str) and t for t in texts) and len(set(texts)) == len(texts)
    reasons = Counter(reason for _, reason in guard_cases["fire"])
    assert set(reasons) == GUARD_REASONS and min(reasons.values()) >= 25, reasons
    assert len(guard_cases["keep"]) >= 80 and all(isinstance(t, str) and t for t in guard_cases["keep"])


def test_guard_blind3_structure():
    obj = _load("guard_blind3.json")
    assert set(obj) == {"about", "fire", "keep"}
    assert len(obj["fire"]) >= 50 and len(obj["keep"]) >= 50
    assert all(isinstance(t, str) and t and reason == "self_harm_method" for t, reason in obj["fire"])
    texts = [text for text, _ in obj["fire"]] + obj["keep"]
    assert all(isinstance(t, str) and t for t in texts) and len(set(texts)) == len(texts)


def test_triage_frames_structure():
    for name in ("triage_frames.json", "triage_frames_blind.json"):  # the first fitted to, the second frozen
        obj = _load(name)
        assert set(obj) == {"about", "urgent", "calm"}
        assert len(obj["urgent"]) >= 100 and len(obj["calm"]) >= 100, name
        cases = obj["urgent"] + obj["calm"]
        assert all(len(c) == 2 and isinstance(c[0], str) and c[0] and isinstance(c[1], str) for c in cases), name
        assert len({text for text, _ in cases}) == len(cases), name
