"""Tokenizer and model builders: `get_tokenizer`, `build_tokenizer`, `get_model`.

Every tokenizer, built or loaded, ends up as a `PreTrainedTokenizerFast` that emits no `token_type_ids` (GPT-2 would
add them to the embeddings), adds no special tokens of its own (the chat format places `[CLS]`/`[SEP]`), decodes
Chinese without spaces, and carries the chat template. Those properties survive `save_pretrained` and reload with
stock `AutoTokenizer`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoModelForCausalLM, AutoTokenizer, BertTokenizer, GPT2Config, PreTrainedTokenizerFast
from transformers.pytorch_utils import Conv1D

from .chat_format import CHAT_TEMPLATE
from .hub import from_folder_or_hub

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0..4 in a built vocab; [PAD]=0 as the ancestor
# Printable ASCII (space included) is always in a built vocab, whatever its frequency, so drug names, units and lab
# values never turn into [UNK]. Each character, Latin letters and digits too, is one token; case is kept.
ALWAYS_IN_VOCAB = tuple(chr(c) for c in range(0x20, 0x7F))
# Unicode's White_Space set, spelled out so the Rust normalizer and the Python fast path (`encode_texts`) agree.
WHITESPACE = "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
_WHITESPACE_RE = re.compile(WHITESPACE)
# A loaded WordPiece vocab separates every token with a space on decode; drop the spaces that touch non-ASCII text.
_CJK_SPACE = Regex(r"(?<=[^\x00-\x7F]) | (?=[^\x00-\x7F])")


def _wrap(backend: Tokenizer, max_length: int | None = None) -> PreTrainedTokenizerFast:
    """Wrap a `tokenizers.Tokenizer` with our special tokens, input names and chat template."""
    missing = [t for t in SPECIAL_TOKENS[:4] if backend.token_to_id(t) is None]
    if missing:
        raise ValueError(f"the tokenizer's vocab has no {', '.join(missing)}; a BERT-style vocab is required")
    backend.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B")  # the chat format adds specials
    kwargs = {"model_max_length": max_length} if max_length else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_input_names=["input_ids", "attention_mask"],
        bos_token="[CLS]", eos_token="[SEP]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        unk_token="[UNK]", mask_token="[MASK]" if backend.token_to_id("[MASK]") is not None else None,
        chat_template=CHAT_TEMPLATE, padding_side="right", **kwargs,
    )  # fmt: skip


def build_tokenizer(
    texts: Iterable[str], min_frequency: int = 1, max_vocab_size: int | None = None
) -> PreTrainedTokenizerFast:
    """Build a character vocab from a corpus, BERT-style: `[PAD]`=0, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`, then chars.

    Whitespace runs become one space and ends are stripped (on each turn); every other character is its own token.
    Characters are ordered by frequency (ties by code point), so the vocab is the same for the same corpus.

    Args:
        texts: every utterance of the training corpus.
        min_frequency: characters seen fewer times become `[UNK]` (printable ASCII is always kept).
        max_vocab_size: cap on the vocab, special tokens included; the rarest characters go first.

    Returns:
        The tokenizer, with the chat template.
    """
    counts: Counter = Counter()
    for text in texts:
        counts.update(text)
    chars = [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_frequency]
    chars = [c for c in chars if not c.isspace() and c.isprintable() and c not in ALWAYS_IN_VOCAB]
    vocab = list(SPECIAL_TOKENS) + list(ALWAYS_IN_VOCAB) + chars
    if max_vocab_size is not None:
        if max_vocab_size < len(SPECIAL_TOKENS) + len(ALWAYS_IN_VOCAB):
            raise ValueError(f"max_vocab_size={max_vocab_size} leaves no room beyond the specials and printable ASCII")
        vocab = vocab[:max_vocab_size]
    backend = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.Sequence([normalizers.Replace(Regex(WHITESPACE), " "), normalizers.Strip()])
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"."), behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    logger.info("Built a %d-token character vocab from %d distinct characters", len(vocab), len(counts))
    return _wrap(backend)


def char_lookup(tokenizer: PreTrainedTokenizerFast) -> np.ndarray | None:
    """For a character vocab from :func:`build_tokenizer` (reloaded or not): an array from code point to id, whose
    last entry is `[UNK]` for every code point beyond. None for any other tokenizer."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    pre = state.get("pre_tokenizer") or {}
    if pre.get("type") != "Split" or pre.get("pattern") != {"Regex": "."}:
        return None
    chars = {ord(t): i for t, i in tokenizer.get_vocab().items() if len(t) == 1}
    lookup = np.full(max(chars) + 2, tokenizer.unk_token_id, dtype=np.int64)
    lookup[list(chars)] = list(chars.values())
    return lookup


def encode_texts(
    tokenizer: PreTrainedTokenizerFast, texts: list[str], lookup: np.ndarray | None = None
) -> list[list[int]]:
    """Patient, doctor and system text as ids: the one place where text becomes ids, in training, chat, serving
    and eval. Text is always text: a `[SEP]`, `[CLS]` or `[PAD]` typed in a message or written in a corpus line is
    tokenized as its characters, never as the control token, so no one can forge a turn boundary. (Only
    :func:`medbot_hf.chat_format.encode_messages` places control ids.)

    It is `tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]`, an order of
    magnitude faster for a character vocab: with `lookup` from :func:`char_lookup`, each text is normalized as the
    tokenizer's normalizer does (whitespace runs to one space, ends stripped), and the whole batch goes from code
    points to ids in one array lookup. `tests/test_modeling.py` checks that both paths agree.
    """
    if lookup is None:
        return tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    normalized = [_WHITESPACE_RE.sub(" ", text).strip(" ") for text in texts]
    points = np.frombuffer("".join(normalized).encode("utf-32-le"), dtype=np.uint32)
    ids = lookup[np.minimum(points, len(lookup) - 1)].tolist()
    ends = list(itertools.accumulate(map(len, normalized)))
    return [ids[end - len(norm) : end] for norm, end in zip(normalized, ends, strict=True)]


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerFast:
    """Load a tokenizer from a saved folder, a folder or file holding only `vocab.txt`, or a hub id."""
    if os.path.isfile(name_or_path) or (
        os.path.isdir(name_or_path)
        and os.path.exists(os.path.join(name_or_path, "vocab.txt"))
        and not os.path.exists(os.path.join(name_or_path, "tokenizer.json"))
    ):
        vocab = name_or_path if os.path.isfile(name_or_path) else os.path.join(name_or_path, "vocab.txt")
        backend = BertTokenizer(vocab=vocab).backend_tokenizer  # not `vocab_file=`: transformers 5 ignores it
    else:
        backend = from_folder_or_hub(AutoTokenizer.from_pretrained, name_or_path).backend_tokenizer
    if isinstance(backend.decoder, decoders.WordPiece):  # a BERT vocab; ours (saved earlier) keeps its decoder
        backend.decoder = decoders.Sequence([decoders.WordPiece(), decoders.Fuse(), decoders.Replace(_CJK_SPACE, "")])
    return _wrap(backend)


def get_tokenizer(model_args, texts: Iterable[str] | None = None) -> PreTrainedTokenizerFast:
    """The tokenizer a run asks for: `tokenizer_name`, else the pretrained model's, else one built from `texts`."""
    name = model_args.tokenizer_name or model_args.model_name_or_path
    if name:
        return load_tokenizer(name)
    if texts is None:
        raise ValueError("no tokenizer_name or model_name_or_path: the training texts are needed to build a vocab")
    return build_tokenizer(texts, model_args.min_frequency, model_args.max_vocab_size)


def get_model(model_args, tokenizer: PreTrainedTokenizerFast, max_seq_length: int):
    """A GPT-2 LM, pretrained (`model_name_or_path`) or fresh from `GPT2Config` + `config_overrides`.

    The embeddings are resized to the tokenizer, and the config carries `bos=[CLS]`, `eos=[SEP]`, `pad=[PAD]`.
    """
    special = {
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if model_args.model_name_or_path:
        model = from_folder_or_hub(AutoModelForCausalLM.from_pretrained, model_args.model_name_or_path)
        if model.config.model_type != "gpt2":
            raise ValueError(f"{model_args.model_name_or_path} is a {model.config.model_type!r} model; GPT-2 expected")
        if model.config.vocab_size < len(tokenizer):
            logger.warning("Resizing embeddings %d -> %d for the tokenizer", model.config.vocab_size, len(tokenizer))
            model.resize_token_embeddings(len(tokenizer))
        model.config.update(special)
    else:
        config = GPT2Config(vocab_size=len(tokenizer), **special)
        if model_args.config_overrides:
            config.update_from_string(model_args.config_overrides)
        if config.vocab_size != len(tokenizer):
            raise ValueError(f"config_overrides: vocab_size={config.vocab_size}, tokenizer has {len(tokenizer)}")
        model = AutoModelForCausalLM.from_config(config)
    if model.config.n_positions < max_seq_length:
        raise ValueError(
            f"max_seq_length={max_seq_length} exceeds the model's n_positions={model.config.n_positions}; "
            "lower max_seq_length or raise n_positions in config_overrides"
        )
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("GPT-2: %.2fM params, %d layers, %d dim", n_params / 1e6, model.config.n_layer, model.config.n_embd)
    return model


QUANTIZE_CHOICES = ("int8",)


def conv1d_to_linear(model: torch.nn.Module) -> int:
    """Replace every GPT-2 `Conv1D` (`x @ W + b`, W stored in x out) by the `nn.Linear` that computes the same (its
    weight is W transposed), so that quantizers that only know `nn.Linear` see them. Returns how many were replaced."""
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = torch.nn.Linear(child.nx, child.nf, device=child.weight.device, dtype=child.weight.dtype)
                linear.weight.data, linear.bias.data = child.weight.data.t().contiguous(), child.bias.data
                setattr(parent, name, linear)
                replaced += 1
    return replaced


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """int8 weights for every linear layer of a GPT-2 on CPU (the tied `lm_head` included; the embeddings stay fp32):
    `Conv1D` to `nn.Linear`, then `torch.ao` dynamic quantization (activations quantized per batch at run time).

    The fbgemm engine is chosen explicitly: on this project's AVX2 CPU, torch's default "x86" engine ran a 12-layer
    stack of int8 matmuls 19x slower than fbgemm did (benchmarks/bench_generation.py has the model-level figures).
    """
    import warnings

    from torch.ao.quantization import quantize_dynamic

    if model.device.type != "cpu":
        raise ValueError(f"--quantize int8 runs on CPU only; the model is on {model.device}")
    replaced = conv1d_to_linear(model)
    torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():  # torch.ao's eager quantization warns it is deprecated in favour of torchao,
        warnings.simplefilter("ignore")  # whose int8 layers ran 18-28x slower than fp32 on CPU without torch.compile
        model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    logger.info("int8: %d Conv1D layers converted to Linear; every Linear quantized (torch.ao dynamic)", replaced)
    return model


def load_for_inference(name_or_path: str, device: str = "auto", quantize: str | None = None):
    """A trained folder (or hub id) ready to generate: `(model in eval mode on device, tokenizer)`.

    `quantize="int8"` quantizes the fp32 weights at load time (CPU only, see :func:`quantize_int8`); the folder is
    left as it is.
    """
    if quantize not in (None, *QUANTIZE_CHOICES):
        raise ValueError(f"--quantize must be one of {', '.join(QUANTIZE_CHOICES)}, got {quantize!r}")
    if device == "auto":
        device = "cpu" if quantize else "cuda" if torch.cuda.is_available() else "cpu"
    model = from_folder_or_hub(AutoModelForCausalLM.from_pretrained, name_or_path).to(device).eval()
    if quantize == "int8":
        model = quantize_int8(model)
    return model, load_tokenizer(name_or_path)
