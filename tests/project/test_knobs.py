"""A knob is written once, as a field of its stage's dataclass: the CLI option, the component parameter and the pipeline
parameter are that field under its one name. Everything here is derived from the dataclasses, the components' own
bodies and the pipelines' stage lists; no name is listed by hand."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import typing
from pathlib import Path

import pytest
import yaml

from trashseg.components.common.params import add_arguments, from_args, from_task, options_of
from trashseg.pipelines.knobs import kfp_type
from trashseg.pipelines.topology import Topology

REPO = Path(__file__).resolve().parents[2]
KNOB_CLASSES = [
    obj
    for path in sorted((REPO / "components").glob("*/params.py"))
    for obj in vars(importlib.import_module(f"trashseg.components.{path.parent.name}.params")).values()
    if dataclasses.is_dataclass(obj) and obj.__module__.endswith(f"{path.parent.name}.params")
]


def _default(field: dataclasses.Field):
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def _components() -> list[tuple[object, type]]:
    """Every component whose body reads a knobs dataclass with ``from_task(CLASS, locals())``, with that class."""
    found = []
    for path in sorted((REPO / "components").glob("*/component.py")):
        module = importlib.import_module(f"trashseg.components.{path.parent.name}.component")
        for component in (
            v
            for v in vars(module).values()
            if hasattr(v, "python_func") and v.python_func.__module__ == module.__name__
        ):
            for name in re.findall(r"from_task\((\w+), locals\(\)\)", inspect.getsource(component.python_func)):
                found.append((component, next(c for c in KNOB_CLASSES if c.__name__ == name)))
    return found


COMPONENTS = _components()


def test_every_stage_with_knobs_is_found():
    assert len(KNOB_CLASSES) >= 10 and len({c for _, c in COMPONENTS}) >= 10
    assert {"TrainParams", "InferParams", "AugmentParams", "EnsembleParams", "SubmitParams"} <= {
        c.__name__ for _, c in COMPONENTS
    }


@pytest.mark.parametrize("component, knobs", COMPONENTS, ids=[f"{c.name}-{k.__name__}" for c, k in COMPONENTS])
def test_a_component_takes_each_knob_by_its_name_type_and_default(component, knobs):
    signature = inspect.signature(component.python_func).parameters
    hints = typing.get_type_hints(knobs)
    for field in dataclasses.fields(knobs):
        assert field.name in signature, f"{component.name} lacks {field.name}"
        parameter = signature[field.name]
        assert parameter.default == _default(field), (component.name, field.name)
        assert kfp_type(hints[field.name]) == parameter.annotation, (component.name, field.name)
    # the component's defaults read back as the dataclass's defaults
    assert from_task(knobs, {name: p.default for name, p in signature.items()}) == knobs()


def _changed(knobs: type):
    """An instance whose every field differs from its default (the values need not pass ``check``)."""
    values = {}
    for field in dataclasses.fields(knobs):
        hint, default = typing.get_type_hints(knobs)[field.name], _default(field)
        inner = (
            [a for a in typing.get_args(hint) if a is not type(None)]
            if typing.get_origin(hint) in (typing.Union, __import__("types").UnionType)
            else [hint]
        )
        base = inner[0]
        origin = typing.get_origin(base)
        if base is bool:
            values[field.name] = not default
        elif origin is typing.Literal:
            values[field.name] = next(choice for choice in typing.get_args(base) if choice != default)
        elif origin in (list, tuple):
            values[field.name] = [typing.get_args(base)[0](7), typing.get_args(base)[0](9)]
        elif origin is dict:
            values[field.name] = {"Metal": 7}
        elif base is str:
            values[field.name] = f"{default}-other" if default else "other"
        else:
            values[field.name] = base((default or 1) * 3 + 1)
    changed = knobs(**values)
    assert all(getattr(changed, f.name) != _default(f) for f in dataclasses.fields(knobs))
    return changed


@pytest.mark.parametrize("knobs", KNOB_CLASSES, ids=lambda c: c.__name__)
def test_the_cli_options_are_the_fields(knobs):
    """No option: the defaults; every option: each value in its own field; the option is the field's name."""
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser, knobs)
    assert from_args(knobs, parser.parse_args([])) == knobs()
    changed = _changed(knobs)
    assert from_args(knobs, parser.parse_args(options_of(changed))) == changed
    options = {a.dest: a.option_strings for a in parser._actions if a.dest != "help"}
    for field in dataclasses.fields(knobs):
        assert "--" + field.name.replace("_", "-") in options[field.name]


def test_each_stage_cli_offers_its_dataclass():
    from trashseg.components.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    for path in sorted((REPO / "components").glob("*/cli.py")):
        used = re.findall(r"add_arguments\([^,]+, (\w+)\)", path.read_text())
        for name in used:  # some command of that module offers every field of the class as an option
            knobs = next(c for c in KNOB_CLASSES + _machines() if c.__name__ == name)
            fields = {f.name for f in dataclasses.fields(knobs)}
            assert any(fields <= {a.dest for a in p._actions} for p in commands.values()), (path, name)
    assert "--preset" in commands["train"].format_help() and "--model " not in commands["train"].format_help()


def _machines() -> list[type]:
    from trashseg.components.common.machine import Machine
    from trashseg.components.train.params import TrainMachine

    return [Machine, TrainMachine]


def _rule(stages, shared) -> dict[tuple[str, str], str]:
    """The naming rule, written again here: a field's own name, or STAGE_FIELD where two stages have it and do not
    share it."""
    counts: dict[str, int] = {}
    for stage in stages:
        for field in stage.fields():
            counts[field.name] = counts.get(field.name, 0) + 1
    return {
        (stage.name, f.name): f.name if counts[f.name] == 1 or f.name in shared else f"{stage.name}_{f.name}"
        for stage in stages
        for f in stage.fields()
    }


@pytest.mark.parametrize("name", ["trashseg", "trashseg-cv"])
@pytest.mark.parametrize(
    "topology",
    [Topology(), Topology(checkpoint_claim="ck", train_nodes=2, pretrained_import=True, deploy=True)],
    ids=["default", "claim-nodes-import-deploy"],
)
def test_pipeline_parameters_are_the_knobs_by_the_rule(name, topology, tmp_path):
    """Read from the compiled YAML: each knob's parameter, type and default; every task gets it from that parameter."""
    from kfp import compiler

    from trashseg.pipelines.compile import build, module_of

    compiler.Compiler().compile(build(name, topology), str(tmp_path / "p.yaml"))
    spec = next(yaml.safe_load_all((tmp_path / "p.yaml").read_text()))
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    knobs = module_of(name).knobs_for(topology)
    names = _rule(knobs.stages.values(), knobs.shared)
    kinds = {
        str: "STRING",
        int: "NUMBER_INTEGER",
        float: "NUMBER_DOUBLE",
        bool: "BOOLEAN",
        list: "LIST",
        dict: "STRUCT",
    }
    checked = set()
    for stage in knobs.stages.values():  # a shared parameter is described by the first stage that has the field
        hints = typing.get_type_hints(stage.params)
        for field in stage.fields():
            if names[(stage.name, field.name)] in checked:
                continue
            checked.add(names[(stage.name, field.name)])
            parameter = inputs[names[(stage.name, field.name)]]
            default = stage.defaults.get(field.name, _default(field))
            hint = kfp_type(hints[field.name])
            assert (
                parameter["parameterType"]
                == kinds[typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Union else hint]
            )
            if default is None:  # unset: an optional parameter without a value (the UI shows it empty)
                assert "defaultValue" not in parameter and parameter["isOptional"]
            else:
                assert parameter["defaultValue"] == default, (name, field.name)
            assert parameter["description"] == field.metadata["help"]
    # every knob parameter reaches the tasks that take it; nothing else is a knob parameter
    knob_parameters = set(names.values())
    tasks = dict(spec["root"]["dag"]["tasks"])
    for component in spec["components"].values():
        tasks.update(component.get("dag", {}).get("tasks", {}))
    fed, field_names = set(), {f for (_, f) in names}
    for task in tasks.values():
        for argument, value in task.get("inputs", {}).get("parameters", {}).items():
            if "--" in argument:  # a sub-DAG's plumbing (kfp's channel names), not a component's argument
                continue
            source = value.get("componentInputParameter", "").split("--")[-1]  # inside a sub-DAG, kfp prefixes the name
            if argument in field_names and source:  # a knob argument comes from the parameter of its own name
                assert source in {k for (_, f), k in names.items() if f == argument}, (argument, source)
            if any(k == source and f == argument for (_, f), k in names.items()):
                fed.add(source)
    assert fed == knob_parameters


def test_local_profiles_name_only_what_differs_from_the_pipelines():
    from trashseg.pipelines.compile import build
    from trashseg.pipelines.run_local import CV_TINY_PROFILE, TINY_PROFILE

    for profile, name in ((TINY_PROFILE, "trashseg"), (CV_TINY_PROFILE, "trashseg-cv")):
        inputs = build(name).component_spec.inputs
        for key, value in profile.items():
            assert key in inputs, (name, key)
            assert inputs[key].default != value, f"{name}: the profile restates the default {key}={value!r}"


def test_kfp_floats_in_lists_and_dicts_come_back_as_the_fields_types():
    from trashseg.components.augment.params import AugmentParams

    params = from_task(AugmentParams, {"paste_counts": {"Battery": 8.0}, "paste_scale": [0.5, 1.5], "seed": 3})
    assert (
        params.paste_counts == {"Battery": 8} and isinstance(params.paste_counts["Battery"], int) and params.seed == 3
    )
