import threading

import pytest
import torch

from medbot_hf.chat_format import encode_turns
from medbot_hf.generation import build_prompt, generate_replies, generate_reply, stream_reply, trim_history
from medbot_hf.modeling import load_for_inference

HISTORY = [
    {"role": "user", "content": "我最近总是失眠，怎么办？"},
    {"role": "assistant", "content": "您好，建议规律作息，睡前少看手机。"},
    {"role": "user", "content": "还是睡不着，可以吃安眠药吗？"},
]


@pytest.fixture(scope="module")
def chat_model(trained):
    return load_for_inference(str(trained[0]), "cpu")


def test_history_truncation_equals_training_truncation(tokenizer):
    turns = [m["content"] for m in HISTORY]
    ids = tokenizer(turns, add_special_tokens=False)["input_ids"]
    for max_length in (12, 20, 30, 200):
        expected = encode_turns(ids, cls_id=2, sep_id=3, max_length=max_length)["input_ids"]
        assert build_prompt(tokenizer, HISTORY, max_length) == expected
    assert build_prompt(tokenizer, HISTORY, 20)[1:-1] == ids[-1][-18:]  # only the newest question fits


def test_trim_history_by_turns():
    system = [{"role": "system", "content": "你是医生"}]
    assert trim_history(HISTORY, 1) == HISTORY[-1:]
    assert trim_history(HISTORY, 2) == HISTORY[-1:]  # a kept history must start with the patient
    assert trim_history(HISTORY, 3) == HISTORY
    assert trim_history(system + HISTORY, 1) == system + HISTORY[-1:]
    with pytest.raises(ValueError, match="must alternate user/assistant"):
        build_prompt(None, HISTORY[:2], 64)


def test_deterministic_under_a_seed_and_bounded(chat_model):
    model, tok = chat_model
    kwargs = {"seed": 7, "do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "max_new_tokens": 12}
    first = generate_reply(model, tok, HISTORY, **kwargs)
    assert first == generate_reply(model, tok, HISTORY, **kwargs)
    assert len(tok(first, add_special_tokens=False)["input_ids"]) <= 12
    others = {generate_reply(model, tok, HISTORY, **{**kwargs, "seed": s}) for s in range(1, 6)}
    assert len(others) > 1  # the seed matters: sampling is on


def test_stops_at_sep_and_never_emits_banned_tokens(chat_model):
    model, tok = chat_model
    prompt = torch.tensor([build_prompt(tok, HISTORY, 64)])
    stopped = 0
    for seed in range(12):  # fixed seeds: the 50-step model ends some samples with [SEP], not all
        torch.manual_seed(seed)
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=60, temperature=1.0)
        new = out[0, prompt.shape[1] :].tolist()
        assert not {tok.unk_token_id, tok.pad_token_id, tok.cls_token_id} & set(new)
        kwargs = {"temperature": 1.0, "max_new_tokens": 60}
        (reply,) = generate_replies(model, tok, [HISTORY], seed=seed, **kwargs)
        assert reply.prompt_tokens == prompt.shape[1] and reply.completion_tokens == len(new)  # [SEP] counted
        if tok.sep_token_id in new:
            assert new.index(tok.sep_token_id) == len(new) - 1  # generation stopped right at [SEP]
            stopped += 1
            assert reply.finished and reply.text == tok.decode(new[:-1]).strip()
        else:
            assert len(new) == 60 and not reply.finished
    assert stopped > 0


def test_batched_equals_unbatched_under_greedy(chat_model):
    model, tok = chat_model
    histories = [HISTORY, HISTORY[:1], [{"role": "user", "content": "发烧38度要去医院吗？"}]]
    batched = [r.text for r in generate_replies(model, tok, histories, do_sample=False, max_new_tokens=20)]
    assert batched == [generate_reply(model, tok, h, do_sample=False, max_new_tokens=20) for h in histories]


def test_streaming_yields_the_same_text(chat_model):
    model, tok = chat_model
    pieces = list(stream_reply(model, tok, HISTORY, do_sample=False, max_new_tokens=30))
    assert len(pieces) > 1 and "".join(pieces).strip() == generate_reply(
        model, tok, HISTORY, do_sample=False, max_new_tokens=30
    )


def test_stop_event_ends_generation(chat_model):
    model, tok = chat_model
    event = threading.Event()
    event.set()
    text = generate_reply(model, tok, HISTORY, do_sample=False, max_new_tokens=50, stop_event=event)
    assert len(tok(text, add_special_tokens=False)["input_ids"]) <= 1
    (reply,) = generate_replies(model, tok, [HISTORY], do_sample=False, max_new_tokens=50, stop_event=[event])
    assert len(tok(reply.text, add_special_tokens=False)["input_ids"]) <= 1
    assert reply.completion_tokens <= 1 and not reply.finished
