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

from medbot_hf.accelerate_loop import build_run, load_checkpoint, make_accelerator, save_final_folder, train
from medbot_hf.configs import FINETUNE_ARGS, MedbotParser
from medbot_hf.data import training_collator
from medbot_hf.training import exits_in_one_line, finish_run, start_run


def main(model_args, data_args, gen_args, training_args) -> dict:
    accelerator = make_accelerator(training_args)  # first, so that everything below joins the same processes
    deepspeed = accelerator.state.deepspeed_plugin
    if deepspeed is not None:  # its engine clips and updates inside `backward`, before the loop sees the loss
        if training_args.nonfinite_loss == "skip":
            raise ValueError("--nonfinite_loss skip cannot undo DeepSpeed's update; use stop")
        if deepspeed.is_auto("gradient_clipping"):  # accelerate would fill in 1.0, not max_grad_norm
            deepspeed.deepspeed_config["gradient_clipping"] = training_args.max_grad_norm
    start = start_run(model_args, data_args, gen_args, training_args, layout="accelerate")
    if data_args.validate_only:
        print(json.dumps(start.stats, ensure_ascii=False, indent=2))
        return start.stats
    if start.finished:  # the same command on a finished run: nothing to do
        accelerator.print(start.finished)
        return {}
    if accelerator.is_main_process:
        os.makedirs(training_args.output_dir, exist_ok=True)

    collator = training_collator(start.tokenizer, data_args)
    run = build_run(accelerator, start.model, start.tokenizer, start.tokenized, training_args, collator)
    if start.checkpoint:
        load_checkpoint(run, start.checkpoint)
    train_metrics = train(run)
    eval_metrics = save_final_folder(run, train_metrics)
    if accelerator.is_main_process:
        end = finish_run(start, run.state.log_history, eval_metrics)
        for question, reply in end.demo:
            print(f"\n患者: {question}\n医生 (model): {reply}")
        if end.pushed_to:
            print(f"Pushed to {end.pushed_to}")
    accelerator.wait_for_everyone()
    return {**train_metrics, **eval_metrics}


def make_parser() -> MedbotParser:
    return MedbotParser(FINETUNE_ARGS)


if __name__ == "__main__":
    args = make_parser().parse_args_and_config()
    with exits_in_one_line(args[-1], layout="accelerate"):  # a bad file, flag or step, Ctrl-C, SIGTERM: one line
        main(*args)
