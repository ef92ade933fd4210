"""Fine-tune GPT-2 on a dialogue corpus with the HF Trainer.

    accelerate launch --config_file accelerate_configs/cpu.yaml recipes/finetune.py \
        --config recipes/sample/config_smoke.yaml [--any_field value ...]

`python recipes/finetune.py --config ...` works too. Flags override the YAML; see `--help` for every field.
"""

from __future__ import annotations

import json

from transformers import Trainer, set_seed

from medbot_hf.checkpoints import resolve_resume
from medbot_hf.data import training_collator
from medbot_hf.evaluation import compute_metrics, label_token_sums
from medbot_hf.hub import check_push_possible, push_folder
from medbot_hf.training import (
    NonFiniteLossCallback,
    build_generation_config,
    demo_replies,
    finish_output_dir,
    prepare,
    run_recipe,
    run_settings,
    setup_logging,
    validate_corpus,
)


def main(model_args, data_args, gen_args, training_args) -> dict:
    setup_logging(training_args)
    if data_args.validate_only:
        stats = validate_corpus(data_args, training_args.seed)
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return stats
    if training_args.nonfinite_loss == "skip":  # the Trainer cannot skip an update from a callback
        raise ValueError("--nonfinite_loss skip needs recipes/finetune_accelerate.py; this recipe can only stop")
    set_seed(training_args.seed)
    if training_args.push_to_hub:  # fail now, not after hours of training
        check_push_possible(training_args.hub_token)
    checkpoint = resolve_resume(training_args)
    tokenizer, raw, tokenized, model = prepare(model_args, data_args, training_args, resume_from=checkpoint)
    model.generation_config = build_generation_config(tokenizer, gen_args)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=training_collator(tokenizer, data_args),
        compute_metrics=compute_metrics,
        preprocess_logits_for_metrics=label_token_sums,
        callbacks=[NonFiniteLossCallback()],
    )
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model()  # on every rank: the library synchronises inside
    trainer.save_metrics("train", train_result.metrics)
    eval_metrics = trainer.evaluate()
    trainer.save_metrics("eval", eval_metrics)  # also merged into all_results.json
    metrics = {**train_result.metrics, **eval_metrics}
    if trainer.is_world_process_zero():
        trainer.save_state()
        run = run_settings(model_args, data_args, gen_args, training_args)
        finish_output_dir(
            tokenizer, training_args.output_dir, trainer.state.log_history, run, eval_metrics, raw["train"]
        )
        validation, seed = raw["validation"], training_args.seed
        for question, reply in demo_replies(trainer.model, tokenizer, validation, data_args.max_seq_length, seed):
            print(f"\n患者: {question}\n医生 (model): {reply}")
        if training_args.push_to_hub:  # our own final push: Trainer.push_to_hub would replace the model card
            if trainer.push_in_progress is not None:
                trainer.push_in_progress.wait_until_done()
            url = push_folder(training_args.output_dir, trainer.hub_model_id, training_args.hub_private_repo)
            print(f"Pushed to {url}")
    return metrics


if __name__ == "__main__":
    run_recipe(main)
