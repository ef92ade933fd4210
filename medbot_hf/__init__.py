"""medbot-hf: train, evaluate and serve a Chinese medical consultation chatbot on GPT-2, the Hugging Face way.

Modules: `corpus` (read and validate corpora), `chat_format` (the one `[CLS] q [SEP] a [SEP]` format), `data`
(datasets, cache, collator), `modeling` (tokenizer and GPT-2), `checkpoints` (find, check, rotate, resume),
`training` (recipe glue), `generation` (replies).
Nothing is imported here, so `import medbot_hf` is instant.
"""

__version__ = "0.1.0"
