import pytest
import torch
from conftest import SAMPLE_TRAIN, SAMPLE_VALID

from medbot_hf.chat_format import IGNORE_INDEX as X
from medbot_hf.configs import DataArguments
from medbot_hf.data import get_collator, get_dataset, get_raw_datasets


def test_collator_pads_inputs_with_pad_and_labels_with_ignore(tokenizer):
    collate = get_collator(tokenizer)
    batch = collate(
        [{"input_ids": [2, 10, 3, 20, 3], "labels": [X, X, X, 20, 3]}, {"input_ids": [2, 11, 3], "labels": [X, X, 3]}]
    )
    assert torch.equal(batch["input_ids"], torch.tensor([[2, 10, 3, 20, 3], [2, 11, 3, 0, 0]]))
    assert torch.equal(batch["labels"], torch.tensor([[X, X, X, 20, 3], [X, X, 3, X, X]]))
    assert torch.equal(batch["attention_mask"], torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]))
    assert set(batch) == {"input_ids", "labels", "attention_mask"}
    wide = get_collator(tokenizer, pad_to_multiple_of=4)(
        [{"input_ids": [2, 10, 3, 20, 3], "labels": [X, X, X, 20, 3]}]
    )
    assert wide["input_ids"].tolist() == [[2, 10, 3, 20, 3, 0, 0, 0]] and wide["labels"][0, 5:].tolist() == [X] * 3


def test_tokenized_rows_match_the_chat_template(tokenizer, tmp_path):
    args = DataArguments(
        train_file=str(SAMPLE_TRAIN), validation_file=str(SAMPLE_VALID), cache_dir=str(tmp_path), max_seq_length=1024
    )
    raw, _ = get_raw_datasets(args)
    tokenized, stats = get_dataset(raw, tokenizer, args)
    assert set(tokenized["train"].column_names) == {"input_ids", "labels", "length"}
    assert stats["train"]["sequences"] == len(raw["train"]) and stats["train"]["truncated"] == 0
    for i in (0, 5, len(raw["train"]) - 1):
        messages, row = raw["train"][i]["messages"], tokenized["train"][i]
        assert row["input_ids"] == tokenizer.apply_chat_template(messages, return_dict=False)
        assert row["length"] == len(row["input_ids"])
        # answers only: the first label is the first id after the patient's [SEP]
        first = next(j for j, label in enumerate(row["labels"]) if label != X)
        assert row["input_ids"][first - 1] == tokenizer.sep_token_id
        assert row["input_ids"][1:first] == tokenizer.apply_chat_template(messages[:1], return_dict=False)[1:]


def test_cache_is_reused_and_keyed_on_settings(tokenizer, tmp_path):
    args = DataArguments(train_file=str(SAMPLE_TRAIN), cache_dir=str(tmp_path), max_seq_length=64)
    raw, _ = get_raw_datasets(args)
    first, stats = get_dataset(raw, tokenizer, args)
    assert len(list(tmp_path.iterdir())) == 1
    again, stats_again = get_dataset(raw, tokenizer, args)
    assert again["train"].cache_files and stats_again == stats and again["train"][3] == first["train"][3]
    assert stats["train"]["truncated"] > 0 and stats["train"]["tokens_max"] == 64
    args.loss_on = "all"
    get_dataset(raw, tokenizer, args)
    assert len(list(tmp_path.iterdir())) == 2


def test_reversed_turn_order_dataset_exact_ids_and_labels(tokenizer, tmp_path):
    args = DataArguments(
        train_file=str(SAMPLE_TRAIN), validation_file=str(SAMPLE_VALID), cache_dir=str(tmp_path), max_seq_length=1024
    )
    raw, _ = get_raw_datasets(args)
    forward, _ = get_dataset(raw, tokenizer, args)
    args.turn_order = "reversed"
    backward, _ = get_dataset(raw, tokenizer, args)
    assert len(list(tmp_path.iterdir())) == 2  # its own cache entry
    messages = raw["train"][0]["messages"]
    q, a = (tokenizer(m["content"], add_special_tokens=False)["input_ids"] for m in messages[:2])
    assert len(messages) == 2
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert backward["train"][0]["input_ids"] == [cls, *a, sep, *q, sep]
    assert backward["train"][0]["labels"] == [X] * (len(a) + 2) + [*q, sep]
    assert forward["train"][0]["input_ids"] == [cls, *q, sep, *a, sep]
    with pytest.raises(ValueError, match="--turn_order must be one of forward, reversed"):
        DataArguments(train_file=str(SAMPLE_TRAIN), turn_order="backwards")


def test_special_token_text_in_a_corpus_stays_text(tokenizer, tmp_path):
    corpus = tmp_path / "t.txt"
    corpus.write_text("我[SEP]头疼\n多休息[CLS][PAD]\n\n问\n答\n", encoding="utf-8")
    args = DataArguments(train_file=str(corpus), cache_dir=str(tmp_path / "cache"), validation_split_percentage=50)
    raw, _ = get_raw_datasets(args)
    tokenized, _ = get_dataset(raw, tokenizer, args)
    row = next(r for r in tokenized["train"].to_list() + tokenized["validation"].to_list() if r["length"] > 6)

    def chars(text):
        return tokenizer.convert_tokens_to_ids(list(text))

    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert row["input_ids"] == [cls, *chars("我[SEP]头疼"), sep, *chars("多休息[CLS][PAD]"), sep]
    assert row["input_ids"].count(sep) == 2 and row["input_ids"].count(cls) == 1  # two turns, as written
