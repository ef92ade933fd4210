"""The chat page in a real headless Chromium against a real server (issue 16): a long consultation on a phone and a
desktop, trimmed requests, errors in Chinese, and the red-flag advice at its reply."""

from __future__ import annotations

import json
import os
import re

import pytest
from test_serving import ARTIFACTS, server

PHONE, DESKTOP = {"width": 390, "height": 780}, {"width": 1280, "height": 800}
URGENT = "胸口剧痛，满头大汗，左胳膊发麻"


@pytest.fixture(scope="module")
def chromium():
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright.expect.set_options(timeout=30_000)  # a loaded 2-core CI machine generates slowly
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        yield browser, playwright.expect
        browser.close()


@pytest.fixture(scope="module")
def base(trained):
    with server(trained[0], "--max_tokens_cap", "3") as (url, _):  # short replies: 40 exchanges stay quick
        yield url


def open_page(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    problems, bodies = [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: bodies.append(r.post_data) if r.url.endswith("/api/chat/stream") else None)
    page.goto(url + "/")
    return page, problems, bodies


def exchange(page, expect, question: str, n: int) -> None:
    page.fill("#input", question)
    page.press("#input", "Enter")
    expect(page.locator(".msg.assistant")).to_have_count(n)
    expect(page.locator("#send")).to_be_enabled()


def assert_in_view(page, expect) -> None:
    expect(page.locator("#input")).to_be_in_viewport()
    expect(page.locator(".msg.assistant").last).to_be_in_viewport()
    assert page.locator("#status").is_hidden(), page.inner_text("#status")
    # the page itself never grows past the screen: only the message list scrolls
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_forty_exchanges_keep_input_and_newest_reply_in_view(chromium, base, viewport):
    browser, expect = chromium
    page, problems, bodies = open_page(browser, base, viewport)
    for i in range(1, 41):
        exchange(page, expect, f"第{i}次问：我头疼了{i}天，还有点发烧，需要去医院吗？", i)
        if i % 8 == 0 or i < 4:
            assert_in_view(page, expect)
    assert_in_view(page, expect)
    sent = [json.loads(b)["messages"] for b in bodies]
    assert len(sent) == 40 and sent[-1][-1]["content"].startswith("第40次问")
    assert max(map(len, sent)) < 64 and len(sent[-1]) < 79  # only what the model can read, not all 79 messages
    assert page.locator(".msg").count() == 80  # the page still shows the whole consultation
    if viewport is PHONE:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "page_phone_40_exchanges.png"))
    page.reload()  # the trimming survives a reload
    exchange(page, expect, "刷新后再问一次", 41)
    assert len(json.loads(bodies[-1])["messages"]) < 64 and not problems, problems
    page.close()


def test_long_questions_never_reach_the_body_limit(chromium, base):
    browser, expect = chromium
    page, problems, bodies = open_page(browser, base, DESKTOP)
    for i in range(1, 15):  # 14 questions of 1,900 characters: about 80 KiB if the whole history were sent
        exchange(page, expect, f"第{i}次：" + "头疼发烧咳嗽乏力" * 237, i)
    assert_in_view(page, expect)
    assert max(len(b.encode()) for b in bodies) < 32 * 1024 and not problems, problems
    page.close()


def test_errors_are_chinese_and_keep_the_typed_question(chromium, trained):
    browser, expect = chromium
    with server(trained[0], "--api_key", "s3cret", "--max_tokens_cap", "3") as (url, _):
        page, _, _ = open_page(browser, url, PHONE)
        page.fill("#input", "我咳嗽三天了")
        page.click("#send")
        expect(page.locator("#status")).to_be_visible()
        text = page.inner_text("#status")
        assert re.search("[\u4e00-\u9fff]", text) and "missing" not in text and "Bearer" not in text
        assert page.input_value("#input") == "我咳嗽三天了" and page.locator(".msg").count() == 0
        page.fill("#key", "s3cret")  # the key box appeared; with the key the same question goes through
        page.click("#send")
        expect(page.locator(".msg.assistant")).to_have_count(1)
        expect(page.locator("#status")).to_be_hidden()
    page.fill("#input", "服务器停了还能问吗")  # the server is gone now
    page.click("#send")
    expect(page.locator("#status")).to_contain_text("无法连接服务器")
    assert page.input_value("#input") == "服务器停了还能问吗" and page.locator(".msg.assistant").count() == 1
    page.close()


def test_red_flag_advice_shows_at_its_reply(chromium, base):
    browser, expect = chromium
    page, problems, _ = open_page(browser, base, PHONE)
    exchange(page, expect, "我有点咳嗽", 1)
    exchange(page, expect, URGENT, 2)
    exchange(page, expect, "谢谢医生", 3)
    for _ in range(2):  # as answered, and after a reload
        advice = page.locator(".msg.assistant .advice")
        expect(advice.nth(1)).to_be_visible()
        assert "120" in advice.nth(1).inner_text()
        assert advice.nth(0).is_hidden() and advice.nth(2).is_hidden()  # only the urgent message's reply
        assert "120" not in page.locator(".msg.assistant .text").nth(1).inner_text()  # apart from the model's text
        assert page.locator("#triage").count() == 0  # no banner at the top
        page.reload()
    assert not problems, problems
    page.close()


def test_similar_consultations_fold_under_their_reply_as_real_text(chromium, base):
    browser, expect = chromium
    page, problems, bodies = open_page(browser, base, PHONE)
    exchange(page, expect, "我这两天鼻塞流清鼻涕，是不是感冒了？", 1)
    exchange(page, expect, "ZZZZ", 2)  # shares no character pair with any training question: nothing shown
    for _ in range(2):  # as answered, and after a reload (kept with the history)
        folded = page.locator(".msg.assistant").nth(0).locator("details.similar")
        expect(folded).to_have_count(1)
        assert page.locator(".msg.assistant").nth(1).locator("details.similar").count() == 0
        assert folded.get_attribute("open") is None  # folded until the reader opens it
        expect(folded.locator(".consultation").first).to_be_hidden()
        folded.locator("summary").click()
        expect(folded.locator(".consultation").first).to_be_visible()
        shown = folded.inner_text()
        assert "非模型生成" in folded.locator("summary").inner_text()
        assert "检索自训练语料中的真实医患对话，并非模型生成" in shown  # the server's label, as text
        assert folded.locator(".consultation").count() == 3  # the server's default --show_similar 3
        first = folded.locator(".consultation").first.inner_text()
        assert first.startswith("患者：我这两天鼻塞流清鼻涕") and "医生（真实回答）：" in first
        # under the model's reply and its AI label, apart from the model's text
        assert "患者：" not in page.locator(".msg.assistant .text").nth(0).inner_text()
        page.reload()
    sent = json.loads(bodies[-1])["messages"]
    assert all(set(m) == {"role", "content"} for m in sent)  # the stored consultations are never sent back
    assert not problems, problems
    page.close()
