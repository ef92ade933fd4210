"""Chat in the terminal with a trained folder or a hub model.

    python recipes/chat.py --model_name_or_path outputs/sample-smoke [--temperature 0.8 --top_k 8 --seed 1]

Same as the console script `medbot-chat`. Replies stream; /reset, /history, /help, /quit; Ctrl-C interrupts a reply
and Ctrl-D exits. With stdin piped it answers one line per input line. Flags: `--help`.
"""

from medbot_hf.chat_cli import main

if __name__ == "__main__":
    main()
