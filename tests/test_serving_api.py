"""The HTTP API honours what it accepts (issue 16): real uvicorn on 127.0.0.1, raw httpx and the `openai` client."""

from __future__ import annotations

import json

import httpx
import pytest
from test_serving import ask, server

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def base(trained):
    with server(trained[0]) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(base):
    from openai import OpenAI

    return OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/stream", "/v1/chat/completions"])
def test_lone_surrogate_is_a_400_naming_the_field(base, path):
    raw = '{"messages": [{"role": "user", "content": "头疼\\ud800"}], "max_tokens": 4}'
    response = httpx.post(base + path, content=raw, headers=JSON, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages[0].content"
    parts = '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}], "stream": true}'
    response = httpx.post(base + path, content=parts, headers=JSON, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages[0].content[0].text"


def test_stop_strings_end_the_reply_before_them(client):
    question = [{"role": "user", "content": "头疼怎么办？"}]
    full = client.chat.completions.create(model="out", messages=question, max_tokens=20, temperature=0)
    text = full.choices[0].message.content
    assert len(text) >= 4, f"the greedy reply is too short to cut: {text!r}"
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    cut = client.chat.completions.create(
        model="out", messages=question, max_tokens=20, temperature=0, stop=[stop, "不会出现的词"]
    )
    assert cut.choices[0].message.content == text[: text.find(stop)] and cut.choices[0].finish_reason == "stop"
    # generation itself stopped at the stop string (transformers' stop_strings), not merely the text was cut
    assert cut.usage.completion_tokens <= text.find(stop) + len(stop) < full.usage.completion_tokens
    stream = client.chat.completions.create(
        model="out", messages=question, max_tokens=20, temperature=0, stop=stop, stream=True
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces) == text[: text.find(stop)] and stop not in "".join(pieces)


def test_n_gives_several_choices_in_one_call(client, base):
    question = [{"role": "user", "content": "孩子发烧了怎么办？"}]
    done = client.chat.completions.create(model="out", messages=question, n=3, max_tokens=8, temperature=1, seed=5)
    assert [c.index for c in done.choices] == [0, 1, 2] and all(
        isinstance(c.message.content, str) for c in done.choices
    )
    assert len({c.message.content for c in done.choices}) > 1  # three samples, not one reply copied
    assert done.usage.completion_tokens <= 3 * 8
    before = httpx.get(base + "/health").json()
    client.chat.completions.create(model="out", messages=question, n=4, max_tokens=4, temperature=1)
    after = httpx.get(base + "/health").json()
    # one request, answered by one generate call for the four (between the scheduler's steps, not as four rows)
    assert (
        sum(after["finished"].values()) == sum(before["finished"].values()) + 1 and after["steps"] == before["steps"]
    )
    greedy = httpx.post(base + "/v1/chat/completions", json=ask("头疼", n=2, temperature=0), timeout=30)
    assert greedy.status_code == 400 and greedy.json()["error"]["param"] == "n"
    streamed = httpx.post(base + "/v1/chat/completions", json=ask("头疼", n=2, stream=True), timeout=30)
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "n"


def test_unknown_model_is_openai_404_model_not_found(client, base):
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "头疼"}])
    assert caught.value.code == "model_not_found" and caught.value.body["param"] == "model"
    response = httpx.post(base + "/v1/chat/completions", json=ask("头疼", model="gpt-4o"), timeout=30)
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    "field, value",
    [
        ("logprobs", True),
        ("top_logprobs", 2),
        ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ("response_format", {"type": "json_object"}),
        ("frequency_penalty", 0.5),
        ("logit_bias", {"12": 5}),
        ("no_such_field", "x"),
    ],
)
def test_fields_not_acted_on_are_a_400_naming_them(base, field, value):
    response = httpx.post(base + "/v1/chat/completions", json=ask("头疼", **{field: value}), timeout=30)
    assert response.status_code == 400 and response.json()["error"]["param"] == field
    assert field in response.json()["error"]["message"]


def test_fields_that_ask_for_nothing_pass(client, base):
    import openai

    with pytest.raises(openai.BadRequestError, match="logprobs"):
        client.chat.completions.create(model="out", messages=[{"role": "user", "content": "头疼"}], logprobs=True)
    quiet = ask("头疼", max_tokens=3, logprobs=False, tools=[], user="patient-7", presence_penalty=0)
    assert httpx.post(base + "/v1/chat/completions", json=quiet, timeout=30).status_code == 200
    newer = client.chat.completions.create(
        model="out", messages=[{"role": "user", "content": "头疼"}], max_completion_tokens=3
    )
    assert newer.usage.completion_tokens <= 3


def test_text_content_parts_are_accepted_other_parts_refused(client, base):
    parts = [{"type": "text", "text": "嗓子疼"}, {"type": "text", "text": "怎么办？"}]
    plain = client.chat.completions.create(
        model="out", messages=[{"role": "user", "content": "嗓子疼\n怎么办？"}], max_tokens=8, temperature=0
    )
    done = client.chat.completions.create(
        model="out", messages=[{"role": "user", "content": parts}], max_tokens=8, temperature=0
    )
    assert done.choices[0].message.content == plain.choices[0].message.content  # the parts joined, line by line
    assert done.usage.prompt_tokens == plain.usage.prompt_tokens
    image = {"type": "image_url", "image_url": {"url": "https://x.example/a.png"}}
    response = httpx.post(
        base + "/v1/chat/completions", json={"messages": [{"role": "user", "content": [parts[0], image]}]}, timeout=30
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages[0].content[1].type"
    assert "image_url" in response.json()["error"]["message"]
    assert httpx.post(base + "/api/chat", json=ask(parts, max_tokens=3), timeout=30).status_code == 200


@pytest.mark.parametrize("path", ["/", "/health", "/v1/models"])
def test_head_is_served_where_get_is(base, path):
    get, head = httpx.get(base + path), httpx.head(base + path)
    assert head.status_code == 200 == get.status_code and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize(
    "method, path, allow",
    [("POST", "/health", {"GET", "HEAD"}), ("GET", "/api/chat", {"POST"}), ("PUT", "/v1/chat/completions", {"POST"}),
     ("POST", "/static/app.js", {"GET", "HEAD"}), ("DELETE", "/", {"GET", "HEAD"})],
)  # fmt: skip
def test_405_names_the_allowed_methods(base, method, path, allow):
    response = httpx.request(method, base + path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allow


def test_key_is_checked_case_insensitively_and_before_the_body(trained):
    with server(trained[0], "--api_key", "s3cret") as (url, _):
        for scheme in ("bearer", "BEARER", "Bearer"):
            ok = httpx.post(
                url + "/api/chat", json=ask("头疼", max_tokens=3), headers={"Authorization": f"{scheme} s3cret"}
            )
            assert ok.status_code == 200, scheme
        for body in ("{", json.dumps({"messages": []}), json.dumps(ask("头" * 30000))):
            response = httpx.post(url + "/v1/chat/completions", content=body, headers=JSON)
            assert response.status_code == 401 and response.json()["error"]["param"] == "authorization"
            assert response.headers["www-authenticate"] == "Bearer"
        wrong = httpx.post(url + "/api/chat", content="{", headers={**JSON, "Authorization": "bearer nope"})
        assert wrong.status_code == 401
        keyed = httpx.post(url + "/api/chat", content="{", headers={**JSON, "Authorization": "bearer s3cret"})
        assert keyed.status_code == 422  # with the key, the body is looked at


def test_similar_consultations_on_every_endpoint_labelled_not_generated(client, base):
    from medbot_hf.retrieval import SIMILAR_LABEL

    cold = "鼻塞流清鼻涕，是不是感冒了"
    body = httpx.post(base + "/api/chat", json=ask(cold, max_tokens=4, show_similar=2), timeout=30).json()
    found = body["similar_consultations"]
    assert found["label"] == SIMILAR_LABEL and "并非模型生成" in found["label"] and len(found["items"]) == 2
    top = found["items"][0]
    assert top["question"] == "我这两天鼻塞流清鼻涕，嗓子有点痒，是不是感冒了？" and top["answer"] and top["score"] > 0
    default = httpx.post(base + "/api/chat", json=ask(cold, max_tokens=4), timeout=30).json()
    assert len(default["similar_consultations"]["items"]) == 3  # the server's --show_similar 3
    assert default["similar_consultations"]["items"][:2] == found["items"]
    none = httpx.post(base + "/api/chat", json=ask("ZZZZ", max_tokens=4), timeout=30).json()
    assert none["similar_consultations"] == {"label": SIMILAR_LABEL, "items": []}  # nothing in common: none shown
    off = httpx.post(base + "/api/chat", json=ask(cold, max_tokens=4, show_similar=0), timeout=30).json()
    assert off["similar_consultations"]["items"] == []
    too_many = httpx.post(base + "/api/chat", json=ask(cold, show_similar=11), timeout=30)
    assert too_many.status_code == 422 and too_many.json()["error"]["param"] == "show_similar"
    with httpx.stream("POST", base + "/api/chat/stream", json=ask(cold, max_tokens=4), timeout=30) as r:
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1]["done"] and events[-1]["similar_consultations"] == default["similar_consultations"]
    # /v1: an extra top-level object, which the openai client keeps and ignores
    question = [{"role": "user", "content": cold}]
    done = client.chat.completions.create(model="out", messages=question, max_tokens=4)
    assert isinstance(done.choices[0].message.content, str)
    assert done.model_extra["similar_consultations"] == default["similar_consultations"]
    chunks = list(client.chat.completions.create(model="out", messages=question, max_tokens=4, stream=True))
    assert chunks[-1].model_extra["similar_consultations"] == default["similar_consultations"]
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert all("similar_consultations" not in c.model_extra for c in chunks[:-1])  # once, on the last chunk
    asked = client.chat.completions.create(
        model="out", messages=question, max_tokens=4, extra_body={"show_similar": 1}
    )
    assert len(asked.model_extra["similar_consultations"]["items"]) == 1  # a declared field, not a 400


def test_reranked_server_and_one_without_an_index(trained, tmp_path):
    import shutil

    from openai import OpenAI

    with server(trained[0], "--num_candidates", "4", "--show_similar", "0") as (url, log):
        same = [httpx.post(url + "/api/chat", json=ask("我头疼怎么办？", max_tokens=12, seed=3), timeout=60).json()
                for _ in range(2)]  # fmt: skip
        assert same[0]["reply"] == same[1]["reply"] and same[0]["similar_consultations"]["items"] == []
        before = httpx.get(url + "/health").json()
        with httpx.stream("POST", url + "/api/chat/stream", json=ask("发烧", max_tokens=12), timeout=60) as r:
            events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
        deltas = [e["delta"] for e in events if "delta" in e]
        # the chosen reply arrives whole, once its candidates are done: the guard passes its sentences, then the rest
        assert "".join(deltas).strip() == events[-1]["reply"]
        assert httpx.get(url + "/health").json()["steps"] == before["steps"]  # one generate_replies call, no rows
        choices = OpenAI(base_url=url + "/v1", api_key="x", max_retries=0).chat.completions.create(
            model="out", messages=[{"role": "user", "content": "咳嗽"}], n=2, max_tokens=8, temperature=1, seed=1
        )
        assert len(choices.choices) == 2  # each the best of its own 4 candidates
    bare = tmp_path / "bare"
    shutil.copytree(trained[0], bare, ignore=shutil.ignore_patterns("retrieval_index", "checkpoint-*"))
    with server(bare) as (url, log):
        body = httpx.post(url + "/api/chat", json=ask("头疼", max_tokens=4), timeout=30).json()
        assert body["similar_consultations"]["items"] == [] and "No similar consultations" in log.read_text()
        asked = httpx.post(url + "/api/chat", json=ask("头疼", max_tokens=4, show_similar=2), timeout=30)
        assert asked.status_code == 400 and asked.json()["error"]["param"] == "show_similar"
