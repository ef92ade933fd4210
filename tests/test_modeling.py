import pytest
import torch
from transformers import AutoTokenizer, BertTokenizer

from medbot_hf.chat_format import encode_turns
from medbot_hf.configs import ModelArguments
from medbot_hf.modeling import SPECIAL_TOKENS, build_tokenizer, get_model, load_tokenizer

MESSAGES = [
    {"role": "user", "content": "我头疼，吃了 Ibuprofen 200mg 没用"},
    {"role": "assistant", "content": "您好，建议多休息。"},
    {"role": "user", "content": "还发烧38.5℃"},
    {"role": "assistant", "content": "请及时就医。"},
]


def training_ids(tokenizer, messages, loss_on="answers"):
    ids = tokenizer([m["content"] for m in messages], add_special_tokens=False)["input_ids"]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    return encode_turns(ids, cls_id=cls_id, sep_id=sep_id, max_length=1024, loss_on=loss_on)


def test_built_vocab_layout_and_options():
    tok = build_tokenizer(["头疼头疼头", "发烧"], min_frequency=2)
    vocab = tok.get_vocab()
    assert [vocab[t] for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert "头" in vocab and "疼" in vocab and "发" not in vocab  # 发 seen once < min_frequency
    assert vocab["头"] < vocab["疼"]  # by frequency
    assert "A" in vocab and "7" in vocab  # printable ASCII always kept
    assert tok("发", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]
    small = build_tokenizer(["头疼头疼头", "发烧"], max_vocab_size=101)
    assert len(small) == 101 and "头" in small.get_vocab() and "疼" not in small.get_vocab()
    with pytest.raises(ValueError, match="leaves no room"):
        build_tokenizer(["x"], max_vocab_size=50)


def test_saved_tokenizer_reloads_with_stock_autotokenizer(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    enc = tok("我头疼")
    assert set(enc) == {"input_ids", "attention_mask"}  # no token_type_ids: GPT-2 would embed them
    assert tok.pad_token_id == 0 and tok.eos_token == "[SEP]" and tok.bos_token == "[CLS]"
    text = "您好，建议服用 ibuprofen 后多喝水。"
    assert tok.decode(tok(text)["input_ids"]) == text  # no spaces between Chinese characters, Latin spaces kept
    assert tok.apply_chat_template(MESSAGES, return_dict=False) == training_ids(tokenizer, MESSAGES)["input_ids"]
    prompt = tok.apply_chat_template(MESSAGES[:3], add_generation_prompt=True, return_dict=False)
    assert prompt == training_ids(tokenizer, MESSAGES[:3])["input_ids"]


def test_chat_template_rejects_unknown_roles(tokenizer):
    with pytest.raises(Exception, match="unknown role nurse"):
        tokenizer.apply_chat_template([{"role": "nurse", "content": "x"}])


def test_bert_vocab_txt_is_wrapped(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "头", "疼", "吃", "药", "as", "##pi", "##rin", "take"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    for source in (tmp_path / "vocab.txt", tmp_path):
        tok = load_tokenizer(str(source))
        ids = tok("头疼 take aspirin吃药", add_special_tokens=False)["input_ids"]
        assert ids == [5, 6, 12, 9, 10, 11, 7, 8]
        assert "token_type_ids" not in tok("头疼")
        assert tok.decode(ids) == "头疼take aspirin吃药"
        tok.save_pretrained(tmp_path / "saved")
        again = AutoTokenizer.from_pretrained(tmp_path / "saved")
        assert again.decode(ids) == "头疼take aspirin吃药" and "token_type_ids" not in again("头疼")
    assert len(BertTokenizer(vocab=str(tmp_path / "vocab.txt"))) == len(vocab)


def test_saved_folder_of_our_tokenizer_loads_back(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    tok = load_tokenizer(str(tmp_path))
    assert tok.get_vocab() == tokenizer.get_vocab()
    assert tok.decode(tok("头疼 abc")["input_ids"]) == "头疼 abc"


def test_model_from_config(tiny_model, tokenizer):
    config = tiny_model.config
    assert (config.n_embd, config.n_layer, config.vocab_size) == (16, 2, len(tokenizer))
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == (2, 3, 0)
    ids = torch.tensor([training_ids(tokenizer, MESSAGES)["input_ids"]])
    out = tiny_model(input_ids=ids, labels=ids)
    assert out.logits.shape == (1, ids.shape[1], len(tokenizer)) and torch.isfinite(out.loss)


def test_model_errors(tokenizer, tiny_model, tmp_path):
    with pytest.raises(ValueError, match="max_seq_length=512 exceeds the model's n_positions=128"):
        get_model(ModelArguments(config_overrides="n_embd=16,n_layer=1,n_head=2,n_positions=128"), tokenizer, 512)
    with pytest.raises(ValueError, match="config_overrides: vocab_size=10, tokenizer has"):
        get_model(ModelArguments(config_overrides="n_embd=16,n_layer=1,n_head=2,vocab_size=10"), tokenizer, 64)
    tiny_model.save_pretrained(tmp_path)
    bigger = build_tokenizer(["头疼"] + [chr(0x4E00 + i) for i in range(len(tokenizer))])
    model = get_model(ModelArguments(model_name_or_path=str(tmp_path)), bigger, 64)
    assert model.get_input_embeddings().weight.shape[0] == len(bigger)  # resized to the tokenizer


def test_fast_char_path_equals_the_tokenizer(tokenizer, sample_texts, tmp_path):
    from medbot_hf.modeling import char_lookup, encode_texts

    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    lookup = char_lookup(reloaded)
    assert lookup is not None and (char_lookup(load_tokenizer(str(tmp_path))) == lookup).all()
    odd = [
        "  头疼\t\t发烧\r\n 38℃ ", "\u3000全角空格\u3000", "a\u00a0b\u2028c\x85d\u200be", "\x1c分隔\x1f符", "😷🤒罕见字鬣",
        "用户写了[SEP]和[CLS]", "[", "", "   ", "ＡＢＣ１２３，。！", "Ibuprofen  200 mg",
    ]  # fmt: skip
    texts = sample_texts + odd
    expected = reloaded(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert encode_texts(reloaded, texts, lookup) == expected and encode_texts(reloaded, texts, None) == expected
    bert_dir = tmp_path / "bert"
    bert_dir.mkdir()
    (bert_dir / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n头\n", encoding="utf-8")
    assert char_lookup(load_tokenizer(str(bert_dir))) is None  # WordPiece over words: no fast path


@pytest.mark.parametrize("fast", [True, False], ids=["char-fast-path", "tokenizer-path"])
def test_special_token_text_is_text(tokenizer, fast):
    from medbot_hf.modeling import char_lookup, encode_texts

    text = "我[SEP]头疼[CLS][PAD][UNK][MASK]"
    ids = encode_texts(tokenizer, [text], char_lookup(tokenizer) if fast else None)[0]
    assert len(ids) == len(text) and not set(ids) & set(tokenizer.all_special_ids)
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_conv1d_to_linear_computes_the_same(tiny_model):
    from transformers.pytorch_utils import Conv1D

    from medbot_hf.modeling import conv1d_to_linear

    tiny_model.eval()  # no dropout
    ids = torch.randint(5, 100, (2, 12))
    with torch.inference_mode():
        before = tiny_model(input_ids=ids).logits
    assert conv1d_to_linear(tiny_model) == 4 * tiny_model.config.n_layer  # c_attn, c_proj, c_fc, mlp.c_proj
    with torch.inference_mode():
        after = tiny_model(input_ids=ids).logits
    assert not any(isinstance(m, Conv1D) for m in tiny_model.modules())
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)


def test_int8_at_load_keeps_the_folder_and_the_predictions(trained):
    import hashlib

    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    from medbot_hf.modeling import load_for_inference

    folder = trained[0]
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    fp32, tok = load_for_inference(str(folder), "cpu")
    int8, _ = load_for_inference(str(folder), "cpu", quantize="int8")
    quantized = [m for m in int8.modules() if isinstance(m, DynamicInt8Linear)]
    assert len(quantized) == 4 * int8.config.n_layer + 1  # every block's four layers and the lm_head
    assert int8.transformer.wte.weight.dtype == torch.float32  # embeddings stay fp32
    ids = torch.tensor([tok.encode("[CLS]我头疼两天了，还发烧，怎么办？[SEP]医生：", add_special_tokens=False)])
    with torch.inference_mode():
        a, b = fp32(input_ids=ids).logits, int8(input_ids=ids).logits
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9
    assert ((a - b).norm() / a.norm()) < 0.05
    assert hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest() == digest  # the folder stays fp32
    with pytest.raises(ValueError, match="--quantize must be one of int8, got 'int4'"):
        load_for_inference(str(folder), "cpu", quantize="int4")
