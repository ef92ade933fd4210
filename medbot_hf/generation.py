"""Reply generation on top of the chat format; no I/O."""

from __future__ import annotations

import torch
from transformers import GenerationConfig, PreTrainedTokenizerBase

from .chat_format import encode_turns


def build_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], max_length: int) -> list[int]:
    """Prompt ids for the doctor's next turn: the chat format over `messages`, which end with a patient turn.

    Older turns are dropped with the same function training truncation uses.
    """
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    turns = [m["content"] for m in messages[1 if system is not None else 0 :]]
    if not turns or len(turns) % 2 == 0:
        raise ValueError("messages must alternate user/assistant and end with a user turn")
    texts = ([system] if system is not None else []) + turns
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    system_ids, turn_ids = (ids[0], ids[1:]) if system is not None else (None, ids)
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    return encode_turns(turn_ids, cls_id=cls_id, sep_id=sep_id, max_length=max_length, system_ids=system_ids)[
        "input_ids"
    ]


@torch.inference_mode()
def generate_reply(
    model,
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    max_seq_length: int | None = None,
    seed: int | None = None,
    **overrides,
) -> str:
    """Generate the doctor's reply to `messages` with the model's `generation_config` (KV cache on).

    Args:
        model: a GPT-2 LM whose `generation_config` stops at `[SEP]`.
        tokenizer: its tokenizer.
        messages: the history, ending with the patient's turn.
        max_seq_length: room for prompt plus reply; defaults to the model's `n_positions`.
        seed: seeds sampling, for a reproducible reply.
        **overrides: any `GenerationConfig` field, e.g. `do_sample=False`, `max_new_tokens=32`.

    Returns:
        The reply text, without special tokens or spaces between Chinese characters.
    """
    config = GenerationConfig.from_dict({**model.generation_config.to_dict(), **overrides})
    room = (max_seq_length or model.config.n_positions) - config.max_new_tokens
    prompt = torch.tensor([build_prompt(tokenizer, messages, room)], device=model.device)
    if seed is not None:
        torch.manual_seed(seed)
    output = model.generate(prompt, attention_mask=torch.ones_like(prompt), generation_config=config)
    return tokenizer.decode(output[0, prompt.shape[1] :], skip_special_tokens=True).strip()
