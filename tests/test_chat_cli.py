"""The terminal chat, driven as a person would: a real pseudo-terminal (pexpect), real keys, a real model."""

import os
import re
import subprocess
import sys
import time

import pexpect
import pytest
from conftest import ROOT, sigint_default

CHAT = [sys.executable, str(ROOT / "recipes" / "chat.py")]


def spawn(model_dir, tmp_path, *extra):
    args = [*CHAT[1:], "--model_name_or_path", str(model_dir), "--samples_file", str(tmp_path / "s.txt"), *extra]
    child = pexpect.spawn(
        CHAT[0],
        args,
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
        cwd=str(tmp_path),
        dimensions=(40, 200),
        preexec_fn=sigint_default,
    )
    child.expect("不是医生")
    child.expect("患者: ")
    return child


def test_repl_session(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--seed", "1", "--max_new_tokens", "20")
    child.sendline("我头疼怎么办？")
    child.expect("医生（AI生成）: ")
    child.expect("患者: ")
    reply = child.before.strip()
    assert reply and "[SEP]" not in reply
    child.sendline("/history")
    child.expect(r"\(1 轮\)")
    assert "患者: 我头疼怎么办？" in child.before and "医生（AI生成）: " + reply in child.before
    child.sendline("/help")
    child.expect("/reset")
    child.sendline("/reset")
    child.expect("已清空对话历史")
    child.sendline("/history")
    child.expect(r"\(0 轮\)")
    child.sendeof()
    child.expect("再见")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    transcript = (tmp_path / "s.txt").read_text(encoding="utf-8")
    assert re.search(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\] 患者: 我头疼怎么办？", transcript)
    assert f"医生（AI生成）: {reply}" in transcript and "--- reset" in transcript


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
def test_streaming_and_ctrl_c_interrupts_only_the_reply(slow_model, tmp_path):
    child = spawn(slow_model, tmp_path, "--max_new_tokens", "1800")  # seconds of reply, even on a busy machine
    child.sendline("我发烧了")
    child.expect("医生（AI生成）: ")
    streamed = ""
    while len(streamed) < 5:  # pieces of the reply arrive one after another, before the reply ends
        streamed += child.read_nonblocking(1, timeout=120)  # a sentence at a time: slow when the machine is busy
        time.sleep(0.05)
    assert "患者" not in streamed  # the reply was still being written when its first pieces were shown
    child.sendintr()
    child.expect(r"\[已中断\]")
    child.expect("患者: ")  # the session goes on
    child.sendline("/history")
    child.expect(r"\(0 轮\)")  # the interrupted reply is not kept
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "[interrupted]" in (tmp_path / "s.txt").read_text(encoding="utf-8")


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
def test_urgent_message_gets_advice_first_set_apart(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--max_new_tokens", "10")
    child.sendline("胸口剧痛，满头大汗，左胳膊发麻")
    child.expect("医生（AI生成）: ")
    child.expect("【紧急提示】")
    child.expect("【模型回答】")
    assert "120" in child.before and child.before.rstrip().endswith("。")  # the advice, then a blank line
    child.expect("患者: ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    piped = subprocess.run(
        [*CHAT, "--model_name_or_path", str(trained[0]), "--samples_file", str(tmp_path / "p.txt"),
         "--max_new_tokens", "5"],
        input="胸口剧痛，满头大汗，左胳膊发麻\n", capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    line = piped.stdout.strip()
    assert line.startswith("【紧急提示】") and "120" in line.split("【模型回答】")[0] and "\n" not in line


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
def test_line_editing_and_history_across_sessions(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--max_new_tokens", "4")
    child.send("头疼\x1b[DX\r")  # Left moves the cursor back one character: the question is 头X疼
    child.expect("医生（AI生成）: ")
    child.expect("患者: ")
    child.send("\x1b[A\r")  # Up recalls the last question
    child.expect("医生（AI生成）: ")
    child.expect("患者: ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    assert "头X疼" in (tmp_path / "s.history").read_text(encoding="utf-8")  # next to the transcript s.txt
    child = spawn(trained[0], tmp_path, "--max_new_tokens", "4")
    child.send("\x1b[A\x1b[A\r")  # a new session recalls the last one's questions: /quit, then 头X疼
    child.expect("医生（AI生成）: ")
    child.expect("患者: ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    transcript = (tmp_path / "s.txt").read_text(encoding="utf-8")
    assert transcript.count("患者: 头X疼\n") == 3 and "\x1b" not in transcript


def test_long_paste_arrives_whole_and_overflow_is_said(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--max_new_tokens", "4")
    question = "头疼" * 2500  # 5,000 characters, three times the terminal's 4,096-byte line
    child.send(question + "\r")
    child.expect("问题有 5000 个字词", timeout=120)  # the model reads 122 of them: say so, do not cut silently
    child.expect("医生（AI生成）: ")
    child.expect("患者: ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    assert f"患者: {question}\n" in (tmp_path / "s.txt").read_text(encoding="utf-8")


def test_commands_are_case_insensitive_and_unknown_ones_get_help(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--max_new_tokens", "4")
    for line in ("/HELP", "/Foo bar", "／help"):
        child.sendline(line)
        child.expect("命令不分大小写")
    os.write(child.child_fd, b"\xff\xfe\r")  # bytes that are not UTF-8 typed at the prompt
    child.expect("不是有效的 UTF-8")
    child.sendline("/History")
    child.expect(r"\(0 轮\)")  # none of them went to the model
    child.sendline("/QUIT now")
    child.expect("再见")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_piped_invalid_utf8_is_reported_and_skipped(trained, tmp_path):
    result = subprocess.run(
        [*CHAT, "--model_name_or_path", str(trained[0]), "--samples_file", str(tmp_path / "s.txt"),
         "--max_new_tokens", "5"],
        input="我咳嗽一周了\n".encode() + b"\xff\xfe\xe5\xa4\xb4\n" + "孩子拉肚子怎么办？\n".encode(),
        capture_output=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    stderr = result.stderr.decode()
    assert result.returncode == 0 and "Traceback" not in stderr, stderr
    assert len(result.stdout.decode().splitlines()) == 2  # the two good lines were answered
    assert "第 2 行不是有效的 UTF-8" in stderr and "共跳过 1 行" in stderr


@pytest.mark.parametrize("extra", [(), ("--quantize", "int8")], ids=["fp32", "int8"])
def test_piped_stdin_answers_each_line(trained, tmp_path, extra):
    result = subprocess.run(
        [*CHAT, "--model_name_or_path", str(trained[0]), "--samples_file", str(tmp_path / "s.txt"),
         "--max_new_tokens", "15", "--seed", "3", *extra],
        input="我咳嗽一周了\n\n孩子拉肚子怎么办？\n", capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(lines)
    assert "不是医生" in result.stderr and "不是医生" not in result.stdout


def test_special_token_text_in_a_message_is_text(trained, tmp_path):
    import torch

    from medbot_hf.modeling import load_for_inference

    model, tok = load_for_inference(str(trained[0]), "cpu")
    question = "嗓子[SEP]疼[CLS]怎么办"

    def greedy(ids):  # the reply to exactly these prompt ids
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=24)  # fmt: skip
        return tok.decode(out[0, len(ids) :], skip_special_tokens=True).strip()

    cls, sep = tok.cls_token_id, tok.sep_token_id
    as_text = greedy([cls, *tok.convert_tokens_to_ids(list(question)), sep])
    forged = greedy([cls, *tok.convert_tokens_to_ids(list("嗓子")), sep, *tok.convert_tokens_to_ids(list("疼")), cls,
                     *tok.convert_tokens_to_ids(list("怎么办")), sep])  # fmt: skip
    assert as_text != forged  # so the chat's reply tells which prompt it saw
    result = subprocess.run(
        [*CHAT, "--model_name_or_path", str(trained[0]), "--samples_file", str(tmp_path / "s.txt"), "--do_sample",
         "false", "--max_new_tokens", "24"],
        input=question + "\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == as_text


@pytest.mark.slow  # 10-50 s of real subprocesses: kept out of the default run, run by .ci/run
@pytest.mark.parametrize("surface", ["chat", "serve", "eval"])
def test_missing_model_folder_is_one_clear_line(tmp_path, surface):
    script = [sys.executable, str(ROOT / "recipes" / f"{surface}.py")]
    extra = ["--test_file", str(ROOT / "data" / "sample" / "valid.txt")] if surface == "eval" else []
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}  # as on a machine without a network: the hub cannot answer
    for name, says in (
        (str(tmp_path / "nope"), "no such folder (and not a hub id, which looks like user/name)"),
        ("outputs/no-such-run", "no such folder; a hub id needs the network, and the hub is unreachable"),
    ):
        result = subprocess.run(
            [*script, "--model_name_or_path", name, *extra], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and f"{name}: {says}" in last and "Repo id must" not in result.stderr


def test_show_similar_and_reranked_replies(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--seed", "1", "--max_new_tokens", "16", "--num_candidates", "4",
                  "--show_similar", "2")  # fmt: skip
    child.sendline("我这两天鼻塞流清鼻涕，是不是感冒了？")
    child.expect("医生（AI生成）: ")
    child.expect("检索自训练语料中的真实医患对话，并非模型生成")  # labelled, under the reply
    child.expect("\r\n患者: ")  # the next prompt, at the start of a line (the list has "1. 患者: ...")
    shown = child.before
    assert "1. 患者: 我这两天鼻塞流清鼻涕" in shown and "医生(真实回答): " in shown and "2. 患者: " in shown
    child.sendeof()
    child.expect(pexpect.EOF)
