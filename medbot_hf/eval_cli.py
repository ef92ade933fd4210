"""`medbot-eval`: argument handling and files around :mod:`medbot_hf.evaluation`."""

from __future__ import annotations

import json
import logging
import os
import sys

from .configs import DataArguments, EvalArguments, GenerationArguments, parse_args
from .corpus import CorpusError
from .data import read_split, to_dataset
from .evaluation import evaluate_model, results_table
from .model_card import write_model_card
from .modeling import load_for_inference

logger = logging.getLogger("medbot_hf.eval")


def _settings(eval_args: EvalArguments, model_dir: str, n_positions: int) -> DataArguments:
    """Truncation and `loss_on` as the model was trained (from its `medbot_run.json`) unless given."""
    run = {}
    if os.path.exists(os.path.join(model_dir, "medbot_run.json")):
        with open(os.path.join(model_dir, "medbot_run.json"), encoding="utf-8") as f:
            run = json.load(f)
    return DataArguments(
        train_file=eval_args.test_file, corpus_format=eval_args.corpus_format,
        question_column=eval_args.question_column, answer_column=eval_args.answer_column,
        messages_column=eval_args.messages_column,
        max_seq_length=min(eval_args.max_seq_length or run.get("max_seq_length") or n_positions, n_positions),
        loss_on=eval_args.loss_on or run.get("loss_on") or "answers",
    )  # fmt: skip


def _dialogues(data_args: DataArguments, max_dialogues: int | None):
    parsed = read_split(data_args.train_file, data_args)
    dialogues = to_dataset(parsed)
    if max_dialogues is not None:
        dialogues = dialogues.select(range(min(max_dialogues, len(dialogues))))
    return dialogues, dict(parsed.dropped)


def _write(output_dir: str, results: dict, samples: dict, main_model: str, compare: str | None) -> None:
    os.makedirs(output_dir, exist_ok=True)
    main_results = {**results[main_model], **({"compare": results[compare]} if compare else {})}
    with open(os.path.join(output_dir, "eval_results.json"), "w", encoding="utf-8") as f:
        json.dump(main_results, f, indent=2, ensure_ascii=False)
    with open(os.path.join(output_dir, "eval_results.md"), "w", encoding="utf-8") as f:
        f.write(results_table(results) + "\n")
    with open(os.path.join(output_dir, "samples.jsonl"), "w", encoding="utf-8") as f:
        for path, rows in samples.items():
            f.writelines(json.dumps({"model": path, **row}, ensure_ascii=False) + "\n" for row in rows)


def run(eval_args: EvalArguments, gen_args: GenerationArguments) -> dict:
    """Score the model (and `--compare`) with the same settings, write the result files, return results by model."""
    main_model, compare = eval_args.model_name_or_path, eval_args.compare
    if compare == main_model:
        compare = f"{compare} (compare)"  # a model against itself: two columns all the same, by determinism
    paths = {p: p.removesuffix(" (compare)") for p in (main_model, compare) if p}
    loaded = {label: load_for_inference(path, eval_args.device) for label, path in paths.items()}
    n_positions = min(model.config.n_positions for model, _ in loaded.values())
    data_args = _settings(eval_args, eval_args.model_name_or_path, n_positions)
    dialogues, dropped = _dialogues(data_args, eval_args.max_dialogues)
    settings = {
        "test_file": eval_args.test_file, "max_seq_length": data_args.max_seq_length, "loss_on": data_args.loss_on,
        "max_history_len": eval_args.max_history_len, "seed": eval_args.seed, "batch_size": eval_args.batch_size,
        "generation_overrides": gen_args.overrides(), "dropped": dropped,
    }  # fmt: skip
    results, samples = {}, {}
    for path, (model, tokenizer) in loaded.items():
        logger.info("Scoring %s on %d dialogues", path, len(dialogues))
        overrides = gen_args.overrides()
        results[path], samples[path] = evaluate_model(model, tokenizer, dialogues, data_args, eval_args, overrides)
        results[path]["settings"] = {**settings, "model": path}
    output_dir = eval_args.output_dir or os.path.join(eval_args.model_name_or_path, "eval")
    _write(output_dir, results, samples, main_model, compare)
    model_dir = eval_args.model_name_or_path
    if eval_args.update_model_card and os.path.exists(os.path.join(model_dir, "medbot_run.json")):
        write_model_card(model_dir, {**results[model_dir], "split": os.path.basename(eval_args.test_file)})
    return results


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-eval`."""
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", level=logging.INFO)
    eval_args, gen_args = parse_args((EvalArguments, GenerationArguments), argv)
    try:
        results = run(eval_args, gen_args)
    except (CorpusError, OSError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(results_table(results))
