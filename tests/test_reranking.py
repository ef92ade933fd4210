"""Candidates and reranking: the score on hand-made candidates, and N candidates decoded as one batch."""

from __future__ import annotations

import math

import pytest
import torch
from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

from medbot_hf import generation
from medbot_hf.configs import RerankArguments
from medbot_hf.generation import build_prompt, generate_replies
from medbot_hf.metrics.loops import is_looping
from medbot_hf.modeling import load_for_inference
from medbot_hf.reranking import Reranker, candidate_score, mean_token_log_probs
from medbot_hf.sampling import sample_within_top_k, top_k_top_p_probs

QUESTION = [{"role": "user", "content": "我最近总是失眠，怎么办？"}]
WEIGHTS = RerankArguments(log_prob_weight=1.0)  # the score's terms one to one, for hand-made numbers


def test_a_looping_candidate_loses_to_a_less_likely_plain_one():
    looping, plain = "好的好的好的好的好的", "建议规律作息，睡前少看手机。"
    assert is_looping(looping) and not is_looping(plain)  # the repetition metric's definition
    assert candidate_score(-1.0, looping, None, WEIGHTS) < candidate_score(-1.5, plain, None, WEIGHTS)
    assert Reranker(WEIGHTS).best("失眠", [looping, plain], [-1.0, -1.5]) == 1
    assert Reranker(WEIGHTS).best("失眠", [looping, plain], [-1.0, -2.5]) == 0  # a penalty of 1.0, not a ban
    # The tuned defaults weigh the log-probability at 0.05: within any real spread of mean log-probabilities (a few
    # nats per token) the loop penalty then decides, and a looping candidate loses while a plain one is left.
    assert Reranker().best("失眠", [looping, plain], [-0.5, -8.0]) == 1


def test_a_candidate_the_guard_would_change_loses():
    dose, plain = "建议每次口服布洛芬400毫克，一天三次。", "建议多喝水，注意休息，不适请就医。"
    assert candidate_score(-0.5, dose, None, WEIGHTS) == pytest.approx(-2.5)  # guard_penalty 2.0
    assert Reranker(WEIGHTS).best("头疼", [dose, plain], [-0.5, -1.9]) == 1
    assert (
        Reranker(RerankArguments(log_prob_weight=1.0, guard_penalty=0.0)).best("头疼", [dose, plain], [-0.5, -1.9])
        == 0
    )
    assert Reranker().best("头疼", [dose, plain], [-0.5, -8.0]) == 1


def test_an_empty_candidate_always_loses_and_mmi_adds_its_weighted_score():
    assert candidate_score(-0.1, "  ", None, WEIGHTS) == -math.inf
    assert candidate_score(-1.0, "多休息。", -2.0, RerankArguments(mmi_weight=0.25)) == pytest.approx(-0.55)
    assert candidate_score(-1.0, "多休息。", -2.0, RerankArguments(log_prob_weight=1.0, mmi_weight=0.25)) == -1.5


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


def test_n_candidates_are_decoded_as_one_batch_and_the_best_is_kept(chat_model, monkeypatch):
    model, tok = chat_model
    shapes, drawn = [], []  # the input ids of every forward pass; what sample_candidates returned
    hook = model.register_forward_pre_hook(
        lambda _, a, k: shapes.append(tuple(k["input_ids"].shape)), with_kwargs=True
    )
    sample = generation.sample_candidates
    monkeypatch.setattr(generation, "sample_candidates", lambda *a, **k: drawn.append(sample(*a, **k)) or drawn[-1])
    second = [*QUESTION, {"role": "assistant", "content": "多休息。"}, {"role": "user", "content": "还是睡不着"}]
    try:
        chosen = generate_replies(model, tok, [QUESTION, second], seed=5, num_candidates=4, **SAMPLING)
    finally:
        hook.remove()
    prompts = [build_prompt(tok, h, 128 - 16) for h in (QUESTION, second)]
    new, log_probs = drawn[0]
    rows = [[t for t in row if t != tok.pad_token_id] for row in new.tolist()]  # [PAD] only fills an ended row
    assert len(rows) == 8 and len(log_probs) == 8
    # Both prompts are read once, in one pass; then one pass per new token over the candidates still running.
    assert shapes[0] == (2, max(map(len, prompts)))
    assert shapes[1:] == [(sum(len(r) > step for r in rows), 1) for step in range(1, max(map(len, rows)))]
    # Each candidate's log-probability is its teacher-forced mean, and the best by the score is kept.
    for i in range(2):
        scores, texts = [], []
        for row in range(i * 4, (i + 1) * 4):
            full = torch.tensor([prompts[i] + rows[row]])
            logits = model(full).logits[:, len(prompts[i]) - 1 : -1]
            assert log_probs[row] == pytest.approx(
                mean_token_log_probs(logits, torch.tensor([rows[row]])).item(), abs=1e-4
            )
            texts.append(tok.decode(rows[row], skip_special_tokens=True).strip())
            scores.append(candidate_score(log_probs[row], texts[-1], None, RerankArguments()))
        assert chosen[i].text == texts[max(range(4), key=scores.__getitem__)]


def test_top_k_sampling_within_the_k_best_has_the_warpers_distribution():
    torch.manual_seed(0)
    scores = torch.randn(6, 50) * 3
    scores[0, :45] = -math.inf  # fewer finite scores than k
    for top_k, top_p in ((8, 1.0), (8, 0.9), (3, 0.5), (50, 0.7), (1, 0.9)):
        warped = TopKLogitsWarper(top_k)(None, scores.clone())
        if top_p < 1:
            warped = TopPLogitsWarper(top_p)(None, warped)
        probs, ids = top_k_top_p_probs(scores, top_k, top_p)
        full = torch.zeros_like(scores).scatter(1, ids, probs)
        assert torch.allclose(full, warped.softmax(-1), atol=1e-6)
    drawn = torch.cat([sample_within_top_k(scores, 3, 0.9) for _ in range(200)], 1)
    probs, ids = top_k_top_p_probs(scores, 3, 0.9)
    allowed = torch.zeros_like(scores).scatter(1, ids, probs) > 0
    assert allowed.gather(1, drawn).all()  # never a token outside the warped distribution's support


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
