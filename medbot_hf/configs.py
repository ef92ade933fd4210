"""Argument dataclasses and the YAML-aware parser shared by the recipes.

Precedence is dataclass default < YAML (`--config`) < command line, and a YAML key that no dataclass knows is an
error, as in TRL.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field

import torch
import yaml
from transformers import HfArgumentParser, TrainingArguments

from .chat_format import LOSS_ON_CHOICES, TURN_ORDERS
from .corpus import CORPUS_FORMATS, check_encoding
from .modeling import QUANTIZE_CHOICES

ENCODING_HELP = "Text encoding of the corpus files: any Python codec name, e.g. gb18030 (GBK) or utf-16."

LOG_FORMAT = "%(asctime)s - %(levelname)s - %(name)s - %(message)s"  # every entry point's log lines


def check_choices(args, names: tuple[str, ...] | None = None) -> None:
    """Raise `ValueError` naming the field when a field declared with `choices` holds another value: the check for
    values that did not pass argparse (a dataclass built in code). `names` limits it to those fields."""
    for declared in dataclasses.fields(args):
        if names is not None and declared.name not in names:
            continue
        choices, value = declared.metadata.get("choices"), getattr(args, declared.name)
        if choices is not None and value not in choices:
            allowed = ", ".join(str(c) for c in choices if c is not None)
            raise ValueError(f"--{declared.name} must be one of {allowed}, got {value!r}")


@dataclass
class ModelArguments:
    """Which model and tokenizer to start from."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Pretrained GPT-2 (folder or hub id). Leave unset to train from a config."},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "GPT2Config overrides when training from scratch, e.g. 'n_embd=128,n_layer=2,n_head=2'."},
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "Tokenizer folder, vocab.txt file or hub id. Default: the model's, else built from train."},
    )
    min_frequency: int = field(default=1, metadata={"help": "Built vocab: rarer characters become [UNK]."})
    max_vocab_size: int | None = field(default=None, metadata={"help": "Built vocab: the most tokens to keep."})

    def __post_init__(self):
        if self.model_name_or_path and self.config_overrides:
            raise ValueError("--config_overrides only applies when training from scratch (no --model_name_or_path)")
        if self.min_frequency < 1:
            raise ValueError(f"--min_frequency must be at least 1, got {self.min_frequency}")


@dataclass
class CorpusArguments:
    """How to read corpus files: their format and, for QA or messages records, the columns. Training
    (`DataArguments`) and `medbot-eval` (`EvalArguments`) read files the same way."""

    corpus_format: str = field(
        default="auto", metadata={"help": "How to read the files.", "choices": list(CORPUS_FORMATS)}
    )
    question_column: str = field(default="question", metadata={"help": "Question column in QA data."})
    answer_column: str = field(default="answer", metadata={"help": "Answer column in QA data."})
    messages_column: str = field(default="messages", metadata={"help": "Message-list column in messages data."})
    encoding: str = field(default="utf-8", metadata={"help": ENCODING_HELP})


@dataclass
class DataArguments(CorpusArguments):
    """Which corpus to read and how to turn it into training sequences."""

    train_file: str | None = field(default=None, metadata={"help": "Training corpus: .txt, .jsonl/.json or .csv."})
    validation_file: str | None = field(default=None, metadata={"help": "Validation corpus, same formats."})
    dataset_name: str | None = field(default=None, metadata={"help": "A hub dataset instead of train_file."})
    dataset_config_name: str | None = field(default=None, metadata={"help": "The hub dataset's configuration."})
    validation_split_percentage: float = field(
        default=5.0, metadata={"help": "Share of train held out when there is no validation_file (at least 1)."}
    )
    max_seq_length: int = field(default=256, metadata={"help": "Most tokens per sequence; oldest turns go first."})
    loss_on: str = field(
        default="answers", metadata={"help": "Which tokens carry labels.", "choices": list(LOSS_ON_CHOICES)}
    )
    turn_order: str = field(
        default="forward",
        metadata={
            "help": "forward; or reversed (last turn first), to train the reverse model P(question | answer) that "
            "reranks replies (mmi_model_name_or_path).",
            "choices": list(TURN_ORDERS),
        },
    )
    pad_to_multiple_of: int | None = field(
        default=None, metadata={"help": "Pad each batch to a multiple of this length (GPUs: fewer distinct shapes)."}
    )
    packing: bool = field(
        default=False,
        metadata={
            "help": "Lay dialogues end to end in rows of up to max_seq_length tokens (best-fit decreasing), with no "
            "padding between them: position_ids restart and attention stays inside each dialogue."
        },
    )
    max_tokens_per_batch: int | None = field(
        default=None,
        metadata={
            "help": "Token budget per device and micro-batch, instead of per_device_train_batch_size dialogues: "
            "needs --packing, and trains max_tokens_per_batch // max_seq_length rows."
        },
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep only this many train dialogues."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep only this many eval dialogues."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for tokenization."})
    cache_dir: str | None = field(
        default=None, metadata={"help": "Where tokenized corpora are cached (default: ~/.cache/medbot_hf)."}
    )
    overwrite_cache: bool = field(default=False, metadata={"help": "Tokenize again even if a cache exists."})
    validate_only: bool = field(default=False, metadata={"help": "Check the corpus, print its stats and stop."})

    def __post_init__(self):
        check_encoding(self.encoding)
        check_choices(self)
        if not (self.train_file or self.dataset_name):
            raise ValueError("give --train_file or --dataset_name")
        if self.train_file and self.dataset_name:
            raise ValueError("give --train_file or --dataset_name, not both")
        if not 0 < self.validation_split_percentage < 100:
            pct = self.validation_split_percentage
            raise ValueError(f"--validation_split_percentage must be in (0, 100), got {pct}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ValueError(f"pad_to_multiple_of must be at least 1, got {self.pad_to_multiple_of}.")
        if self.max_seq_length < 4:
            raise ValueError(f"--max_seq_length must be at least 4, got {self.max_seq_length}")
        if self.max_tokens_per_batch is not None:
            if not self.packing:
                raise ValueError("--max_tokens_per_batch needs --packing (rows of max_seq_length tokens)")
            if self.max_tokens_per_batch < self.max_seq_length:
                budget, length = self.max_tokens_per_batch, self.max_seq_length
                raise ValueError(f"--max_tokens_per_batch {budget} holds no row of --max_seq_length {length}")


@dataclass
class GenerationArguments:
    """Sampling settings. Training stores them in `generation_config.json` (unset ones get the defaults in
    `GENERATION_DEFAULTS`); chat and serving override the saved values with the ones given."""

    max_new_tokens: int | None = field(default=None, metadata={"help": "Most tokens in one reply (trained: 64)."})
    do_sample: bool | None = field(default=None, metadata={"help": "Sample, or decode greedily (trained: True)."})
    temperature: float | None = field(default=None, metadata={"help": "Softmax temperature (trained: 0.7)."})
    top_k: int | None = field(default=None, metadata={"help": "Keep the k likeliest tokens (trained: 8)."})
    top_p: float | None = field(default=None, metadata={"help": "Nucleus sampling mass (trained: 0.9)."})
    repetition_penalty: float | None = field(
        default=None, metadata={"help": "HF's penalty, correct for negative logits (trained: 1.2)."}
    )
    no_repeat_ngram_size: int | None = field(
        default=None, metadata={"help": "Forbid repeating n-grams of this size (trained: 0, off)."}
    )

    def overrides(self) -> dict:
        """The fields that were given, as `GenerationConfig` keyword arguments."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


GENERATION_DEFAULTS = {
    "max_new_tokens": 64, "do_sample": True, "temperature": 0.7, "top_k": 8, "top_p": 0.9,
    "repetition_penalty": 1.2, "no_repeat_ngram_size": 0,
}  # fmt: skip


def quantize_field():
    """`--quantize`, declared once for chat, eval and serve."""
    return field(
        default=None,
        metadata={
            "help": "int8: quantize the linear layers' weights at load time (CPU only; the folder stays fp32).",
            "choices": [*QUANTIZE_CHOICES, None],
        },
    )


@dataclass
class ChatArguments:
    """Which model to chat with, and how much history it sees."""

    model_name_or_path: str = field(metadata={"help": "A trained output folder or a hub id."})
    max_history_len: int = field(default=3, metadata={"help": "Turns of history kept, the new question included."})
    max_seq_length: int | None = field(
        default=None, metadata={"help": "Room for prompt plus reply (default: the model's n_positions)."}
    )
    seed: int | None = field(default=None, metadata={"help": "Seed for sampling, for reproducible replies."})
    samples_file: str | None = field(
        default=None, metadata={"help": "Transcript file, appended to (default: samples/chat_samples.txt)."}
    )
    device: str = field(default="auto", metadata={"help": "cpu, cuda, cuda:1, or auto."})
    quantize: str | None = quantize_field()
    torch_compile: bool = field(
        default=False, metadata={"help": "Static KV cache + compiled decoding: slow first reply, faster after."}
    )
    show_similar: int = field(
        default=0, metadata={"help": "After each reply, show this many similar real consultations (MODEL's index)."}
    )

    def __post_init__(self):
        if self.max_history_len < 1:
            raise ValueError(f"--max_history_len must be at least 1, got {self.max_history_len}")
        if self.show_similar < 0:
            raise ValueError(f"--show_similar must be 0 or more, got {self.show_similar}")


def _as_trained(name: str):
    """`DataArguments.<name>` again, for `medbot-eval`, with its help and choices: unset (None), it takes the value
    the model was trained with."""
    declared = DataArguments.__dataclass_fields__[name]
    metadata = {**declared.metadata, "help": f"{declared.metadata['help']} Default: the training run's."}
    if "choices" in metadata:
        metadata["choices"] = [*metadata["choices"], None]
    return field(default=None, metadata=metadata)


@dataclass(kw_only=True)
class EvalArguments(CorpusArguments):
    """Which model to score, on which held-out dialogues, and how. The tokenization fields are `DataArguments`'s,
    unset by default: `medbot-eval` then fills them in from the model's `medbot_run.json`."""

    model_name_or_path: str = field(metadata={"help": "A trained output folder or a hub id."})
    test_file: str = field(metadata={"help": "Held-out dialogues: .txt, .jsonl/.json or .csv, as for training."})
    output_dir: str | None = field(default=None, metadata={"help": "Where results go (default: MODEL/eval)."})
    compare: str | None = field(default=None, metadata={"help": "A second model, scored the same way, side by side."})
    max_seq_length: int | None = _as_trained("max_seq_length")
    loss_on: str | None = _as_trained("loss_on")
    turn_order: str | None = _as_trained("turn_order")
    preprocessing_num_workers: int | None = _as_trained("preprocessing_num_workers")
    max_dialogues: int | None = field(default=None, metadata={"help": "Score only the first N dialogues."})
    dialogue_stride: int = field(
        default=1, metadata={"help": "Score every Nth dialogue only (before max_dialogues): a fixed, spread subset."}
    )
    baseline: str | None = field(
        default=None,
        metadata={
            "help": "Score a baseline instead of the model: retrieval = the answer of the most similar training "
            "question, from MODEL/retrieval_index (--compare a model to see it beside).",
            "choices": ["retrieval", None],
        },
    )
    max_history_len: int | None = field(default=None, metadata={"help": "Turns of history per prompt (all)."})
    batch_size: int = field(default=16, metadata={"help": "Dialogues per teacher-forced and generation batch."})
    seed: int = field(default=0, metadata={"help": "Seed for sampled replies."})
    device: str = field(default="auto", metadata={"help": "cpu, cuda, or auto."})
    quantize: str | None = quantize_field()
    update_model_card: bool = field(
        default=False, metadata={"help": "Put the scores, and the test file's name, in MODEL/README.md (local)."}
    )

    def __post_init__(self):
        check_encoding(self.encoding)
        check_choices(self)


# The serving limits a user can set; `api_schema.ServeLimits` and `batching.Scheduler` take their defaults from here.
MAX_BATCH_SIZE = 16
MAX_QUEUE = 64
MAX_TOKENS_CAP = 256  # replies longer than this are cut, whatever max_tokens asks
REQUEST_TIMEOUT_S = 60.0
MAX_SHOW_SIMILAR = 10  # most retrieved consultations one reply may carry


@dataclass
class RerankArguments:
    """Candidates per reply and the weights of the score that picks one (`medbot_hf.reranking.candidate_score`).
    The default weights were tuned on the shared valid.txt (`benchmarks/tune_rerank.py`, see README)."""

    num_candidates: int = field(
        default=1, metadata={"help": "Replies sampled per question, decoded as one batch; the best is kept."}
    )
    mmi_model_name_or_path: str | None = field(
        default=None, metadata={"help": "Reverse model (turn_order: reversed) adding log P(question | reply)."}
    )
    # Tuned on valid.txt[1::4] with the CPU recipe's model and its reverse model (benchmarks/tune_rerank.py, README
    # "Reranked replies"): 0.05 / 1.0 was the only ratio better than no reranking on all four metrics; the loop and
    # guard penalties tied at every value tried, and at these weights both act as bans while another candidate is left.
    log_prob_weight: float = field(
        default=0.05, metadata={"help": "Weight of the reply's mean log-probability under the model."}
    )
    mmi_weight: float = field(default=1.0, metadata={"help": "Weight of the reverse model's mean log-probability."})
    loop_penalty: float = field(default=1.0, metadata={"help": "Subtracted when a candidate loops (repetition)."})
    guard_penalty: float = field(default=2.0, metadata={"help": "Subtracted when the safety guard would change it."})

    def __post_init__(self):
        if self.num_candidates < 1:
            raise ValueError(f"--num_candidates must be at least 1, got {self.num_candidates}")
        if self.mmi_model_name_or_path and self.num_candidates == 1:
            raise ValueError("--mmi_model_name_or_path reranks candidates: give --num_candidates 2 or more")


@dataclass(kw_only=True)
class IndexArguments(CorpusArguments):
    """Which model folder gets a retrieval index, built from which corpus (read as training reads it)."""

    model_name_or_path: str = field(metadata={"help": "A trained output folder; the index goes into it."})
    corpus: str = field(metadata={"help": "The training corpus: .txt, .jsonl/.json or .csv, as for training."})

    def __post_init__(self):
        check_encoding(self.encoding)
        check_choices(self)


@dataclass
class ServeArguments:
    """Which model to serve, where, and with which limits."""

    model_name_or_path: str = field(metadata={"help": "A trained output folder or a hub id."})
    host: str = field(default="127.0.0.1", metadata={"help": "Interface to bind; 0.0.0.0 exposes the server."})
    port: int = field(default=8000, metadata={"help": "TCP port."})
    api_key: str | None = field(
        default=None, metadata={"help": "Require `Authorization: Bearer KEY` on /api and /v1 (or MEDBOT_API_KEY)."}
    )
    cors_origins: str | None = field(default=None, metadata={"help": "Comma-separated origins allowed (CORS)."})
    max_batch_size: int = field(
        default=MAX_BATCH_SIZE, metadata={"help": "Most concurrent requests in one generate call."}
    )
    max_queue: int = field(default=MAX_QUEUE, metadata={"help": "Most waiting requests; beyond it 503 + Retry-After."})
    max_tokens_cap: int = field(default=MAX_TOKENS_CAP, metadata={"help": "Replies are cut at this many tokens."})
    request_timeout_s: float = field(
        default=REQUEST_TIMEOUT_S, metadata={"help": "Per-request time limit (504 after)."}
    )
    max_seq_length: int | None = field(default=None, metadata={"help": "Prompt + reply room (default: n_positions)."})
    log_messages: bool = field(default=False, metadata={"help": "Log message text (off: sizes and timings only)."})
    show_similar: int = field(
        default=3,
        metadata={"help": "Similar real consultations per reply, from MODEL/retrieval_index (0: none; a request's "
                  "show_similar overrides it)."},
    )  # fmt: skip
    device: str = field(default="auto", metadata={"help": "cpu, cuda, or auto."})
    quantize: str | None = quantize_field()

    def __post_init__(self):
        if self.max_batch_size < 1 or self.max_queue < 1:
            raise ValueError("--max_batch_size and --max_queue must be at least 1")
        if not 0 <= self.show_similar <= MAX_SHOW_SIMILAR:
            raise ValueError(f"--show_similar must be 0 to {MAX_SHOW_SIMILAR}, got {self.show_similar}")


def _yaml_defaults(path: str, known: set[str]) -> dict:
    if not os.path.isfile(path):
        raise ValueError(f"--config {path}: no such file")
    with open(path, encoding="utf-8") as f:
        values = yaml.safe_load(f) or {}
    if not isinstance(values, dict):
        raise ValueError(f"--config {path}: expected a mapping of argument names to values")
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"--config {path}: unknown key(s) {', '.join(unknown)}")
    return values


class MedbotParser(HfArgumentParser):
    """`HfArgumentParser` plus `--config file.yaml`, as TRL's `TrlParser`: a recipe's `make_parser()` returns one."""

    def __init__(self, dataclass_types: tuple, **kwargs):
        super().__init__(dataclass_types, **kwargs)
        self.add_argument("--config", help="YAML recipe; command-line flags override its values")

    def _check_yaml_choices(self, path: str, values: dict) -> None:
        """argparse checks `choices` on the command line only; a YAML value gets the same check here, for every
        closed-set field (ours and `TrainingArguments`' enums alike), naming the field."""
        for action in self._actions:
            if action.dest in values and action.choices is not None:
                value = values[action.dest]
                if value not in action.choices and str(value) not in {str(c) for c in action.choices}:
                    allowed = ", ".join(str(c) for c in action.choices if c is not None)
                    self.error(f"--config {path}: {action.dest} must be one of {allowed}, got {value!r}")

    def parse_args_and_config(self, argv: list[str] | None = None) -> tuple:
        """Parse `argv` (`sys.argv[1:]` when None), reading defaults from an optional `--config file.yaml`.

        Returns:
            One instance per dataclass, in order. Bad values exit with an argparse-style message, never a traceback.
        """
        if not torch.cuda.is_available():  # else DDP ranks on a CPU-only box each run alone (see accelerate_configs/)
            os.environ.setdefault("ACCELERATE_USE_CPU", "1")
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--config")
        known_args, rest = pre.parse_known_args(argv)
        if known_args.config:
            fields = {f.name for dtype in self.dataclass_types for f in dataclasses.fields(dtype) if f.init}
            try:
                values = _yaml_defaults(known_args.config, fields)
            except (ValueError, yaml.YAMLError) as e:
                self.error(str(e))
            self._check_yaml_choices(known_args.config, values)
            self.set_defaults(**values)
            for action in self._actions:
                if action.dest in values:
                    action.required = False
        try:
            *outputs, _ = self.parse_args_into_dataclasses(args=rest, look_for_args_file=False)
        except ValueError as e:  # __post_init__ checks name the flags
            self.error(str(e))
        return tuple(outputs)


def parse_args(dataclass_types: tuple, argv: list[str] | None = None) -> tuple:
    """`MedbotParser(dataclass_types).parse_args_and_config(argv)`: one instance per dataclass, in order.

    Args:
        dataclass_types: the dataclasses to fill, e.g. `(ModelArguments, DataArguments, TrainingArguments)`.
        argv: the command line without the program name; `sys.argv[1:]` when None.
    """
    return MedbotParser(dataclass_types).parse_args_and_config(argv)


NONFINITE_POLICIES = ("stop", "skip")


@dataclass
class MedbotTrainingArguments(TrainingArguments):
    """`transformers.TrainingArguments` plus what a run does when a step's loss or gradient is inf or NaN."""

    nonfinite_loss: str = field(
        default="stop",
        metadata={
            "help": "On an inf/NaN loss or gradient norm: stop, naming the step, or skip the update and count it "
            "(skip: recipes/finetune_accelerate.py only).",
            "choices": list(NONFINITE_POLICIES),
        },
    )

    def __post_init__(self):
        super().__post_init__()  # checks TrainingArguments' own fields
        check_choices(self, names=("nonfinite_loss",))


FINETUNE_ARGS = (ModelArguments, DataArguments, GenerationArguments, MedbotTrainingArguments)
