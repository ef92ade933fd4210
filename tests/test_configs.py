import glob

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from conftest import ROOT

from medbot_hf.configs import (
    FINETUNE_ARGS,
    DataArguments,
    EvalArguments,
    GenerationArguments,
    IndexArguments,
    MedbotParser,
    MedbotTrainingArguments,
    RerankArguments,
    parse_args,
)


def write_yaml(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_precedence_default_yaml_cli(tmp_path):
    config = write_yaml(tmp_path, "train_file: a.txt\noutput_dir: out\nlearning_rate: 0.01\nmax_seq_length: 99\n")
    model, data, gen, train = parse_args(FINETUNE_ARGS, ["--config", config, "--learning_rate", "0.5"])
    assert train.learning_rate == 0.5  # CLI beats YAML
    assert data.max_seq_length == 99 and data.train_file == "a.txt"  # YAML beats default
    assert data.loss_on == "answers" and gen.top_k is None  # defaults (None: the saved or trained default)
    assert model.model_name_or_path is None and train.output_dir == "out"


def test_unknown_yaml_key_is_an_error(tmp_path, capsys):
    config = write_yaml(tmp_path, "train_file: a.txt\nlearning_rat: 0.01\n")
    with pytest.raises(SystemExit):
        parse_args(FINETUNE_ARGS, ["--config", config])
    assert "unknown key(s) learning_rat" in capsys.readouterr().err


def test_cross_field_checks_name_the_flags(capsys):
    with pytest.raises(SystemExit):
        parse_args(FINETUNE_ARGS, ["--output_dir", "x"])
    assert "give --train_file or --dataset_name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(FINETUNE_ARGS, ["--train_file", "a", "--loss_on", "doctor"])
    assert "invalid choice: 'doctor'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(FINETUNE_ARGS, ["--train_file", "a", "--pad_to_multiple_of", "0"])
    assert "pad_to_multiple_of must be at least 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "recipes" / "*" / "config_*.yaml"))))
def test_every_recipe_parses(path):
    args = ["--config", path] + ([] if "sample" in path else ["--train_file", "t.txt"])
    args += ["--bf16", "false"] if "gpu" in path or "uer" in path else []  # bf16 needs a GPU to parse
    model, data, gen, train = parse_args(FINETUNE_ARGS, args)
    assert train.output_dir.startswith("outputs/") and data.max_seq_length > 0


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "accelerate_configs" / "*.yaml"))))
def test_every_accelerate_config_loads(path):
    config = load_config_from_file(path)
    assert config.num_processes >= 1 and config.distributed_type is not None
    if "cpu" in path:
        assert config.use_cpu and config.mixed_precision == "no"


EVAL_ARGS = (EvalArguments, GenerationArguments, RerankArguments)
REQUIRED = {
    FINETUNE_ARGS: "train_file: a.txt\noutput_dir: out\n",
    EVAL_ARGS: "model_name_or_path: m\ntest_file: t.txt\n",
}
CLOSED_SETS = [(types, action.dest) for types in REQUIRED for action in MedbotParser(types)._actions if action.choices]


@pytest.mark.parametrize("types, name", CLOSED_SETS, ids=[f"{t[0].__name__}.{n}" for t, n in CLOSED_SETS])
def test_every_closed_set_field_is_checked_from_yaml_and_cli(tmp_path, capsys, types, name):
    config = write_yaml(tmp_path, REQUIRED[types] + f"{name}: not-a-choice\n")
    with pytest.raises(SystemExit):
        parse_args(types, ["--config", config])
    assert f"--config {config}: {name} must be one of " in capsys.readouterr().err  # at parse, not deep in training
    config = write_yaml(tmp_path, REQUIRED[types])
    with pytest.raises(SystemExit):
        parse_args(types, ["--config", config, f"--{name}", "not-a-choice"])
    assert f"argument --{name}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda **kw: DataArguments(train_file="a.txt", **kw), "corpus_format"),
        (lambda **kw: DataArguments(train_file="a.txt", **kw), "loss_on"),
        (lambda **kw: DataArguments(train_file="a.txt", **kw), "turn_order"),
        (lambda **kw: EvalArguments(model_name_or_path="m", test_file="t.txt", **kw), "loss_on"),
        (lambda **kw: MedbotTrainingArguments(output_dir="out", **kw), "nonfinite_loss"),
        (lambda **kw: IndexArguments(model_name_or_path="m", corpus="c.txt", **kw), "corpus_format"),
    ],
)
def test_closed_set_fields_are_checked_in_code_too(build, name):
    build()  # the defaults pass
    with pytest.raises(ValueError, match=f"--{name} must be one of .*, got 'not-a-choice'"):
        build(**{name: "not-a-choice"})


GPU_CONFIGS = {  # file: (distributed_type, machines, processes, what else it must say)
    "single_gpu.yaml": ("NO", 1, 1, {}),
    "multi_gpu.yaml": ("MULTI_GPU", 1, 8, {}),
    "multi_node.yaml": ("MULTI_GPU", 2, 16, {"rdzv_backend": "c10d", "same_network": False}),
    "fsdp.yaml": ("FSDP", 1, 8, {}),
    "deepspeed_zero2.yaml": ("DEEPSPEED", 1, 8, {}),
    "deepspeed_zero3.yaml": ("DEEPSPEED", 1, 8, {}),
}


@pytest.mark.parametrize("name", sorted(GPU_CONFIGS))
def test_gpu_accelerate_configs_hold_what_their_names_say(name):
    config = load_config_from_file(str(ROOT / "accelerate_configs" / name))
    kind, machines, processes, extra = GPU_CONFIGS[name]
    assert (config.distributed_type, config.num_machines, config.num_processes) == (kind, machines, processes)
    assert config.mixed_precision == "bf16" and not config.use_cpu
    assert {key: getattr(config, key) for key in extra} == extra
    if name == "multi_node.yaml":
        assert config.main_process_ip and config.machine_rank == 0
    if name == "fsdp.yaml":
        from transformers.models.gpt2.modeling_gpt2 import GPT2Block  # each transformer layer of GPT2LMHeadModel

        fsdp = config.fsdp_config
        assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP" and fsdp["fsdp_version"] == 2
        assert fsdp["fsdp_transformer_layer_cls_to_wrap"] == GPT2Block.__name__
        assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # the Trainer saves model.safetensors from it
    if name.startswith("deepspeed"):
        stage = int(name[len("deepspeed_zero")])
        ds = config.deepspeed_config
        assert ds["zero_stage"] == stage and ds["zero3_init_flag"] == (stage == 3)
        assert ds["gradient_accumulation_steps"] == "auto" and ds["gradient_clipping"] == "auto"  # from the recipe
        assert ds.get("zero3_save_16bit_model", False) == (stage == 3)  # ZeRO-3 gathers the weights to save them
