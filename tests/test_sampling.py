"""Batched sampling (`medbot_hf.sampling`) against transformers' own processors and `torch.multinomial`, bit for bit,
and the scheduler rows' incremental text against a whole decode."""

from __future__ import annotations

import random

import pytest
import torch
from transformers import GenerationConfig

from medbot_hf.generation import DecodeRow
from medbot_hf.modeling import load_tokenizer
from medbot_hf.sampling import RowSampler, choose_tokens, process, sample

SETTINGS = [  # a row's sampling settings: the server's defaults, greedy, each processor alone, odd values
    {"do_sample": True, "temperature": 0.7, "top_k": 8, "top_p": 0.9, "repetition_penalty": 1.2},
    {"do_sample": False, "repetition_penalty": 1.2},
    {"do_sample": False},
    {"do_sample": True, "temperature": 1.3, "top_k": 0, "top_p": 0.5, "min_new_tokens": 6},
    {"do_sample": True, "temperature": 1.0, "top_k": 1, "top_p": 1.0},
    {"do_sample": True, "temperature": 0.3, "top_k": 50, "top_p": 0.999, "repetition_penalty": 0.8},
    {"do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 0.05, "suppress_tokens": [5, 6, 7]},
    {"do_sample": True, "temperature": 2.0, "top_k": 3, "top_p": 1.0, "min_new_tokens": 2, "suppress_tokens": []},
]


def processors(model, settings: dict, prompt_length: int) -> list:
    """The processors `generate` builds for these settings over the model's saved generation config."""
    config = GenerationConfig.from_dict({**model.generation_config.to_dict(), **settings})
    model._prepare_special_tokens(config, kwargs_has_attention_mask=True, device=torch.device("cpu"))
    return list(model._get_logits_processor(config, input_ids_seq_length=prompt_length, device="cpu"))


def rows_and_logits(model, seed: int, n: int) -> tuple[list[RowSampler], torch.Tensor]:
    """`n` rows of random settings, prompts and reply lengths, and logits with ties (rounded) and wide ranges."""
    rng = random.Random(seed)
    vocab = model.config.vocab_size
    rows = []
    for _ in range(n):
        prompt = [rng.randrange(vocab) for _ in range(rng.randrange(3, 40))]
        row = RowSampler(processors(model, rng.choice(SETTINGS), len(prompt)), True, prompt, seed=rng.randrange(99))
        for _ in range(rng.randrange(0, 10)):  # some rows are past min_new_tokens
            row.record(rng.randrange(vocab))
        rows.append(row)
    torch.manual_seed(seed)
    logits = torch.randn(n, vocab) * torch.tensor([[0.5], [3.0], [12.0], [1.0]]).repeat(n, 1)[:n]
    logits[::3] = (logits[::3] * 2).round() / 2  # many exact ties
    return rows, logits


@pytest.mark.parametrize("seed", range(6))
def test_batched_processors_equal_transformers_bit_for_bit(tiny_model, seed):
    rows, logits = rows_and_logits(tiny_model, seed, n=12)
    assert not any(row.own for row in rows)
    batched = process(rows, logits.clone())
    for i, row in enumerate(rows):
        one = logits[i : i + 1].clone()
        for processor in row.processors:
            one = processor(torch.tensor([row.ids]), one)
        assert torch.equal(batched[i], one[0]), (i, [type(p).__name__ for p in row.processors])


def test_each_row_draws_what_multinomial_draws_with_its_seed(tiny_model):
    rows, logits = rows_and_logits(tiny_model, 7, n=8)
    for row in rows:
        row.do_sample = True
    scores = process(rows, logits)
    generators = [torch.Generator().manual_seed(i) for i in range(len(rows))]
    for row, i in zip(rows, range(len(rows)), strict=True):
        row.generator.manual_seed(i)
    for _ in range(20):  # the same draws, step after step, as each row's own `multinomial`
        expected = [
            int(torch.multinomial(torch.softmax(scores[i : i + 1], -1), 1, generator=g))
            for i, g in enumerate(generators)
        ]
        assert sample(rows, scores) == expected
    torch.manual_seed(3)  # and as `generate` draws after `torch.manual_seed`
    expected = [int(torch.multinomial(torch.softmax(scores[:1], -1), 1)) for _ in range(5)]
    rows[0].generator.manual_seed(3)
    assert [sample(rows[:1], scores[:1])[0] for _ in range(5)] == expected


def test_a_row_with_another_processor_runs_its_own_list(tiny_model):
    prompt = [5, 6, 7, 5, 6]
    own = RowSampler(processors(tiny_model, {"do_sample": False, "no_repeat_ngram_size": 2}, 5), False, prompt)
    plain = RowSampler(processors(tiny_model, {"do_sample": False}, 5), False, prompt)
    assert own.own and not plain.own
    logits = torch.zeros(2, tiny_model.config.vocab_size)
    logits[:, 7] = 5.0  # the best token, but "6 7" was seen after "6": the n-gram rule bans it
    tokens = choose_tokens([own, plain], logits)
    assert tokens[1] == 7 and tokens[0] != 7
    assert own.ids == prompt + [tokens[0]]


def test_a_nan_row_is_an_error_as_in_multinomial(tiny_model):
    row = RowSampler(processors(tiny_model, {"do_sample": True, "top_k": 0, "top_p": 1.0}, 3), True, [5, 6, 7])
    with pytest.raises(RuntimeError, match="probability tensor contains"):
        choose_tokens([row], torch.full((1, tiny_model.config.vocab_size), float("nan")))


def wordpiece_tokenizer(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "头", "疼", "吃", "药", "as", "##pi", "##rin", "take", "."]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return load_tokenizer(str(tmp_path / "vocab.txt"))


def test_incremental_text_equals_a_whole_decode(tiny_model, tokenizer, tmp_path):
    """The row decodes only its newest ids each step; its text is the whole decode at every step, for our character
    vocab and for a loaded WordPiece vocab (spaces between ASCII words, `##` pieces, special ids)."""
    rng = random.Random(0)
    for tok in (tokenizer, wordpiece_tokenizer(tmp_path)):
        ids = [0, 2, 4, 9, 10, 11, 12, 13] + list(range(5, 9)) + ([20, 30, 40, 500] if len(tok) > 500 else [])
        row = DecodeRow(tiny_model, tok, [{"role": "user", "content": "头疼"}], max_new_tokens=100)
        for step in range(90):
            row.add(rng.choice(ids))
            assert row._text == tok.decode(row.tokens, skip_special_tokens=True), step
