"""The terminal chat, driven as a person would: a real pseudo-terminal (pexpect), real keys, a real model."""

import re
import subprocess
import sys
import time

import pexpect
from conftest import ROOT

CHAT = [sys.executable, str(ROOT / "recipes" / "chat.py")]


def spawn(model_dir, tmp_path, *extra):
    args = [*CHAT[1:], "--model_name_or_path", str(model_dir), "--samples_file", str(tmp_path / "s.txt"), *extra]
    child = pexpect.spawn(CHAT[0], args, encoding="utf-8", timeout=60, cwd=str(tmp_path), dimensions=(40, 200))
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


def test_streaming_and_ctrl_c_interrupts_only_the_reply(slow_model, tmp_path):
    child = spawn(slow_model, tmp_path, "--max_new_tokens", "1800")  # seconds of reply, even on a busy machine
    child.sendline("我发烧了")
    child.expect("医生（AI生成）: ")
    arrivals = []
    while len(arrivals) < 5:  # pieces of the reply arrive one after another
        child.read_nonblocking(1, timeout=30)
        arrivals.append(time.monotonic())
        time.sleep(0.05)
    child.sendintr()
    child.expect(r"\[已中断\]")
    child.expect("患者: ")  # the session goes on
    assert arrivals[-1] - arrivals[0] > 0.1
    child.sendline("/history")
    child.expect(r"\(0 轮\)")  # the interrupted reply is not kept
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "[interrupted]" in (tmp_path / "s.txt").read_text(encoding="utf-8")


def test_urgent_message_gets_advice_first(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--max_new_tokens", "10")
    child.sendline("胸口剧痛，满头大汗，左胳膊发麻")
    child.expect("医生（AI生成）: ")
    child.expect("120")
    child.sendline("/quit")
    child.expect(pexpect.EOF)


def test_piped_stdin_answers_each_line(trained, tmp_path):
    result = subprocess.run(
        [*CHAT, "--model_name_or_path", str(trained[0]), "--samples_file", str(tmp_path / "s.txt"),
         "--max_new_tokens", "15", "--seed", "3"],
        input="我咳嗽一周了\n\n孩子拉肚子怎么办？\n", capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(lines)
    assert "不是医生" in result.stderr and "不是医生" not in result.stdout


def test_bad_model_path_is_one_clear_line(tmp_path):
    result = subprocess.run(
        [*CHAT, "--model_name_or_path", str(tmp_path / "nope")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: cannot load {tmp_path / 'nope'}")


def test_show_similar_and_reranked_replies(trained, tmp_path):
    child = spawn(trained[0], tmp_path, "--seed", "1", "--max_new_tokens", "16", "--num_candidates", "4",
                  "--show_similar", "2")  # fmt: skip
    child.sendline("我这两天鼻塞流清鼻涕，是不是感冒了？")
    child.expect("医生（AI生成）: ")
    child.expect("检索自训练语料中的真实医患对话，并非模型生成")  # labelled, under the reply
    child.expect("患者: ")
    shown = child.before
    assert "1. 患者: 我这两天鼻塞流清鼻涕" in shown and "医生(真实回答): " in shown and "2. 患者: " in shown
    child.sendeof()
    child.expect(pexpect.EOF)
