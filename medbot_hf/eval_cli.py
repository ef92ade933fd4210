"""`medbot-eval`: argument handling and files around :mod:`medbot_hf.evaluation`."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys

from transformers import AutoConfig

from .configs import LOG_FORMAT, DataArguments, EvalArguments, GenerationArguments, RerankArguments, parse_args
from .corpus import CorpusError
from .data import read_split, to_dataset
from .evaluation import evaluate_model, evaluate_retrieval, results_table
from .model_card import write_model_card
from .modeling import load_for_inference
from .reranking import Reranker
from .retrieval import INDEX_DIR, load_model_index

logger = logging.getLogger("medbot_hf.eval")


def _settings(eval_args: EvalArguments, model_dir: str, n_positions: int) -> EvalArguments:
    """`eval_args` with the tokenization fields not given (truncation, `loss_on`, ...) as the model was trained (its
    `medbot_run.json`), else as `DataArguments` defaults them; never longer than `n_positions`."""
    run = {}
    if os.path.exists(os.path.join(model_dir, "medbot_run.json")):
        with open(os.path.join(model_dir, "medbot_run.json"), encoding="utf-8") as f:
            run = json.load(f)
    trained = {}
    for name in ("max_seq_length", "loss_on", "turn_order", "preprocessing_num_workers"):
        default = DataArguments.__dataclass_fields__[name].default
        trained[name] = getattr(eval_args, name) or run.get(name) or default
    trained["max_seq_length"] = min(eval_args.max_seq_length or run.get("max_seq_length") or n_positions, n_positions)
    return dataclasses.replace(eval_args, **trained)


def _dialogues(eval_args: EvalArguments, max_dialogues: int | None, stride: int = 1):
    parsed = read_split(eval_args.test_file, eval_args)
    dialogues = to_dataset(parsed)
    if stride > 1:
        dialogues = dialogues.select(range(0, len(dialogues), stride))
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


def _labels(eval_args: EvalArguments) -> tuple[str, dict[str, str], str | None]:
    """The main column's label, the models to load (label -> path) and the compared column's label."""
    main_model, compare = eval_args.model_name_or_path, eval_args.compare
    main_label = f"retrieval baseline ({main_model}/{INDEX_DIR})" if eval_args.baseline else main_model
    models = {} if eval_args.baseline else {main_model: main_model}
    if compare:
        compare_label = f"{compare} (compare)" if compare in models else compare  # a model against itself
        models[compare_label] = compare
    return main_label, models, compare_label if compare else None


def run(eval_args: EvalArguments, gen_args: GenerationArguments, rerank_args: RerankArguments | None = None) -> dict:
    """Score the model or the baseline (and `--compare`) with the same settings, write the result files, return
    results by column."""
    rerank_args = rerank_args or RerankArguments()
    main_label, models, compare_label = _labels(eval_args)
    loaded = {label: load_for_inference(path, eval_args.device, eval_args.quantize) for label, path in models.items()}
    model_dir = eval_args.model_name_or_path
    n_positions = min(m.config.n_positions for m, _ in loaded.values()) if loaded else _n_positions(model_dir)
    eval_args = _settings(eval_args, model_dir, n_positions)  # now with the run's tokenization
    dialogues, dropped = _dialogues(eval_args, eval_args.max_dialogues, eval_args.dialogue_stride)
    settings = {
        "test_file": eval_args.test_file, "max_seq_length": eval_args.max_seq_length, "loss_on": eval_args.loss_on,
        "max_history_len": eval_args.max_history_len, "seed": eval_args.seed, "batch_size": eval_args.batch_size,
        "generation_overrides": gen_args.overrides(), "dropped": dropped, "dialogue_stride": eval_args.dialogue_stride,
        "rerank": dataclasses.asdict(rerank_args), "quantize": eval_args.quantize,
    }  # fmt: skip
    results, samples = {}, {}
    if eval_args.baseline:
        logger.info("Scoring the retrieval baseline of %s on %d dialogues", model_dir, len(dialogues))
        results[main_label], samples[main_label] = evaluate_retrieval(load_model_index(model_dir), dialogues)
        results[main_label]["settings"] = {**settings, "model": main_label, "baseline": eval_args.baseline}
    reranker = Reranker.from_args(rerank_args, eval_args.device) if rerank_args.num_candidates > 1 else None
    for label, (model, tokenizer) in loaded.items():
        logger.info("Scoring %s on %d dialogues", label, len(dialogues))
        overrides = {**gen_args.overrides(), "num_candidates": rerank_args.num_candidates, "reranker": reranker}
        results[label], samples[label] = evaluate_model(model, tokenizer, dialogues, eval_args, eval_args, overrides)
        results[label]["settings"] = {**settings, "model": models[label]}
    default_dir = os.path.join(model_dir, "eval-retrieval" if eval_args.baseline else "eval")
    _write(eval_args.output_dir or default_dir, results, samples, main_label, compare_label)
    ours = not eval_args.baseline and os.path.exists(os.path.join(model_dir, "medbot_run.json"))
    if eval_args.update_model_card and ours and not eval_args.quantize:
        card = write_model_card(model_dir, {**results[model_dir], "test_file": eval_args.test_file})
        logger.info("Model card %s now shows these scores, on %s", card, eval_args.test_file)
    elif eval_args.update_model_card and eval_args.quantize:
        logger.warning(
            "%s: scored with --quantize int8; the card describes the saved fp32 weights and is left alone", model_dir
        )
    elif eval_args.update_model_card:
        logger.warning("%s: no medbot-hf run of its own here (or a baseline): its card is left alone", model_dir)
    return results


def _n_positions(model_dir: str) -> int:
    return AutoConfig.from_pretrained(model_dir).n_positions


def main(argv: list[str] | None = None) -> None:
    """Entry point of `medbot-eval`."""
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)
    eval_args, gen_args, rerank_args = parse_args((EvalArguments, GenerationArguments, RerankArguments), argv)
    try:
        results = run(eval_args, gen_args, rerank_args)
    except (CorpusError, OSError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(results_table(results))
