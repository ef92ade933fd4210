"""The continuous-batching scheduler against `generate_replies`, on a trained tiny GPT-2 (no HTTP here)."""

from __future__ import annotations

import asyncio

import pytest

from medbot_hf.batching import QueueFull, Scheduler
from medbot_hf.generation import generate_replies
from medbot_hf.modeling import load_for_inference

HISTORIES = [
    [{"role": "user", "content": "我最近总是失眠，怎么办？"}],
    [
        {"role": "user", "content": "孩子发烧38度，要去医院吗？"},
        {"role": "assistant", "content": "您好，先物理降温，观察精神状态。"},
        {"role": "user", "content": "已经烧了两天了，还咳嗽。"},
    ],
    [{"role": "user", "content": "胃疼"}],
    [{"role": "system", "content": "你是医生"}, {"role": "user", "content": "头疼，恶心，想吐，怎么回事？"}],
]
GREEDY = {"do_sample": False, "max_new_tokens": 24}
SAMPLED = {"do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "max_new_tokens": 24}


@pytest.fixture(scope="module")
def chat_model(trained):
    return load_for_inference(str(trained[0]), "cpu")


def run(scheduler: Scheduler, jobs: list[tuple[list[dict], dict]]) -> list:
    """Submit every job at once from an event loop and read all streams concurrently; returns the requests."""

    async def main():
        requests = [scheduler.submit(messages, params) for messages, params in jobs]
        texts = await asyncio.gather(*(collect(r) for r in requests))
        return [(r, text) for r, text in zip(requests, texts, strict=True)]

    async def collect(request):
        return "".join([piece async for piece in request.stream()])

    return asyncio.run(main())


def test_greedy_replies_equal_generate_replies_alone_and_in_traffic(chat_model):
    model, tok = chat_model
    expected = [generate_replies(model, tok, [h], **GREEDY)[0] for h in HISTORIES]
    scheduler = Scheduler(model, tok, max_batch_size=16)
    alone = [run(scheduler, [(h, GREEDY)])[0][0].reply for h in HISTORIES]
    assert alone == expected
    # the same requests among sampled ones of other lengths and settings, all joining and leaving one batch
    traffic = [
        (h, {**SAMPLED, "max_new_tokens": n, "seed": n}) for n, h in zip((5, 40, 12, 60), HISTORIES, strict=True)
    ]
    mixed = run(scheduler, [*traffic[:2], *[(h, GREEDY) for h in HISTORIES], *traffic[2:]])
    assert [r.reply for r, _ in mixed[2:6]] == expected
    for request, streamed in mixed:  # every stream carried its reply, and counts and reasons agree
        assert streamed.strip() == request.reply.text
        assert request.finish_reason == ("stop" if request.reply.finished else "length")
    assert scheduler.stats()["running"] == 0 and scheduler.stats()["queued"] == 0


def test_seeded_reply_is_the_same_alone_and_in_a_crowd(chat_model):
    model, tok = chat_model
    scheduler = Scheduler(model, tok, max_batch_size=16)
    seeded = (HISTORIES[1], {**SAMPLED, "seed": 1234})
    alone = run(scheduler, [seeded])[0][0].reply
    assert alone == generate_replies(model, tok, [HISTORIES[1]], **SAMPLED, seed=1234)[0]
    crowd = [(h, {**SAMPLED, "max_new_tokens": 8 + 4 * i}) for i, h in enumerate(HISTORIES * 3)]  # unseeded
    results = run(scheduler, [*crowd[:5], seeded, *crowd[5:]])
    assert results[5][0].reply == alone
    assert len({r.reply.text for r, _ in results}) > 1  # the crowd did sample


def test_cancel_frees_the_row_at_once(slow_model):
    model, tok = load_for_inference(str(slow_model), "cpu")
    scheduler = Scheduler(model, tok, max_batch_size=4)
    long = {"do_sample": False, "max_new_tokens": 900}  # [SEP] is held back: 900 steps unless cancelled

    async def main():
        leaving, staying = (scheduler.submit(HISTORIES[0], long) for _ in range(2))
        pieces = leaving.stream()
        await anext(pieces)
        await anext(pieces)
        leaving.cancel()
        async for _ in pieces:
            pass  # the stream ends once its row is retired
        running = scheduler.stats()["running"]
        staying.cancel()
        await staying.wait()
        return leaving, staying, running

    leaving, staying, running = asyncio.run(main())
    assert leaving.finish_reason == "cancelled" and leaving.reply.completion_tokens < 900
    assert running == 1  # its neighbour kept decoding
    assert staying.finish_reason == "cancelled"
    assert scheduler.stats()["running"] == 0


def test_timeout_and_full_queue(slow_model):
    model, tok = load_for_inference(str(slow_model), "cpu")
    scheduler = Scheduler(model, tok, max_batch_size=1, max_queue=1, request_timeout_s=1.0)
    first = scheduler.submit(HISTORIES[0], {"max_new_tokens": 900})
    pieces = iter(first)
    next(pieces)  # it has the one row
    waiting = scheduler.submit(HISTORIES[0], {"max_new_tokens": 900}, timeout_s=0.5)
    with pytest.raises(QueueFull, match="1 requests are already waiting"):
        scheduler.submit(HISTORIES[0], {"max_new_tokens": 900})
    assert "".join(pieces) and first.finish_reason == "timeout" and first.reply.completion_tokens < 900
    assert list(waiting) == [] and waiting.finish_reason == "timeout"  # timed out before it got a row


def test_sixteen_concurrent_streams_all_finish(chat_model):
    model, tok = chat_model
    scheduler = Scheduler(model, tok, max_batch_size=16)
    jobs = [(HISTORIES[i % 4], {**SAMPLED, "max_new_tokens": 10 + i}) for i in range(16)]
    results = run(scheduler, jobs)
    assert all(r.finish_reason in ("stop", "length") for r, _ in results)
    assert all(r.reply.completion_tokens <= 10 + i for i, (r, _) in enumerate(results))
    assert scheduler.steps < sum(r.reply.completion_tokens for r, _ in results)  # rows shared decode steps


def test_seeded_reply_with_every_batched_processor_equals_generate_replies(chat_model):
    """Temperature, top-k, top-p, repetition penalty and min_new_tokens (all of `medbot_hf.sampling`'s batched
    processors): the scheduler's seeded reply equals `generate_replies`', alone and among rows of other settings."""
    model, tok = chat_model
    settings = {"do_sample": True, "temperature": 0.7, "top_k": 8, "top_p": 0.9, "repetition_penalty": 1.2,
                "min_new_tokens": 4, "max_new_tokens": 24}  # fmt: skip
    expected = [generate_replies(model, tok, [h], **settings, seed=7)[0] for h in HISTORIES]
    scheduler = Scheduler(model, tok, max_batch_size=16)
    others = [(h, {**SAMPLED, "top_p": 0.5, "max_new_tokens": 6 + i}) for i, h in enumerate(HISTORIES)]
    results = run(scheduler, [*others[:2], *[(h, {**settings, "seed": 7}) for h in HISTORIES], *others[2:]])
    assert [r.reply for r, _ in results[2:6]] == expected
