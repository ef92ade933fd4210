"""Score a trained model on held-out dialogues (also the console script `medbot-eval`).

    python recipes/eval.py --model_name_or_path outputs/sample-smoke --test_file data/sample/valid.txt \
        [--output_dir EVAL_DIR] [--compare OTHER_MODEL_DIR] [--max_dialogues 200]

Writes eval_results.json, eval_results.md and samples.jsonl to --output_dir (default MODEL/eval). Named `eval.py`,
not `evaluate.py`, which would shadow the `evaluate` package.
"""

from medbot_hf.eval_cli import main

if __name__ == "__main__":
    main()
