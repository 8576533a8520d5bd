"""Knobs are plain dataclasses; this reads them from a command line or from a kfp component's parameters.

A stage's knobs are the fields of one dataclass, each ``field(default=..., metadata={"help": ...})`` as in the
transformers examples' ``HfArgumentParser`` dataclasses. The field's name is the kfp component parameter and the
pipeline parameter; its CLI option is ``--`` and the name with dashes. ``None`` means unset (the help says what
that stands for); lists and dicts are native argparse (``nargs``) and kfp (``list``/``dict``) values, and
``Literal`` types give the choices.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Literal

from trashseg.components.common import checks


def _unwrap(hint: Any) -> Any:
    """``int | None`` -> ``int``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _key_value(value_type: type):
    def parse(text: str) -> tuple[str, Any]:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
        try:
            return key.strip(), value_type(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not {value_type.__name__}") from None

    return parse


def flag_of(name: str) -> str:
    """A field's CLI option: ``lr_backbone`` -> ``--lr-backbone``."""
    return "--" + name.replace("_", "-")


def default_of(field: dataclasses.Field) -> Any:
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One option per field of ``cls``: its help, its default, its type (lists take several values, dicts KEY=VALUE)."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint = _unwrap(hints[field.name])
        default = default_of(field)
        flag = flag_of(field.name)
        shown = "" if default is None else f" (default: {default})"
        options: dict[str, Any] = {"dest": field.name, "default": default, "help": field.metadata["help"] + shown}
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif origin is Literal:
            options["choices"] = list(args)
        elif origin in (list, tuple):
            options.update(nargs="+", type=args[0])
        elif origin is dict:
            options.update(nargs="+", type=_key_value(args[1]), metavar="KEY=VALUE")
        else:
            options["type"] = hint
        parser.add_argument(flag, **options)


def options_of(knobs: Any) -> list[str]:
    """The CLI options that give a knobs dataclass back (``add_arguments``'s forms): how a launcher passes them on."""
    argv = []
    for field in dataclasses.fields(knobs):
        value, flag = getattr(knobs, field.name), flag_of(field.name)
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            argv += [flag, *map(str, value)] if value else []
        elif isinstance(value, dict):
            argv += [flag, *(f"{k}={v}" for k, v in value.items())] if value else []
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def check_choices(knobs: Any) -> None:
    """Every ``Literal`` field holds one of its choices (or None where it is optional): the type is the one list."""
    hints = typing.get_type_hints(type(knobs))
    for field in dataclasses.fields(knobs):
        hint, value = hints[field.name], getattr(knobs, field.name)
        literal = _unwrap(hint)
        if typing.get_origin(literal) is Literal and not (value is None and literal is not hint):
            checks.choice(flag_of(field.name), value, typing.get_args(literal))


def _coerce(value: Any, hint: Any) -> Any:
    """kfp hands ints inside lists and dicts back as floats (50 -> 50.0): give them the field's type again."""
    hint, origin = _unwrap(hint), typing.get_origin(_unwrap(hint))
    if value is None:
        return None
    if origin is dict:
        return {k: _coerce(v, typing.get_args(hint)[1]) for k, v in dict(value).items()}
    if origin in (list, tuple):
        return [_coerce(v, typing.get_args(hint)[0]) for v in value]
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def from_args(cls: type, args: argparse.Namespace) -> Any:
    """The dataclass a parsed command line asks for (a dict option arrives as a list of KEY=VALUE pairs)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        value = getattr(args, field.name)
        if typing.get_origin(_unwrap(hints[field.name])) is dict and isinstance(value, list):
            value = dict(value)
        values[field.name] = value
    return cls(**values)


def from_task(cls: type, parameters: dict[str, Any]) -> Any:
    """The dataclass from a kfp component's parameters (its ``locals()``): every field by its own name."""
    hints = typing.get_type_hints(cls)
    return cls(
        **{f.name: _coerce(parameters[f.name], hints[f.name]) for f in dataclasses.fields(cls) if f.name in parameters}
    )
