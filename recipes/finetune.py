"""Fine-tune GPT-2 on a dialogue corpus with the HF Trainer.

    accelerate launch --config_file accelerate_configs/cpu.yaml recipes/finetune.py \
        --config recipes/sample/config_smoke.yaml [--any_field value ...]

`python recipes/finetune.py --config ...` works too. Flags override the YAML; see `--help` for every field.
"""

from __future__ import annotations

import json

from medbot_hf.configs import FINETUNE_ARGS, MedbotParser
from medbot_hf.data import training_collator
from medbot_hf.evaluation import compute_metrics, label_token_sums
from medbot_hf.training import MedbotTrainer, NonFiniteLossCallback, exits_in_one_line, finish_run, start_run


def main(model_args, data_args, gen_args, training_args) -> dict:
    if training_args.nonfinite_loss == "skip":  # the Trainer cannot skip an update from a callback
        raise ValueError("--nonfinite_loss skip needs recipes/finetune_accelerate.py; this recipe can only stop")
    start = start_run(model_args, data_args, gen_args, training_args, layout="trainer")
    if data_args.validate_only:
        print(json.dumps(start.stats, ensure_ascii=False, indent=2))
        return start.stats
    if start.finished:  # the same command on a finished run: nothing to do
        print(start.finished)
        return {}

    trainer = MedbotTrainer(
        model=start.model,
        args=training_args,
        train_dataset=start.tokenized["train"],
        eval_dataset=start.tokenized["validation"],
        processing_class=start.tokenizer,
        data_collator=training_collator(start.tokenizer, data_args),
        compute_metrics=compute_metrics,
        preprocess_logits_for_metrics=label_token_sums,
        callbacks=[NonFiniteLossCallback()],
    )
    train_result = trainer.train(resume_from_checkpoint=start.checkpoint)
    trainer.save_model()  # on every rank: the library synchronises inside
    trainer.save_metrics("train", train_result.metrics)
    eval_metrics = trainer.evaluate()
    trainer.save_metrics("eval", eval_metrics)  # also merged into all_results.json
    if trainer.is_world_process_zero():
        trainer.save_state()
        if training_args.push_to_hub and trainer.push_in_progress is not None:  # the Trainer's checkpoint pushes
            trainer.push_in_progress.wait_until_done()  # then ours, which replaces its model card
        end = finish_run(start, trainer.state.log_history, eval_metrics)
        for question, reply in end.demo:
            print(f"\n患者: {question}\n医生 (model): {reply}")
        if end.pushed_to:
            print(f"Pushed to {end.pushed_to}")
    return {**train_result.metrics, **eval_metrics}


def make_parser() -> MedbotParser:
    return MedbotParser(FINETUNE_ARGS)


if __name__ == "__main__":
    args = make_parser().parse_args_and_config()
    with exits_in_one_line(args[-1], layout="trainer"):  # a bad file, flag or step, Ctrl-C, SIGTERM: one line
        main(*args)
