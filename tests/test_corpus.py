import json
import logging
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE_TRAIN

from medbot_hf.configs import DataArguments, ModelArguments
from medbot_hf.corpus import CorpusError, read_corpus
from medbot_hf.data import get_raw_datasets, validation_size


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def roles(dialogue):
    return [m["role"] for m in dialogue]


def test_sample_corpus_reads_cleanly():
    parsed = read_corpus(str(SAMPLE_TRAIN))
    assert len(parsed.dialogues) >= 150 and not parsed.dropped
    assert any(len(d) > 2 for d in parsed.dialogues) and any(len(d) == 2 for d in parsed.dialogues)


def test_chitchat_robustness(tmp_path):
    text = (
        "\ufeff问一\r\n答一  \r\n\r\n"  # BOM, CRLF, trailing spaces
        "问二\n答二\n问三\n答三\n \t \n\n\n"  # whitespace-only "blank" line, then a run of blanks
        "问四\r答四\r问五\n\n"  # old-Mac CR; a dangling last question
        "孤单的一句\n"  # one line: no pair at all
    )
    parsed = read_corpus(write(tmp_path, "train.txt", text))
    contents = [[m["content"] for m in d] for d in parsed.dialogues]
    assert contents == [["问一", "答一"], ["问二", "答二", "问三", "答三"], ["问四", "答四"]]
    assert roles(parsed.dialogues[1]) == ["user", "assistant", "user", "assistant"]
    assert parsed.lines == [1, 4, 11]
    assert parsed.dropped == {"dangling_questions": 2, "dialogues_without_a_pair": 1}


def test_jsonl_messages_roles_and_system(tmp_path):
    lines = [
        {"messages": [{"role": "system", "content": "你是医生"}, {"role": "human", "content": "头疼"},
                      {"role": "gpt", "content": "多休息"}]},
        {"messages": [{"from": "doctor", "value": "你好"}, {"from": "patient", "value": "发烧"},
                      {"from": "patient", "value": "38度"}, {"from": "doctor", "value": "多喝水"}]},
    ]  # fmt: skip
    parsed = read_corpus(write(tmp_path, "c.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)))
    assert parsed.dialogues[0] == [
        {"role": "system", "content": "你是医生"},
        {"role": "user", "content": "头疼"},
        {"role": "assistant", "content": "多休息"},
    ]
    assert parsed.dialogues[1] == [
        {"role": "user", "content": "发烧\n38度"},
        {"role": "assistant", "content": "多喝水"},
    ]
    assert parsed.dropped == {"leading_doctor_turns": 1, "merged_turns": 1}


def test_csv_and_jsonl_question_answer(tmp_path):
    csv_path = write(
        tmp_path, "qa.csv", 'ask,answer,dept\n头疼怎么办,多休息,内科\n,空问题,内科\n"咳嗽,有痰",多喝水,内科\n'
    )
    parsed = read_corpus(csv_path, question_column="ask")
    assert [[m["content"] for m in d] for d in parsed.dialogues] == [["头疼怎么办", "多休息"], ["咳嗽,有痰", "多喝水"]]
    assert parsed.lines == [2, 4] and parsed.dropped["empty_turns"] == 1
    jsonl = write(tmp_path, "qa.jsonl", '{"q": "胃疼", "a": "清淡饮食"}\n')
    parsed = read_corpus(jsonl, question_column="q", answer_column="a")
    assert parsed.dialogues == [[{"role": "user", "content": "胃疼"}, {"role": "assistant", "content": "清淡饮食"}]]


BAD_INPUTS = [
    ("missing.txt", None, r"missing\.txt: no such file"),
    ("adir", "dir", r"adir: is a directory"),
    ("empty.txt", " \n\n \n", r"empty\.txt: the corpus is empty"),
    ("nopairs.txt", "只有一句\n\n又一句\n", r"nopairs\.txt: no complete patient/doctor dialogue"),
    ("latin1.txt", "问\n答\n\n".encode() + "caf\xe9\n".encode("latin-1"), r"latin1\.txt:4: invalid UTF-8 \(byte 0xe9"),
    ("model.bin", b"PK\x03\x04\x00\x00\x01\x02", r"model\.bin:1: looks like a binary file"),
    ("bad.jsonl", '{"messages": []}\n{"messages": [}\n', r"bad\.jsonl:2: not valid JSON"),
    (
        "cols.csv",
        "title,body\n头疼,休息\n",
        r"cols\.csv:2: missing column\(s\) 'question', 'answer' \(found: title, body\)",
    ),
    (
        "role.jsonl",
        '{"messages": [{"role": "nurse", "content": "x"}]}\n',
        r"role\.jsonl:1: message 1 has unknown role",
    ),
    ("norole.jsonl", '{"messages": [{"content": "x"}]}\n', r"norole\.jsonl:1: message 1 has no 'role'"),
    ("nomsg.jsonl", '{"text": "x"}\n', r"nomsg\.jsonl:1: missing column 'messages'"),
]


def make_bad(tmp_path, name, content):
    if content == "dir":
        (tmp_path / name).mkdir()
        return str(tmp_path / name)
    if content is None:
        return str(tmp_path / name)
    return write(tmp_path, name, content, "wb" if isinstance(content, bytes) else "w")


@pytest.mark.parametrize("name, content, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_fails_before_any_model(tmp_path, caplog, name, content, message):
    from transformers import TrainingArguments

    from medbot_hf.training import prepare

    path = make_bad(tmp_path, name, content)
    fmt = "messages" if name == "nomsg.jsonl" else "auto"
    data_args = DataArguments(train_file=path, corpus_format=fmt, cache_dir=str(tmp_path / "cache"))
    training_args = TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True, report_to="none")
    with caplog.at_level(logging.INFO, logger="medbot_hf"), pytest.raises(CorpusError, match=message):
        prepare(ModelArguments(), data_args, training_args)
    assert not [r for r in caplog.records if r.getMessage().startswith("GPT-2:")]


def test_cli_reports_bad_corpus_in_one_line(tmp_path):
    path = make_bad(tmp_path, "latin1.txt", BAD_INPUTS[4][1])
    result = subprocess.run(
        [sys.executable, "recipes/finetune.py", "--train_file", path, "--output_dir", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"error: {path}:4: invalid UTF-8 (byte 0xe9 at column 4); re-save the file as UTF-8, or if it is "
        "GB18030/GBK (common for Chinese corpora) give --encoding gb18030"
    )
    assert "Traceback" not in result.stderr


def test_hub_dataset_offline_fails_fast(monkeypatch):

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CorpusError, match=r"dataset 'nobody/no-such-medical-corpus': could not load it .*offline"):
        get_raw_datasets(DataArguments(dataset_name="nobody/no-such-medical-corpus"))


@pytest.mark.parametrize("n, expected", [(2, 1), (20, 1), (50, 3), (181, 10), (16700, 835)])
def test_validation_split_floor(n, expected):
    assert validation_size(n, 5.0) == expected


def test_fifty_dialogue_corpus_splits(tmp_path):
    path = write(tmp_path, "small.txt", "".join(f"问题{i}\n回答{i}\n\n" for i in range(50)))
    raw, stats = get_raw_datasets(DataArguments(train_file=path), seed=0)
    assert (len(raw["train"]), len(raw["validation"])) == (47, 3)
    assert stats["train"]["dialogues"] == 50 and stats["validation"] == {"held_out_from_train": 3}
    with pytest.raises(CorpusError, match="at least 2 are needed"):
        get_raw_datasets(DataArguments(train_file=write(tmp_path, "one.txt", "问\n答\n")))


GBK_QA = "question,answer\n头疼怎么办,多休息\n发烧三天,去医院\n"


def test_encoding_flag_reads_gb18030_in_every_format(tmp_path):
    qa = write(tmp_path, "toyhom.csv", GBK_QA.encode("gb18030"), "wb")
    with pytest.raises(CorpusError, match=r"toyhom\.csv:2: invalid UTF-8 .*give --encoding gb18030"):
        read_corpus(qa)
    assert read_corpus(qa, encoding="gb18030").dialogues[1][1] == {"role": "assistant", "content": "去医院"}
    chat = write(tmp_path, "t.txt", "问一\n答一\n\n问二\n答二\n".encode("gbk"), "wb")
    jsonl = write(tmp_path, "t.jsonl", '{"question": "胸口痛", "answer": "急诊"}\n'.encode("gb18030"), "wb")
    assert len(read_corpus(chat, encoding="gbk").dialogues) == 2
    assert read_corpus(jsonl, encoding="GB18030").dialogues[0][0]["content"] == "胸口痛"
    raw, _ = get_raw_datasets(DataArguments(train_file=qa, validation_file=chat, encoding="gb18030"))
    assert raw["validation"][0]["messages"][0]["content"] == "问一"
    with pytest.raises(ValueError, match="--encoding 'klingon': not a codec"):
        DataArguments(train_file=qa, encoding="klingon")


@pytest.mark.parametrize("bom_codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_with_bom_is_named(tmp_path, bom_codec):
    data = ("\ufeff" if bom_codec == "utf-16-be" else "") + "问一\n答一\n"  # the others write their own mark
    path = write(tmp_path, "u.txt", data.encode(bom_codec), "wb")
    name = "UTF-32" if "32" in bom_codec else "UTF-16"
    with pytest.raises(CorpusError, match=f"is {name} text .*byte-order mark.*give --encoding {name.lower()}"):
        read_corpus(path)
    assert read_corpus(path, encoding=name.lower()).dialogues == [
        [{"role": "user", "content": "问一"}, {"role": "assistant", "content": "答一"}]
    ]


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
def test_cli_encoding_flag_and_hint(tmp_path):
    qa = write(tmp_path, "toyhom.csv", GBK_QA.encode("gb18030"), "wb")
    command = [sys.executable, "recipes/finetune.py", "--train_file", qa, "--validate_only", "true"]
    bad = subprocess.run(
        [*command, "--output_dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].endswith("give --encoding gb18030")
    good = subprocess.run(
        [*command, "--output_dir", str(tmp_path), "--encoding", "gb18030"], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert good.returncode == 0, good.stderr[-2000:]
    assert json.loads(good.stdout)["train"]["dialogues"] == 2


def test_only_regular_files_are_corpora(tmp_path):
    import os
    import socket

    zero = tmp_path / "zero.txt"
    zero.symlink_to("/dev/zero")  # read, it never ends
    with pytest.raises(CorpusError, match=r"zero\.txt: is a character device, not a corpus file"):
        read_corpus(str(zero))
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opened, it would block until a writer came
    with pytest.raises(CorpusError, match=r"pipe\.txt: is a FIFO \(named pipe\), not a corpus file"):
        read_corpus(str(fifo))
    sock_path = tmp_path / "s.jsonl"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(CorpusError, match=r"s\.jsonl: is a socket, not a corpus file"):
            read_corpus(str(sock_path))
    dangling = tmp_path / "gone.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(CorpusError, match=r"gone\.txt: no such file"):
        read_corpus(str(dangling))


def test_dev_zero_through_the_cli_is_one_line(tmp_path):
    zero = tmp_path / "train.txt"
    zero.symlink_to("/dev/zero")
    result = subprocess.run(
        [sys.executable, "recipes/finetune.py", "--train_file", str(zero), "--output_dir", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"error: {zero}: is a character device, not a corpus file; give a regular file"
    )
