import pytest

from medbot_hf.chat_format import IGNORE_INDEX as X
from medbot_hf.chat_format import encode_turns, truncate_turns

CLS, SEP = 2, 3
Q1, A1, Q2, A2 = [10, 11], [20, 21, 22], [12], [23, 24]


@pytest.mark.parametrize(
    "loss_on, labels",
    [
        ("answers", [X, X, X, X, 20, 21, 22, SEP, X, X, 23, 24, SEP]),
        ("all", [CLS, 10, 11, SEP, 20, 21, 22, SEP, 12, SEP, 23, 24, SEP]),
        ("last_answer", [X, X, X, X, X, X, X, X, X, X, 23, 24, SEP]),
    ],
)
def test_two_turn_dialogue_ids_and_labels(loss_on, labels):
    out = encode_turns([Q1, A1, Q2, A2], cls_id=CLS, sep_id=SEP, max_length=64, loss_on=loss_on)
    assert out["input_ids"] == [CLS, 10, 11, SEP, 20, 21, 22, SEP, 12, SEP, 23, 24, SEP]
    assert out["labels"] == labels


def test_system_text_is_a_first_segment_without_labels():
    out = encode_turns([Q1, A1], cls_id=CLS, sep_id=SEP, max_length=64, system_ids=[7])
    assert out["input_ids"] == [CLS, 7, SEP, 10, 11, SEP, 20, 21, 22, SEP]
    assert out["labels"] == [X, X, X, X, X, X, 20, 21, 22, SEP]


def test_truncation_drops_oldest_pairs_and_keeps_newest():
    turns = [[1] * 5, [2] * 5, [3] * 5, [4] * 5, [5] * 2, [6] * 2]
    # full length 1 + 6 + 6 + 6 + 6 + 3 + 3 = 31; 20 ids fit the last two pairs only
    system, kept = truncate_turns(turns, 20)
    assert system is None and kept == turns[2:]
    out = encode_turns(turns, cls_id=CLS, sep_id=SEP, max_length=20)
    assert len(out["input_ids"]) == 19 and out["input_ids"][1] == 3


def test_truncation_always_keeps_last_question_and_answer():
    question, answer = list(range(100, 130)), list(range(200, 240))
    _, kept = truncate_turns([[1], [2], question, answer], 20)
    # room for 17 ids: the question keeps its newest 8 (half), the answer its first 9
    assert kept == [question[-8:], answer[:9]]
    assert len(encode_turns([question, answer], cls_id=CLS, sep_id=SEP, max_length=20)["input_ids"]) == 20


def test_chat_time_truncation_keeps_the_question():
    history = [[1] * 10, [2] * 10, [3] * 4]  # ends with a question: no answer yet
    _, kept = truncate_turns(history, 8)
    assert kept == [[3] * 4]
    _, kept = truncate_turns([[1] * 20], 8)
    assert kept == [[1] * 6]


def test_system_goes_before_the_last_pair_is_clipped():
    system, kept = truncate_turns([[1] * 3, [2] * 3], 9, system_ids=[9] * 4)
    assert system is None and kept == [[1] * 3, [2] * 3]


def test_bad_arguments():
    with pytest.raises(ValueError, match="loss_on must be one of"):
        encode_turns([Q1, A1], cls_id=CLS, sep_id=SEP, max_length=64, loss_on="doctor")
    with pytest.raises(ValueError, match="max_length must be at least 4"):
        truncate_turns([Q1, A1], 3)


def test_reversed_turn_order_ids_and_labels():
    # [CLS] a2 [SEP] q2 [SEP] a1 [SEP] q1 [SEP]: the labels fall on the patient's questions, P(question | answer)
    out = encode_turns([Q1, A1, Q2, A2], cls_id=CLS, sep_id=SEP, max_length=64, turn_order="reversed")
    assert out["input_ids"] == [CLS, 23, 24, SEP, 12, SEP, 20, 21, 22, SEP, 10, 11, SEP]
    assert out["labels"] == [X, X, X, X, 12, SEP, X, X, X, X, 10, 11, SEP]


def test_reversed_turn_order_truncates_like_forward_then_reverses():
    turns = [[1] * 5, [2] * 5, [3] * 5, [4] * 5, [5] * 2, [6] * 2]
    forward = encode_turns(turns, cls_id=CLS, sep_id=SEP, max_length=20)
    backward = encode_turns(turns, cls_id=CLS, sep_id=SEP, max_length=20, turn_order="reversed")
    # the same newest turns are kept (the last exchange first), whatever the order
    assert sorted(forward["input_ids"]) == sorted(backward["input_ids"])
    assert backward["input_ids"][:4] == [CLS, 6, 6, SEP]


def test_reversed_turn_order_needs_a_closing_doctor_turn():
    with pytest.raises(ValueError, match="ends with a doctor turn"):
        encode_turns([Q1, A1, Q2], cls_id=CLS, sep_id=SEP, max_length=64, turn_order="reversed")
    with pytest.raises(ValueError, match="turn_order must be one of"):
        encode_turns([Q1, A1], cls_id=CLS, sep_id=SEP, max_length=64, turn_order="backwards")
