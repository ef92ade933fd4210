"""Corpus preparation speed and training throughput on the real corpus.

    python benchmarks/bench_data.py                  # both parts, on ../shared/data/medical_dialogue/train.txt
    python benchmarks/bench_data.py --part load      # load + validate + tokenize + cache vs an ancestor-style loop
    python benchmarks/bench_data.py --part train --steps 30

`load` times, end to end from the text file: our pipeline cold (nothing cached), warm (the tokenized cache reused),
and the GPT2-chitchat preprocess loop (split on blank lines, `tokenizer.encode` per utterance, pickle the lists),
using the same character vocab. `train` runs the CPU recipe's model (recipes/medical_dialogue/config_cpu.yaml) for a
few optimizer steps with and without length grouping and reports non-pad tokens/s and the padding share of batches.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time

from common import ROOT, SHARED_TRAIN, SHARED_VALID, machine, table

from medbot_hf.configs import FINETUNE_ARGS, DataArguments, parse_args
from medbot_hf.data import get_collator, get_dataset, get_raw_datasets, iter_texts
from medbot_hf.modeling import build_tokenizer, load_tokenizer


def ours(train_file: str, cache_dir: str, tokenizer) -> float:
    start = time.perf_counter()
    args = DataArguments(train_file=train_file, cache_dir=cache_dir, max_seq_length=1024, loss_on="all")
    raw, _ = get_raw_datasets(args)
    get_dataset(raw, tokenizer, args)
    return time.perf_counter() - start


def ancestor(train_file: str, out: str, tokenizer) -> float:
    """GPT2-chitchat's preprocess.py, with a BertTokenizerFast over the same vocab."""
    start = time.perf_counter()
    with open(train_file, "rb") as f:
        data = f.read().decode("utf-8")
    newline = "\r\n" if "\r\n" in data else "\n"
    dialogue_list = []
    for dialogue in data.split(newline * 2):
        input_ids = [tokenizer.cls_token_id]
        for utterance in dialogue.split(newline):
            input_ids += tokenizer.encode(utterance, add_special_tokens=False)
            input_ids.append(tokenizer.sep_token_id)
        dialogue_list.append(input_ids)
    with open(out, "wb") as f:
        pickle.dump(dialogue_list, f)
    return time.perf_counter() - start


def bench_load(train_file: str, repeats: int) -> None:
    from transformers import BertTokenizerFast

    args = DataArguments(train_file=train_file)
    raw, _ = get_raw_datasets(args)
    tokenizer = build_tokenizer(iter_texts(raw["train"]))
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        tokenizer = load_tokenizer(tmp)  # what a run uses after the first save
        vocab = os.path.join(tmp, "vocab.txt")
        with open(vocab, "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1]) if t != " ")
        bert = BertTokenizerFast(vocab=vocab)
        rows = []
        for i in range(repeats):
            cold = ours(train_file, os.path.join(tmp, f"cold{i}"), tokenizer)
            warm = ours(train_file, os.path.join(tmp, f"cold{i}"), tokenizer)
            old = ancestor(train_file, os.path.join(tmp, "train.pkl"), bert)
            rows.append(
                [i + 1, f"{old:.2f}", f"{cold:.2f}", f"{warm:.2f}", f"{old / cold:.1f}x", f"{old / warm:.1f}x"]
            )
    print(f"\n## Load + validate + tokenize + cache: {train_file}\n")
    headers = ["run", "ancestor s", "ours cold s", "ours warm s", "cold speed-up", "warm speed-up"]
    print(table(headers, rows))


def bench_train(train_file: str, valid_file: str, steps: int) -> None:
    from transformers import Trainer

    from medbot_hf.training import prepare

    rows = []
    for strategy in ("random", "group_by_length"):
        with tempfile.TemporaryDirectory() as tmp:
            argv = [
                "--config", str(ROOT / "recipes/medical_dialogue/config_cpu.yaml"), "--train_file", train_file,
                "--validation_file", valid_file, "--output_dir", tmp, "--max_steps", str(steps),
                "--eval_strategy", "no", "--save_strategy", "no", "--logging_steps", str(steps),
                "--load_best_model_at_end", "false", "--train_sampling_strategy", strategy,
                "--disable_tqdm", "true",
            ]  # fmt: skip
            model_args, data_args, _, training_args = parse_args(FINETUNE_ARGS, argv)
            training_args.include_num_input_tokens_seen = "non_padding"  # the CLI parses this field as a bool
            tokenizer, _, tokenized, model = prepare(model_args, data_args, training_args)
            collate = get_collator(tokenizer)
            trainer = Trainer(model=model, args=training_args, train_dataset=tokenized["train"], data_collator=collate)
            loader = trainer.get_train_dataloader()
            real = padded = 0
            for batch in loader:  # one epoch, no model: the padding this sampler leaves
                real += int(batch["attention_mask"].sum())
                padded += batch["attention_mask"].numel()
            start = time.perf_counter()
            trainer.train()
            elapsed = time.perf_counter() - start
            tokens = trainer.state.num_input_tokens_seen
            rows.append(
                [strategy, steps, f"{tokens / elapsed:,.0f}", f"{100 * (1 - real / padded):.1f}%", f"{elapsed:.1f}"]
            )
    batch = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps
    print(f"\n## Training throughput, CPU recipe ({model_args.config_overrides}; {batch} dialogues/step)\n")
    print(table(["sampling", "steps", "non-pad tokens/s", "padding share (1 epoch)", "seconds"], rows))


def main(args) -> None:
    print(f"Machine: {machine()}")
    if not os.path.exists(args.train_file):
        sys.exit(f"{args.train_file}: not found (the shared corpus lives in ../shared/data/medical_dialogue)")
    if args.part in ("load", "all"):
        bench_load(args.train_file, args.repeats)
    if args.part in ("train", "all"):
        bench_train(args.train_file, args.validation_file, args.steps)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["load", "train", "all"], default="all")
    parser.add_argument("--train_file", default=str(SHARED_TRAIN))
    parser.add_argument("--validation_file", default=str(SHARED_VALID))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    main(parser.parse_args())
