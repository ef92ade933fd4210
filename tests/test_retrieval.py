"""The retrieval index of similar real consultations: tokens, save and reload, empty results, medbot-index."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE_TRAIN

from medbot_hf.corpus import read_corpus
from medbot_hf.index_cli import main as index_main
from medbot_hf.retrieval import (
    RetrievalIndex,
    bigrams,
    build_corpus_index,
    consultations_json,
    file_sha256,
    format_consultations,
    load_model_index,
    qa_pairs,
)
from medbot_hf.safety import guard_reply


def test_bigrams_stay_inside_runs_of_characters():
    assert bigrams("头疼，发烧3天") == ["头疼", "发烧", "烧3", "3天"]
    assert bigrams("咳") == ["咳"] and bigrams("？！ ") == []
    assert bigrams("CT正常") == ["ct", "t正", "正常"]


def test_qa_pairs_cover_every_turn_and_skip_the_system_text():
    dialogues = [
        [{"role": "system", "content": "s"}, {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
         {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}],
        [{"role": "user", "content": "q3"}, {"role": "assistant", "content": "a3"}],
    ]  # fmt: skip
    assert qa_pairs(dialogues) == [("q1", "a1"), ("q2", "a2"), ("q3", "a3")]


@pytest.fixture(scope="module")
def sample_index():
    return build_corpus_index(read_corpus(str(SAMPLE_TRAIN)).dialogues, str(SAMPLE_TRAIN), "train.txt")


def test_save_reload_gives_the_same_top_k(sample_index, tmp_path):
    sample_index.save(str(tmp_path / "index"))
    reloaded = RetrievalIndex.load(str(tmp_path / "index"))
    queries = ["我鼻塞流鼻涕，是感冒了吗", "胃疼拉肚子怎么办", "宝宝发烧三十八度"]
    assert reloaded.search_many(queries, 5) == sample_index.search_many(queries, 5)
    top = reloaded.search(queries[0], 3)
    assert len(top) == 3 and top[0].score >= top[1].score >= top[2].score > 0
    assert "鼻塞" in top[0].question  # the sample's first dialogue: 我这两天鼻塞流清鼻涕...
    assert reloaded.meta["corpus_sha256"] == file_sha256(str(SAMPLE_TRAIN))
    assert reloaded.meta["pairs"] == len(reloaded.pairs) == 266  # the sample corpus's QA pairs


def test_query_sharing_no_characters_returns_nothing(sample_index):
    assert sample_index.search("ZZZZ qqqq", 5) == []
    assert sample_index.search("。。。", 5) == [] and sample_index.search("", 5) == []
    assert sample_index.search("感冒", 0) == []


def test_loading_needs_no_corpus_and_a_missing_index_says_how_to_build_it(sample_index, tmp_path):
    sample_index.save(str(tmp_path / "index"))
    assert not (tmp_path / "index" / "corpus.jsonl").exists()  # the pairs are ours, in pairs.jsonl
    with pytest.raises(OSError, match="medbot-index --model_name_or_path DIR --corpus FILE"):
        RetrievalIndex.load(str(tmp_path / "nothing"))


def test_medbot_index_builds_into_the_folder_and_notes_the_terms_in_the_card(tmp_path, capsys):
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "train.txt").write_text(SAMPLE_TRAIN.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus_dir / "README.md").write_text("# c\n\n- Terms: research dataset.\n  **Research use only.**\n- x\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "README.md").write_text("# card\n\nold text\n", encoding="utf-8")
    for _ in range(2):  # a second build replaces the card's section, never repeats it
        index_main(["--model_name_or_path", str(model), "--corpus", str(corpus_dir / "train.txt")])
    assert "Indexed 266 (question, answer) pairs" in capsys.readouterr().out
    index = load_model_index(str(model))
    assert index.meta["terms"] == ["Terms: research dataset. Research use only."]
    card = (model / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# card\n\nold text\n") and card.count("## Retrieval index") == 1
    assert "for research use only" in card and "Terms: research dataset. Research use only." in card
    assert json.loads((model / "retrieval_index" / "index.json").read_text())["corpus_sha256"] in card


def test_medbot_index_errors_name_the_path(tmp_path):
    with pytest.raises(SystemExit, match="no such model folder"):
        index_main(["--model_name_or_path", str(tmp_path / "none"), "--corpus", str(SAMPLE_TRAIN)])
    with pytest.raises(SystemExit, match="missing.txt"):
        index_main(["--model_name_or_path", str(tmp_path), "--corpus", str(tmp_path / "missing.txt")])


def test_retrieved_answers_are_shown_through_the_reply_guard():
    index = RetrievalIndex.build(
        [("发烧38度5怎么办", "可以口服布洛芬混悬液，每次10毫升，一天三次。多喝水，注意休息。"),
         ("嗓子疼怎么办", "多喝温水，少吃辛辣，观察两三天。")]
    )  # fmt: skip
    dosed, plain = index.search("发烧38度5怎么办", 1)[0], index.search("嗓子疼怎么办", 1)[0]
    assert "每次10毫升" in dosed.answer  # the index keeps the real text (the retrieval baseline scores it)
    shown = consultations_json([dosed, plain])["items"]
    assert "每次10毫升" not in shown[0]["answer"] and "多喝水，注意休息。" in shown[0]["answer"]
    assert shown[0]["guard"] == {"changed": True, "reasons": ["dose"]}
    assert shown[1]["answer"] == plain.answer and shown[1]["guard"] == {"changed": False, "reasons": []}
    text = format_consultations([dosed])
    assert "每次10毫升" not in text and guard_reply(dosed.answer).text in text
