"""From corpus files to tokenized, cached `datasets` splits, and the collator.

`get_raw_datasets` reads, validates and splits the corpus into a `DatasetDict` with one `messages` row per dialogue;
`get_dataset` turns that into `input_ids`/`labels`/`length` with the one chat format and caches the result on disk.
With `packing`, `pack_dataset` then lays several dialogues end to end in each row (see its docstring).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
import shutil

import numpy as np
import torch
from datasets import Dataset, DatasetDict, Features, List, Value, load_from_disk
from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening, PreTrainedTokenizerBase
from transformers.trainer_pt_utils import LengthGroupedSampler

from .chat_format import IGNORE_INDEX, encode_messages
from .corpus import CorpusError, ParsedCorpus, read_corpus, record_messages
from .hub import ensure_hub_reachable_or_offline
from .modeling import char_lookup, encode_texts

logger = logging.getLogger(__name__)
CACHE_VERSION = 1  # bump when the tokenized layout changes
TOKENIZED_FEATURES = Features(
    {
        "input_ids": List(Value("int32")),
        "labels": List(Value("int32")),
        "length": Value("int32"),
        "truncated": Value("bool"),
    }
)


def corpus_stats(parsed: ParsedCorpus) -> dict:
    """Counts and length percentiles (in characters) of a parsed corpus, plus what was dropped."""
    chars = np.array([sum(len(m["content"]) for m in d) for d in parsed.dialogues])
    turns = np.array([sum(m["role"] != "system" for m in d) for d in parsed.dialogues])
    p50, p90, p99 = (int(np.percentile(chars, q)) for q in (50, 90, 99))
    return {
        "dialogues": len(parsed.dialogues),
        "turns": int(turns.sum()),
        "qa_pairs": int(turns.sum()) // 2,
        "multi_turn_dialogues": int((turns > 2).sum()),
        "characters": int(chars.sum()),
        "dialogue_chars_p50": p50, "dialogue_chars_p90": p90, "dialogue_chars_p99": p99,
        "dialogue_chars_max": int(chars.max()),
        "dropped": dict(sorted(parsed.dropped.items())),
    }  # fmt: skip


def read_hub_corpus(data_args) -> dict[str, ParsedCorpus]:
    """Read a hub dataset's splits. Offline, or when it is missing, a :class:`CorpusError` says so within seconds."""
    from datasets import load_dataset

    name = data_args.dataset_name
    online = ensure_hub_reachable_or_offline()
    try:
        splits = load_dataset(name, data_args.dataset_config_name)
    except Exception as e:  # the hub client raises many types; all mean "cannot get it"
        hint = "is the name right?" if online else "offline, and it is not in the local cache"
        reason = f"{type(e).__name__}: {str(e)[:300]}"
        raise CorpusError(f"dataset {name!r}: could not load it ({reason}); {hint}") from None
    parsed = {}
    columns = {k: getattr(data_args, k) for k in ("question_column", "answer_column", "messages_column")}
    for split, ds in splits.items():
        corpus = ParsedCorpus()
        for i, record in enumerate(ds, start=1):
            corpus.add(record_messages(f"{name}[{split}] row {i}", record, "auto", columns), i)
        parsed[split] = corpus
    return parsed


def read_split(path: str, data_args) -> ParsedCorpus:
    """Read one corpus file with the format and columns `data_args` (any `CorpusArguments`) names."""
    columns = (data_args.question_column, data_args.answer_column, data_args.messages_column)
    return read_corpus(path, data_args.corpus_format, *columns, encoding=data_args.encoding)


def to_dataset(parsed: ParsedCorpus) -> Dataset:
    """A `datasets.Dataset` with one `messages` row per dialogue and the `line` it starts on."""
    return Dataset.from_dict({"messages": parsed.dialogues, "line": parsed.lines})


def validation_size(n_dialogues: int, percentage: float) -> int:
    """Dialogues to hold out: `percentage` of the corpus, at least 1, and never all but none of it."""
    if n_dialogues < 2:
        raise CorpusError(f"only {n_dialogues} dialogue: at least 2 are needed to hold one out for validation")
    return min(max(1, math.ceil(n_dialogues * percentage / 100)), n_dialogues - 1)


def get_raw_datasets(data_args, seed: int = 42) -> tuple[DatasetDict, dict]:
    """Read the train (and validation) corpus into a `DatasetDict` of `messages` rows, with their stats.

    Without a validation file (or hub split), `validation_split_percentage` of train is held out, shuffled by `seed`.
    """
    if data_args.dataset_name:
        hub = read_hub_corpus(data_args)
        train = hub["train"]
        validation = hub.get("validation") or hub.get("test")
    else:
        train = read_split(data_args.train_file, data_args)
        validation = read_split(data_args.validation_file, data_args) if data_args.validation_file else None
    stats = {"train": corpus_stats(train)}
    raw = DatasetDict(train=to_dataset(train))
    if validation is not None:
        stats["validation"] = corpus_stats(validation)
        raw["validation"] = to_dataset(validation)
    else:
        n_val = validation_size(len(train.dialogues), data_args.validation_split_percentage)
        split = raw["train"].train_test_split(test_size=n_val, seed=seed)
        raw = DatasetDict(train=split["train"], validation=split["test"])
        stats["validation"] = {"held_out_from_train": n_val}
    if data_args.max_train_samples is not None:
        raw["train"] = raw["train"].select(range(min(data_args.max_train_samples, len(raw["train"]))))
    if data_args.max_eval_samples is not None:
        raw["validation"] = raw["validation"].select(range(min(data_args.max_eval_samples, len(raw["validation"]))))
    return raw, stats


def iter_texts(dataset: Dataset):
    """Every utterance of a `messages` dataset, for building a vocab."""
    for messages in dataset["messages"]:
        for message in messages:
            yield message["content"]


def tokenize_batch(
    batch: dict,
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    loss_on: str,
    lookup=None,
    turn_order: str = "forward",
) -> dict:
    """`datasets.map` function: `messages` -> `input_ids`, `labels`, `length`, `truncated`.

    `lookup` (from `char_lookup`) turns on the fast path of `encode_texts` for character vocabs.
    """
    flat = [m["content"] for messages in batch["messages"] for m in messages]
    ids = encode_texts(tokenizer, flat, lookup)
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    out = {"input_ids": [], "labels": [], "length": [], "truncated": []}
    start = 0
    for messages in batch["messages"]:
        segments, start = ids[start : start + len(messages)], start + len(messages)
        encoded = encode_messages(
            messages, segments, cls_id=cls_id, sep_id=sep_id, max_length=max_seq_length, loss_on=loss_on,
            turn_order=turn_order,
        )  # fmt: skip
        for key in ("input_ids", "labels", "truncated"):
            out[key].append(encoded[key])
        out["length"].append(len(encoded["input_ids"]))
    return out


def _cache_key(data_args, tokenizer: PreTrainedTokenizerBase, raw: DatasetDict) -> str:
    """Hash of what the tokenized splits depend on: the splits' content fingerprints, settings and the tokenizer."""
    settings = {k: getattr(data_args, k) for k in ("max_seq_length", "loss_on")}
    if data_args.turn_order != "forward":  # only then, so that the caches of forward runs keep their keys
        settings["turn_order"] = data_args.turn_order
    h = hashlib.sha256(json.dumps([CACHE_VERSION, settings], sort_keys=True).encode())
    h.update(tokenizer.backend_tokenizer.to_str().encode())
    for split in sorted(raw):
        h.update(f"{split}:{raw[split]._fingerprint}".encode())
    return h.hexdigest()[:24]


def tokenize_datasets(raw: DatasetDict, tokenizer: PreTrainedTokenizerBase, data_args) -> tuple[DatasetDict, dict]:
    """Tokenize every split with the chat format, batched, and report token stats."""
    tokenized = raw.map(
        tokenize_batch,
        batched=True,
        num_proc=data_args.preprocessing_num_workers,
        remove_columns=["messages", "line"],
        features=TOKENIZED_FEATURES,
        fn_kwargs={
            "tokenizer": tokenizer,
            "max_seq_length": data_args.max_seq_length,
            "loss_on": data_args.loss_on,
            "lookup": char_lookup(tokenizer),
            "turn_order": data_args.turn_order,
        },
        desc="Tokenizing dialogues",
    )
    stats = {}
    for split, ds in tokenized.items():
        lengths = np.asarray(ds["length"])
        stats[split] = {
            "sequences": len(ds),
            "tokens": int(lengths.sum()),
            "tokens_p50": int(np.percentile(lengths, 50)), "tokens_p90": int(np.percentile(lengths, 90)),
            "tokens_max": int(lengths.max()),
            "truncated": int(np.asarray(ds["truncated"]).sum()),
        }  # fmt: skip
    return tokenized.remove_columns("truncated"), stats


def get_dataset(raw: DatasetDict, tokenizer: PreTrainedTokenizerBase, data_args) -> tuple[DatasetDict, dict]:
    """Tokenized splits, from the on-disk cache when the same corpus, settings and tokenizer were seen before.

    The cache is written to a temporary folder and renamed into place, so an interrupted write is never read.
    """
    cache_root = data_args.cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "medbot_hf")
    path = os.path.join(cache_root, "tokenized-" + _cache_key(data_args, tokenizer, raw))
    if os.path.isdir(path) and not data_args.overwrite_cache:
        logger.info("Loading tokenized corpus from cache %s", path)
        with open(os.path.join(path, "medbot_stats.json"), encoding="utf-8") as f:
            return load_from_disk(path), json.load(f)
    tokenized, stats = tokenize_datasets(raw, tokenizer, data_args)
    tmp = f"{path}.tmp-{os.getpid()}"
    tokenized.save_to_disk(tmp)
    with open(os.path.join(tmp, "medbot_stats.json"), "w", encoding="utf-8") as f:
        json.dump(stats, f)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
    return load_from_disk(path), stats


PACKED_FEATURES = Features(
    {
        "input_ids": List(Value("int32")),
        "labels": List(Value("int32")),
        "position_ids": List(Value("int32")),
        "length": Value("int32"),
    }
)


def pack_rows(lengths: list[int], row_length: int) -> list[list[int]]:
    """Best-fit decreasing: each dialogue, longest first, goes into the fullest row it still fits in.

    Deterministic (ties keep corpus order), so a resumed run packs exactly the rows it started with.

    Returns:
        Per row, the indices of its dialogues, in the order they are laid out.
    """
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (room left, row index), sorted
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if lengths[i] > row_length:
            raise ValueError(f"dialogue {i} has {lengths[i]} tokens, more than a row's {row_length}")
        at = bisect.bisect_left(free, (lengths[i], -1))
        if at == len(free):
            rows.append([i])
            room, row = row_length - lengths[i], len(rows) - 1
        else:
            (room, row) = free.pop(at)
            rows[row].append(i)
            room -= lengths[i]
        bisect.insort(free, (room, row))
    return rows


def pack_dataset(ds: Dataset, row_length: int) -> tuple[Dataset, dict]:
    """Lay tokenized dialogues end to end in rows of at most `row_length` tokens, with no padding between them.

    Each row is what `transformers.DataCollatorWithFlattening` makes of its dialogues: `position_ids` restart at 0
    at every dialogue, and the label of each dialogue's first token is -100, so no token is ever trained to predict
    the next dialogue's start (the chat format already keeps patient text and `[CLS]` unlabelled unless
    `loss_on=all`). With no `attention_mask`, transformers builds a block-diagonal causal mask from the restarting
    `position_ids` (`masking_utils.find_packed_sequence_indices`, for sdpa and eager), so attention never crosses a
    dialogue boundary and every token's loss is what it is when its dialogue runs alone.

    Returns:
        `(rows, stats)`: a `Dataset` of `input_ids`/`labels`/`position_ids`/`length`, and counts of rows, dialogues
        and the share of row room that real tokens fill.
    """
    flatten = DataCollatorWithFlattening(return_tensors="np")
    lengths = list(ds["length"])
    out = {"input_ids": [], "labels": [], "position_ids": [], "length": []}
    for members in pack_rows(lengths, row_length):
        row = flatten([{"input_ids": ds[i]["input_ids"], "labels": ds[i]["labels"]} for i in members])
        for key in ("input_ids", "labels", "position_ids"):
            out[key].append(row[key][0].tolist())
        out["length"].append(sum(lengths[i] for i in members))
    rows = Dataset.from_dict(out, features=PACKED_FEATURES)
    fill = sum(lengths) / max(len(rows) * row_length, 1)
    return rows, {"dialogues": len(ds), "rows": len(rows), "row_length": row_length, "fill": round(fill, 4)}


def pack_splits(tokenized: DatasetDict, row_length: int) -> tuple[DatasetDict, dict]:
    """:func:`pack_dataset` on every split (evaluation too: its per-token losses are the same packed or not)."""
    packed, stats = {}, {}
    for split, ds in tokenized.items():
        packed[split], stats[split] = pack_dataset(ds, row_length)
    return DatasetDict(packed), stats


class PackedRowCollator:
    """Stacks packed rows into `input_ids`, `labels` and `position_ids`, with no `attention_mask` (the mask comes
    from the restarting `position_ids`). Each row is filled out to `row_length` (a fixed shape, so a compiled step
    compiles once), else to the batch's longest row rounded up to `pad_to_multiple_of`. The filler is `[PAD]`,
    labelled -100, with positions of its own from 0: a block that attends only to itself and is never trained on.
    """

    def __init__(self, pad_token_id: int, row_length: int | None = None, pad_to_multiple_of: int | None = None):
        self.pad_token_id, self.row_length, self.multiple = pad_token_id, row_length, pad_to_multiple_of

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        width = self.row_length or max(len(f["input_ids"]) for f in features)
        if self.multiple:
            width = -(-width // self.multiple) * self.multiple
        batch = {"input_ids": [], "labels": [], "position_ids": []}
        for f in features:
            tail = width - len(f["input_ids"])
            batch["input_ids"].append([*f["input_ids"], *[self.pad_token_id] * tail])
            batch["labels"].append([*f["labels"], *[IGNORE_INDEX] * tail])
            batch["position_ids"].append([*f["position_ids"], *range(tail)])
        return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}


class EpochLengthGroupedSampler(LengthGroupedSampler):
    """transformers' `LengthGroupedSampler` (the same megabatches), whose order is a function of `(seed, epoch)`.

    The Trainer builds the stock one without a generator, so each epoch's order is drawn from the global torch RNG
    when the epoch starts, after all the dropout masks before it. A run resumed mid-epoch draws that order (to skip
    the batches already trained) from the fresh global RNG of a new process, before the checkpoint's RNG state is
    restored, so resumed in any epoch but the first it trains that epoch's rest in another order than the run it
    continues (transformers 5.24, `Trainer._run_epoch`). Here the order comes from its own generator, reseeded by
    `set_epoch`, which accelerate's loader calls before each pass (the skipping one too), as the accelerate loop
    recipe seeds its sampler and as accelerate's seedable sampler does for `random`. The global RNG is untouched.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths, generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


def get_collator(
    tokenizer: PreTrainedTokenizerBase,
    pad_to_multiple_of: int | None = None,
    packed_row_length: int | None = None,
):
    """The batch collator. Unpacked: right-pads `input_ids` with `[PAD]` (0), `labels` with -100, and adds the
    `attention_mask`. Packed (`packed_row_length` set): a :class:`PackedRowCollator` filling rows to that length."""
    if packed_row_length:
        return PackedRowCollator(tokenizer.pad_token_id, packed_row_length, pad_to_multiple_of)
    return DataCollatorForSeq2Seq(
        tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX, pad_to_multiple_of=pad_to_multiple_of
    )


def training_collator(tokenizer: PreTrainedTokenizerBase, data_args):
    """The collator both training recipes use: packed rows filled to `max_seq_length` under `--packing`, else padded
    dialogues (to `pad_to_multiple_of`, if set)."""
    row_length = data_args.max_seq_length if data_args.packing else None
    return get_collator(tokenizer, data_args.pad_to_multiple_of, packed_row_length=row_length)
