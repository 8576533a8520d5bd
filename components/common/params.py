"""One definition per knob: a dataclass field with its default, help, command-line flag and kfp encoding.

Why: a stage's knobs used to be written four or five times (the parameters
dataclass, the CLI, the kfp component, each pipeline, the local profiles) and
the copies drifted. Here the dataclass is the one source: ``add_arguments``
builds the CLI options from it (the ``HfArgumentParser`` idea of the transformers
examples, without its type guessing), ``from_args`` reads them back, and
``from_kfp`` decodes a component's parameters. kfp parameters cannot be None,
so "unset, take the preset's" travels as a sentinel (``0``, ``-1`` or ``""``)
that ``kfp_default`` names; tests/test_params.py checks every component and
pipeline default against these fields, so a copy that drifts fails a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Callable

_NONE = object()


def knob(default: Any, help: str, *, flag: str | None = None, choices: tuple[str, ...] | None = None,
         parse: Callable[[str], Any] | None = None, to_text: Callable[[Any], str] | None = None, kfp: str | None | bool = True,
         unset: Any = _NONE, default_factory: Callable[[], Any] | None = None, none_means: str = "the preset's") -> Any:
    """A dataclass field that knows how it appears on the command line and in kfp.

    ``flag``: the option (default ``--`` + the name with dashes; a bool defaulting to True gets ``--no-NAME``).
    ``parse``: turns the option's text into the value (e.g. a comma list into a tuple); ``to_text`` the reverse, for
    the default shown in ``--help`` and the component's default (tuples of text are joined with commas without it).
    ``kfp``: True = a component parameter of the same name, a string = its name there, False = not a component
    parameter (how to run on one machine: device, workers, ...).
    ``unset``: the kfp value standing for ``None`` (default ``0`` for numbers, ``""`` for strings).
    ``none_means``: what a ``None`` default stands for, as ``--help`` shows it.
    """
    metadata = {"help": help, "flag": flag, "choices": choices, "parse": parse, "to_text": to_text, "kfp": kfp, "unset": unset,
                "none_means": none_means}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _base_type(hint: Any) -> type:
    """int | None -> int; tuple[str, ...] -> tuple."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and args:
        return _base_type(args[0])
    return typing.get_origin(hint) or hint


def flag_of(field: dataclasses.Field) -> str:
    """The field's command-line option."""
    if field.metadata.get("flag"):
        return field.metadata["flag"]
    if field.default is True:
        return "--no-" + field.name.replace("_", "-")
    return "--" + field.name.replace("_", "-")


def default_of(field: dataclasses.Field) -> Any:
    """The field's default value (a fresh one for mutable defaults)."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One option per field of ``cls``, with the field's help and default (None shows as what it means)."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        meta, kind, default = field.metadata, _base_type(hints[field.name]), default_of(field)
        shown = meta.get("none_means", "the preset's") if default is None else (_as_text(field, default) or "none") if meta.get("parse") else default
        if kind is bool:
            parser.add_argument(flag_of(field), dest=field.name, action="store_false" if default else "store_true",
                                help=meta["help"])
            continue
        options: dict[str, Any] = {"dest": field.name, "help": f"{meta['help']} (default: {shown})"}
        if meta.get("parse"):
            options.update(type=str, default=None)
        else:
            options.update(type=kind, default=default)
        if meta.get("choices"):
            options["choices"] = list(meta["choices"])
        parser.add_argument(flag_of(field), **options)


def from_args(cls: type, args: argparse.Namespace) -> Any:
    """The dataclass a parsed command line asks for."""
    values = {}
    for field in dataclasses.fields(cls):
        value = getattr(args, field.name)
        parse = field.metadata.get("parse")
        if parse is not None:
            value = parse(value) if value is not None else default_of(field)
        values[field.name] = value
    return cls(**values)


def kfp_name(field: dataclasses.Field) -> str | None:
    kfp = field.metadata.get("kfp", True)
    return None if kfp is False else field.name if kfp is True else kfp


def _as_text(field: dataclasses.Field, value: Any) -> str:
    to_text = field.metadata.get("to_text")
    if to_text is not None:
        return to_text(value)
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def kfp_default(cls: type, field: dataclasses.Field) -> Any:
    """The component parameter's default that stands for the field's default."""
    default = default_of(field)
    if default is None:
        unset = field.metadata.get("unset", _NONE)
        if unset is not _NONE:
            return unset
        return "" if _base_type(typing.get_type_hints(cls)[field.name]) is str else 0
    if field.metadata.get("parse") is not None:
        return _as_text(field, default)
    return default


def kfp_fields(cls: type) -> dict[str, dataclasses.Field]:
    """Component parameter name -> field, for the fields a component takes."""
    return {name: field for field in dataclasses.fields(cls) if (name := kfp_name(field)) is not None}


def from_kfp(cls: type, **parameters: Any) -> Any:
    """The dataclass from a component's parameters: each field's unset sentinel becomes None, text is parsed."""
    values = {}
    for name, field in kfp_fields(cls).items():
        if name not in parameters:
            continue
        value = parameters[name]
        if default_of(field) is None and value == kfp_default(cls, field):  # the field's unset sentinel
            value = None
        elif field.metadata.get("parse") is not None:
            value = field.metadata["parse"](value)
        values[field.name] = value
    return cls(**values)
