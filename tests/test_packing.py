"""Packing: rows of several dialogues with no padding between them, the same per-token losses, exact resume."""

import shutil

import pytest
import torch
from conftest import SAMPLE_TRAIN, SAMPLE_VALID, load_recipe, tiny_run_args
from safetensors.torch import load_file
from transformers import TrainingArguments

from medbot_hf.chat_format import IGNORE_INDEX as X
from medbot_hf.configs import FINETUNE_ARGS, DataArguments, parse_args
from medbot_hf.data import get_dataset, get_raw_datasets, pack_dataset, pack_rows, training_collator
from medbot_hf.training import pack_for_training, prepare

ROW = 128  # the tiny model's n_positions; dialogues cut to 48 tokens, so 2 or 3 share a row


def test_pack_rows_is_best_fit_decreasing():
    # longest first, each into the fullest row that still has room (row length 10): 7, 6 and 5 open rows; 4 fills
    # the 6's row, 3 the 7's, and 1 goes beside the 5
    assert pack_rows([3, 7, 1, 6, 5, 4], 10) == [[1, 0], [3, 5], [4, 2]]
    assert pack_rows([4, 4, 4], 4) == [[0], [1], [2]]
    with pytest.raises(ValueError, match="dialogue 1 has 11 tokens, more than a row's 10"):
        pack_rows([3, 11], 10)


@pytest.fixture(scope="module")
def tokenized(tokenizer, tmp_path_factory):
    args = DataArguments(
        train_file=str(SAMPLE_TRAIN), validation_file=str(SAMPLE_VALID), max_seq_length=48, loss_on="all",
        cache_dir=str(tmp_path_factory.mktemp("cache")),
    )  # fmt: skip
    raw, _ = get_raw_datasets(args)
    return get_dataset(raw, tokenizer, args)[0]


def test_packed_rows_keep_every_label_inside_its_dialogue(tokenized, tokenizer):
    # loss_on=all labels every id, [CLS] included: the hardest case for a boundary
    ds = tokenized["validation"]
    rows, stats = pack_dataset(ds, ROW)
    members = pack_rows(list(ds["length"]), ROW)
    assert stats["dialogues"] == len(ds) == sum(len(m) for m in members) and stats["rows"] == len(rows) < len(ds)
    batch = training_collator(tokenizer, DataArguments(train_file="x", max_seq_length=ROW, packing=True))(list(rows))
    assert set(batch) == {"input_ids", "labels", "position_ids"}  # no attention_mask: the mask comes from positions
    assert batch["input_ids"].shape == (len(rows), ROW)
    for r, row in enumerate(members):
        start = 0
        for i in row:
            ids, labels, n = ds[i]["input_ids"], ds[i]["labels"], ds[i]["length"]
            assert batch["input_ids"][r, start : start + n].tolist() == ids
            assert batch["position_ids"][r, start : start + n].tolist() == list(range(n))
            # the first id is never a target (it would be predicted from the previous dialogue); the rest as alone
            assert batch["labels"][r, start : start + n].tolist() == [X, *labels[1:]]
            start += n
        tail = ROW - start  # filler: [PAD], never labelled, positions of its own
        assert batch["input_ids"][r, start:].tolist() == [tokenizer.pad_token_id] * tail
        assert batch["labels"][r, start:].tolist() == [X] * tail
        assert batch["position_ids"][r, start:].tolist() == list(range(tail))


def to(device: str, batch: dict) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def token_losses(model, batch) -> torch.Tensor:
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs).logits[:, :-1]
    return torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), batch["labels"][:, 1:].clamp(min=0), reduction="none"
    )


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_batch_gives_each_token_the_loss_it_has_alone(tokenized, tokenizer, tiny_model, attn, tmp_path):
    ds = tokenized["validation"]
    data_args = DataArguments(train_file="x", max_seq_length=ROW, packing=True)
    packed = pack_for_training(tokenized, tiny_model, data_args, TrainingArguments(str(tmp_path), use_cpu=True))
    assert tiny_model.config.use_cache is False  # a cache would switch off the packed-sequence mask
    tiny_model.set_attn_implementation(attn)
    device = "cuda" if torch.cuda.is_available() else "cpu"  # benchmarks/gpu_check.sh runs this on its GPU
    tiny_model.to(device).eval()
    batch = to(device, training_collator(tokenizer, data_args)(list(packed["validation"])))
    with torch.no_grad():
        packed_losses = token_losses(tiny_model, batch)
        padded = training_collator(tokenizer, DataArguments(train_file="x", max_seq_length=ROW))
        alone = [token_losses(tiny_model, to(device, padded([ds[i]])))[0] for i in range(len(ds))]
    compared = 0
    for r, row in enumerate(pack_rows(list(ds["length"]), ROW)):
        start = 0
        for i in row:
            n = ds[i]["length"]
            # targets 1..n-1 of dialogue i sit at row positions start..start+n-2 of the shifted losses
            torch.testing.assert_close(packed_losses[r, start : start + n - 1], alone[i][: n - 1], rtol=0, atol=1e-5)
            compared += n - 1
            start += n
    assert compared == sum(n - 1 for n in ds["length"])
    # and the mask really matters: the same rows without position_ids attend across dialogues
    with torch.no_grad():
        crossing = token_losses(tiny_model, {k: v for k, v in batch.items() if k != "position_ids"})
    assert (crossing - packed_losses).abs().max() > 1e-2


def test_token_budget_sets_rows_per_device(tmp_path):
    model_args, data_args, _, training_args = parse_args(
        FINETUNE_ARGS, tiny_run_args(tmp_path, "--packing", "true", "--max_tokens_per_batch", "1000")
    )
    _, _, tokenized, _ = prepare(model_args, data_args, training_args)
    assert training_args.per_device_train_batch_size == 1000 // 128
    assert set(tokenized["train"].column_names) == {"input_ids", "labels", "position_ids", "length"}
    assert max(tokenized["train"]["length"]) <= 128 and len(tokenized["train"]) < 181
    with pytest.raises(SystemExit):
        parse_args(FINETUNE_ARGS, tiny_run_args(tmp_path, "--max_tokens_per_batch", "1000"))
    with pytest.raises(ValueError, match="needs --packing"):
        DataArguments(train_file="x", max_tokens_per_batch=1000)
    with pytest.raises(ValueError, match="holds no row of --max_seq_length 256"):
        DataArguments(train_file="x", packing=True, max_tokens_per_batch=100)


@pytest.mark.parametrize("recipe", ["finetune_accelerate", "finetune"])
def test_resumed_packed_run_ends_with_the_same_weights(tmp_path, recipe):
    # Dropout on and a random row order: the RNG and data order must both come back exactly.
    main = load_recipe(recipe).main
    extra = ["--packing", "true", "--max_steps", "12", "--save_steps", "5", "--eval_strategy", "no"]
    extra += ["--eval_on_start", "false", "--per_device_train_batch_size", "4", "--train_sampling_strategy", "random"]
    extra += ["--load_best_model_at_end", "false", "--max_seq_length", "128"]
    main(*parse_args(FINETUNE_ARGS, tiny_run_args(tmp_path / "ref", *extra)))
    (tmp_path / "run" / "out").mkdir(parents=True)
    shutil.copytree(tmp_path / "ref" / "out" / "checkpoint-5", tmp_path / "run" / "out" / "checkpoint-5")
    main(*parse_args(FINETUNE_ARGS, tiny_run_args(tmp_path / "run", *extra)))  # resumes at step 5
    expected, got = (load_file(d / "out" / "model.safetensors") for d in (tmp_path / "ref", tmp_path / "run"))
    initial = load_file(tmp_path / "ref" / "out" / "checkpoint-5" / "model.safetensors")
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    assert any(not torch.equal(initial[name], tensor) for name, tensor in expected.items())


@pytest.mark.slow
def test_compiled_fused_loop_saves_plain_weights(tmp_path):
    # --torch_compile on a CPU (inductor): the step runs compiled, and the saved folder has GPT-2's own key names
    extra = ["--packing", "true", "--torch_compile", "true", "--optim", "adamw_torch_fused", "--max_steps", "3"]
    extra += ["--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false"]
    extra += ["--dataloader_drop_last", "true", "--eval_on_start", "false"]
    metrics = load_recipe("finetune_accelerate").main(*parse_args(FINETUNE_ARGS, tiny_run_args(tmp_path, *extra)))
    weights = load_file(tmp_path / "out" / "model.safetensors")
    assert "transformer.wte.weight" in weights and not any(k.startswith("_orig_mod") for k in weights)
    assert metrics["eval_loss"] < 10
