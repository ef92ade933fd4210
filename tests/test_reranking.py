"""Candidates and reranking: the score on hand-made candidates, and N candidates from one batched generate call."""

from __future__ import annotations

import math

import pytest
import torch

from medbot_hf.configs import RerankArguments
from medbot_hf.generation import build_prompt, generate_replies
from medbot_hf.metrics.loops import is_looping
from medbot_hf.modeling import load_for_inference
from medbot_hf.reranking import Reranker, candidate_score, mean_token_log_probs

QUESTION = [{"role": "user", "content": "我最近总是失眠，怎么办？"}]
WEIGHTS = RerankArguments()


def test_a_looping_candidate_loses_to_a_less_likely_plain_one():
    looping, plain = "好的好的好的好的好的", "建议规律作息，睡前少看手机。"
    assert is_looping(looping) and not is_looping(plain)  # the repetition metric's definition
    assert candidate_score(-1.0, looping, None, WEIGHTS) < candidate_score(-1.5, plain, None, WEIGHTS)
    assert Reranker().best("失眠", [looping, plain], [-1.0, -1.5]) == 1
    assert Reranker().best("失眠", [looping, plain], [-1.0, -2.5]) == 0  # a penalty of 1.0, not a ban


def test_a_candidate_the_guard_would_change_loses():
    dose, plain = "建议每次口服布洛芬400毫克，一天三次。", "建议多喝水，注意休息，不适请就医。"
    assert candidate_score(-0.5, dose, None, WEIGHTS) == pytest.approx(-2.5)  # guard_penalty 2.0
    assert Reranker().best("头疼", [dose, plain], [-0.5, -1.9]) == 1
    assert Reranker(RerankArguments(guard_penalty=0.0)).best("头疼", [dose, plain], [-0.5, -1.9]) == 0


def test_an_empty_candidate_always_loses_and_mmi_adds_its_weighted_score():
    assert candidate_score(-0.1, "  ", None, WEIGHTS) == -math.inf
    assert candidate_score(-1.0, "多休息。", -2.0, RerankArguments(mmi_weight=0.25)) == pytest.approx(-1.5)


def test_mean_token_log_probs_skips_ignored_targets():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]]))
    got = mean_token_log_probs(logits, torch.tensor([[0, 1, -100]]))
    assert got.item() == pytest.approx((math.log(0.5) + math.log(0.8)) / 2)


@pytest.fixture(scope="module")
def chat_model(trained):
    return load_for_inference(str(trained[0]), "cpu")


SAMPLING = {"do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "max_new_tokens": 16}


def test_one_candidate_is_exactly_the_plain_sampled_reply(chat_model):
    model, tok = chat_model
    prompt = torch.tensor([build_prompt(tok, QUESTION, 128 - 16)])
    for seed in (3, 4):
        torch.manual_seed(seed)
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), **SAMPLING)
        plain = tok.decode(out[0, prompt.shape[1] :], skip_special_tokens=True).strip()
        assert generate_replies(model, tok, [QUESTION], seed=seed, num_candidates=1, **SAMPLING)[0].text == plain


def test_n_candidates_come_from_one_generate_call_and_the_best_is_kept(chat_model, monkeypatch):
    model, tok = chat_model
    calls = []
    generate = model.generate
    monkeypatch.setattr(model, "generate", lambda *a, **k: calls.append(k["input_ids"].shape) or generate(*a, **k))
    second = [*QUESTION, {"role": "assistant", "content": "多休息。"}, {"role": "user", "content": "还是睡不着"}]
    chosen = generate_replies(model, tok, [QUESTION, second], seed=5, num_candidates=4, **SAMPLING)
    assert len(calls) == 1 and calls[0][0] == 2  # one call; num_return_sequences expands each row to 4
    monkeypatch.undo()
    # The same 8 candidates, drawn again from stock generate, scored by a teacher-forced pass: the kept ones win.
    torch.manual_seed(5)
    prompts = [build_prompt(tok, h, 128 - 16) for h in (QUESTION, second)]
    width = max(map(len, prompts))
    ids = torch.tensor([[tok.pad_token_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    out = model.generate(input_ids=ids, attention_mask=mask, num_return_sequences=4, **SAMPLING)
    new = out[:, width:]
    sep = tok.sep_token_id
    for i in range(2):
        scores, texts = [], []
        for row in new[i * 4 : (i + 1) * 4].tolist():
            used = next((j for j, t in enumerate(row) if t in (sep, tok.pad_token_id)), len(row))
            reply_ids = row[: used + (used < len(row) and row[used] == sep)]
            full = torch.tensor([prompts[i] + reply_ids])
            logits = model(full).logits[:, len(prompts[i]) - 1 : -1]
            log_prob = mean_token_log_probs(logits, torch.tensor([reply_ids])).item()
            texts.append(tok.decode(reply_ids, skip_special_tokens=True).strip())
            scores.append(candidate_score(log_prob, texts[-1], None, WEIGHTS))
        assert chosen[i].text == texts[max(range(4), key=scores.__getitem__)]


def test_greedy_decoding_has_one_candidate_and_bad_counts_are_refused(chat_model):
    model, tok = chat_model
    greedy = {"do_sample": False, "max_new_tokens": 8}
    one = generate_replies(model, tok, [QUESTION], **greedy)[0]
    assert generate_replies(model, tok, [QUESTION], num_candidates=8, **greedy)[0] == one
    with pytest.raises(ValueError, match="num_candidates must be at least 1"):
        generate_replies(model, tok, [QUESTION], num_candidates=0)
    with pytest.raises(ValueError, match="give --num_candidates 2 or more"):
        RerankArguments(mmi_model_name_or_path="x")


def test_the_reverse_model_scores_the_question_given_the_reply(chat_model):
    model, tok = chat_model  # any GPT-2 in the chat format stands in for a reverse model here
    reranker = Reranker(RerankArguments(mmi_weight=1.0), model, tok)
    question, replies = "我最近总是失眠，怎么办？", ["建议规律作息。", "多喝水"]
    got = reranker.mmi_log_probs([question, question], replies)
    for reply, value in zip(replies, got, strict=True):
        q, r = (tok(t, add_special_tokens=False)["input_ids"] for t in (question, reply))
        ids = torch.tensor([[tok.cls_token_id, *r, tok.sep_token_id, *q, tok.sep_token_id]])
        logits = model(ids).logits[:, len(r) + 1 : -1]  # predicting q and its [SEP]
        assert value == pytest.approx(mean_token_log_probs(logits, ids[:, len(r) + 2 :]).item(), abs=1e-5)


def test_several_replies_are_each_the_best_of_their_own_candidates(chat_model, monkeypatch):
    model, tok = chat_model
    seen, original = [], Reranker.best  # (candidates, the index kept) per group

    def best(self, question, texts, log_probs):
        seen.append((texts, original(self, question, texts, log_probs)))
        return seen[-1][1]

    monkeypatch.setattr(Reranker, "best", best)
    replies = generate_replies(model, tok, [QUESTION], seed=2, num_candidates=3, num_return_sequences=2, **SAMPLING)
    # 2 x 3 rows of one generate call, scored in two groups of 3: each reply is the winner of its own group
    assert [len(texts) for texts, _ in seen] == [3, 3]
    assert [r.text for r in replies] == [texts[kept] for texts, kept in seen]
