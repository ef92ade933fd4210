"""The one chat format: ``[CLS] u1 [SEP] u2 [SEP] ... un [SEP]``.

Turns alternate patient (``user``) and doctor (``assistant``), starting with the patient. An optional ``system`` text
is a first segment of its own. Roles are positional: nothing but order tells a question from an answer, exactly as in
GPT2-chitchat. Training, chat, evaluation and serving all build ids with :func:`encode_messages`, and the tokenizer's
``chat_template`` (:data:`CHAT_TEMPLATE`) renders the same layout, so ``apply_chat_template`` gives the training ids.
"""

from __future__ import annotations

IGNORE_INDEX = -100
LOSS_ON_CHOICES = ("answers", "all", "last_answer")
# "reversed" lays a dialogue out last turn first, `[CLS] a_n [SEP] q_n [SEP] ... a_1 [SEP] q_1 [SEP]`, so that a model
# trained on it learns P(question | answer): the reverse (MMI) model that reranks candidate replies.
TURN_ORDERS = ("forward", "reversed")
ROLES = ("system", "user", "assistant")  # the one role set: the template, the corpus readers and the API use it

# Jinja, rendered by `tokenizer.apply_chat_template`. There is no generation prompt: after the patient's `[SEP]` the
# model writes the doctor's reply and closes it with `[SEP]` (the eos token).
CHAT_TEMPLATE = (
    "{{- '[CLS]' -}}"
    "{%- for message in messages -%}"
    f"{{%- if message['role'] not in {list(ROLES)} -%}}"
    f"{{{{- raise_exception('unknown role ' ~ message['role'] ~ '; expected one of {', '.join(ROLES)}') -}}}}"
    "{%- endif -%}"
    "{{- message['content'] -}}{{- '[SEP]' -}}"
    "{%- endfor -%}"
)


def split_system(messages: list[dict[str, str]]) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    """The leading system message (None if there is none) and the turns after it."""
    if messages and messages[0]["role"] == "system":
        return messages[0], messages[1:]
    return None, messages


def is_prompt(messages: list[dict[str, str]]) -> bool:
    """True when, after an optional system message, turns alternate user/assistant and end with a user turn."""
    roles = [m["role"] for m in split_system(messages)[1]]
    return bool(roles) and roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]


def _length(system_ids: list[int] | None, turn_ids: list[list[int]]) -> int:
    """Number of ids `[CLS] (system [SEP]) t1 [SEP] ... tn [SEP]` takes."""
    return 1 + (len(system_ids) + 1 if system_ids else 0) + sum(len(t) + 1 for t in turn_ids)


def truncate_turns(
    turn_ids: list[list[int]], max_length: int, system_ids: list[int] | None = None
) -> tuple[list[int] | None, list[list[int]]]:
    """Fit a dialogue into `max_length` ids, dropping the oldest turns first.

    Whole (question, answer) pairs go first, so the kept turns still start with a patient turn. The last question and,
    when the dialogue ends with a doctor turn, its answer are always kept. If they alone do not fit, the system text
    goes, then the question loses its oldest ids (it keeps at most half the room when there is an answer) and the
    answer its newest ones. Every kept turn still closes with `[SEP]`.

    Args:
        turn_ids: token ids of each turn, patient first, alternating. An odd count ends with a question (chat time).
        max_length: the most ids the encoded dialogue may take, `[CLS]` and every `[SEP]` included.
        system_ids: token ids of the system text, if any.

    Returns:
        `(system_ids, turn_ids)` that fit.
    """
    if max_length < 4:
        raise ValueError(f"max_length must be at least 4 ([CLS] q [SEP] a [SEP]), got {max_length}")
    keep_min = 2 if len(turn_ids) % 2 == 0 else 1
    start, size = 0, _length(system_ids, turn_ids)
    while size > max_length and len(turn_ids) - start > keep_min:
        size -= len(turn_ids[start]) + len(turn_ids[start + 1]) + 2
        start += 2
    turns = list(turn_ids[start:])
    if size > max_length and system_ids:
        system_ids, size = None, size - len(system_ids) - 1
    if size > max_length:
        room = max_length - 1 - len(turns)  # ids left once [CLS] and the [SEP]s are placed
        if len(turns) == 1:
            turns = [turns[0][len(turns[0]) - room :]]
        else:
            question, answer = turns
            answer_room = min(len(answer), room - min(len(question), room // 2))
            question_room = room - answer_room
            turns = [question[len(question) - question_room :], answer[:answer_room]]
    return system_ids, turns


def encode_turns(
    turn_ids: list[list[int]],
    *,
    cls_id: int,
    sep_id: int,
    max_length: int,
    loss_on: str = "answers",
    system_ids: list[int] | None = None,
    turn_order: str = "forward",
) -> dict[str, list[int]]:
    """Lay out one dialogue in the chat format, with labels.

    Args:
        turn_ids: token ids of each turn, patient first, alternating (see :func:`truncate_turns`).
        cls_id: id of `[CLS]`, which opens the sequence.
        sep_id: id of `[SEP]`, which closes every turn.
        max_length: the most ids the sequence may take; older turns are dropped with :func:`truncate_turns`.
        loss_on: which ids carry labels. `answers`: every doctor turn and its closing `[SEP]`; `all`: every id, as
            GPT2-chitchat trained; `last_answer`: the final doctor turn and its `[SEP]`.
        system_ids: token ids of the system text, if any; never trained on unless `loss_on="all"`.
        turn_order: `forward`, or `reversed`: the turns (kept by the same truncation) last first, so that the
            labelled positions (`answers`: every second turn) are the patient's questions.

    Returns:
        `{"input_ids": [...], "labels": [...]}`, the labels `-100` where no loss is taken.
    """
    if loss_on not in LOSS_ON_CHOICES:
        raise ValueError(f"loss_on must be one of {LOSS_ON_CHOICES}, got {loss_on!r}")
    if turn_order not in TURN_ORDERS:
        raise ValueError(f"turn_order must be one of {TURN_ORDERS}, got {turn_order!r}")
    if turn_order == "reversed" and len(turn_ids) % 2:
        raise ValueError("turn_order='reversed' needs a dialogue that ends with a doctor turn")
    system_ids, turns = truncate_turns(turn_ids, max_length, system_ids)
    if turn_order == "reversed":
        turns = turns[::-1]
    train_all = loss_on == "all"
    input_ids, labels = [cls_id], [cls_id if train_all else IGNORE_INDEX]
    if system_ids:
        segment = [*system_ids, sep_id]
        input_ids += segment
        labels += segment if train_all else [IGNORE_INDEX] * len(segment)
    last = len(turns) - 1
    for i, ids in enumerate(turns):
        segment = [*ids, sep_id]
        is_answer = i % 2 == 1
        trained = train_all or (is_answer and (loss_on == "answers" or i == last))
        input_ids += segment
        labels += segment if trained else [IGNORE_INDEX] * len(segment)
    return {"input_ids": input_ids, "labels": labels}


def encode_messages(
    messages: list[dict[str, str]],
    message_ids: list[list[int]],
    *,
    cls_id: int,
    sep_id: int,
    max_length: int,
    loss_on: str = "answers",
    turn_order: str = "forward",
) -> dict:
    """:func:`encode_turns` for a message list whose texts are already tokenized, one id list per message.

    Returns:
        `{"input_ids", "labels", "truncated"}`; `truncated` is True when older turns or ids had to go.
    """
    has_system = split_system(messages)[0] is not None
    system_ids, turn_ids = (message_ids[0], message_ids[1:]) if has_system else (None, message_ids)
    encoded = encode_turns(
        turn_ids, cls_id=cls_id, sep_id=sep_id, max_length=max_length, loss_on=loss_on, system_ids=system_ids,
        turn_order=turn_order,
    )  # fmt: skip
    return {**encoded, "truncated": _length(system_ids, turn_ids) > max_length}
