"""Fine-tune GPT-2 on a dialogue corpus with an explicit accelerate loop (medbot_hf/accelerate_loop.py).

    accelerate launch --config_file accelerate_configs/cpu_2proc.yaml recipes/finetune_accelerate.py \
        --config recipes/sample/config_smoke.yaml [--any_field value ...]

It takes the same YAML recipes and flags as recipes/finetune.py and leaves the same output folder, plus
`loss_log.jsonl` (one line per optimizer step). Checkpoints are `accelerate` states in OUTPUT_DIR/checkpoint-N; the
same command run again resumes from the newest complete one. `--nonfinite_loss skip` skips and counts steps whose
loss or gradient norm is inf/NaN instead of stopping.
"""

from __future__ import annotations

import json
import os

from transformers import set_seed

from medbot_hf.accelerate_loop import build_run, load_checkpoint, make_accelerator, save_final_folder, train
from medbot_hf.checkpoints import resolve_resume
from medbot_hf.data import training_collator
from medbot_hf.hub import check_push_possible, push_folder
from medbot_hf.modeling import load_for_inference
from medbot_hf.training import (
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
    accelerator = make_accelerator(training_args)  # first, so that everything below joins the same processes
    deepspeed = accelerator.state.deepspeed_plugin
    if deepspeed is not None:  # its engine clips and updates inside `backward`, before the loop sees the loss
        if training_args.nonfinite_loss == "skip":
            raise ValueError("--nonfinite_loss skip cannot undo DeepSpeed's update; use stop")
        if deepspeed.is_auto("gradient_clipping"):  # accelerate would fill in 1.0, not max_grad_norm
            deepspeed.deepspeed_config["gradient_clipping"] = training_args.max_grad_norm
    setup_logging(training_args)
    if data_args.validate_only:
        stats = validate_corpus(data_args, training_args.seed)
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return stats
    set_seed(training_args.seed)
    if training_args.push_to_hub:  # fail now, not after hours of training
        check_push_possible(training_args.hub_token)
    checkpoint = resolve_resume(training_args, layout="accelerate")
    tokenizer, raw, tokenized, model = prepare(model_args, data_args, training_args, resume_from=checkpoint)
    model.generation_config = build_generation_config(tokenizer, gen_args)
    if accelerator.is_main_process:
        os.makedirs(training_args.output_dir, exist_ok=True)

    run = build_run(accelerator, model, tokenizer, tokenized, training_args, training_collator(tokenizer, data_args))
    if checkpoint:
        load_checkpoint(run, checkpoint)
    train_metrics = train(run)
    eval_metrics = save_final_folder(run, train_metrics)
    if accelerator.is_main_process:
        settings = run_settings(model_args, data_args, gen_args, training_args)
        finish_output_dir(
            tokenizer, training_args.output_dir, run.state.log_history, settings, eval_metrics, raw["train"]
        )
        trained, _ = load_for_inference(training_args.output_dir)  # the saved folder, as a user loads it
        validation, seed = raw["validation"], training_args.seed
        for question, reply in demo_replies(trained, tokenizer, validation, data_args.max_seq_length, seed):
            print(f"\n患者: {question}\n医生 (model): {reply}")
        if training_args.push_to_hub:
            repo = training_args.hub_model_id or os.path.basename(os.path.abspath(training_args.output_dir))
            print(f"Pushed to {push_folder(training_args.output_dir, repo, training_args.hub_private_repo)}")
    accelerator.wait_for_everyone()
    return {**train_metrics, **eval_metrics}


if __name__ == "__main__":
    run_recipe(main)
