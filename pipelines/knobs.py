"""A pipeline's parameters, made from its stages' knobs dataclasses and named by one rule.

Why: a knob is written once, as a field of its stage's dataclass (``TrainParams.lr_backbone``); the pipeline's
parameter of the same name, its type, its default and its description in the Kubeflow UI all come from that field.
The rule: a parameter takes the field's name, unless two of the pipeline's stages have a field of that name, in
which case each becomes ``<stage>_<field>`` (``split_seed``, ``train_seed``); a field the pipeline shares between
stages (``fold``) is one parameter, and a field the pipeline sets itself (``save_probs``) is none.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional

from kfp import dsl

from trashseg.components.common.params import default_of


@dataclass(frozen=True)
class Stage:
    """One stage's knobs in a pipeline: its name (the prefix of clashing fields), its dataclass, and what the pipeline
    decides for it: fields it sets itself (``wired``) and defaults that differ in this pipeline (``defaults``)."""

    name: str
    params: type
    wired: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(self.params) if f.name not in self.wired]


def kfp_type(hint: Any) -> Any:
    """The kfp parameter type of a field's type: Literal -> str, list[...] -> list, X | None -> Optional[X]."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return Optional[kfp_type(inner)]
    origin = typing.get_origin(hint)
    if origin is Literal:
        return type(typing.get_args(hint)[0])
    return {list: list, tuple: list, dict: dict}.get(origin, hint)


class Knobs:
    """The knob parameters of one pipeline's stages."""

    def __init__(self, *stages: Stage, shared: tuple[str, ...] = ()):
        self.stages = {stage.name: stage for stage in stages}
        self.shared = shared
        counts: dict[str, int] = {}
        for stage in stages:
            for f in stage.fields():
                counts[f.name] = counts.get(f.name, 0) + 1
        self._clashing = {name for name, count in counts.items() if count > 1 and name not in shared}

    def name(self, stage: str, field_name: str) -> str:
        """The rule: the field's own name, or ``<stage>_<field>`` where two stages have it and do not share it."""
        return f"{stage}_{field_name}" if field_name in self._clashing else field_name

    def parameters(self) -> list[tuple[str, Any, Any, str]]:
        """(name, kfp type, default, help) of every knob parameter, each shared one once, in stage order."""
        seen, out = set(), []
        for stage in self.stages.values():
            hints = typing.get_type_hints(stage.params)
            for f in stage.fields():
                name = self.name(stage.name, f.name)
                if name in seen:
                    continue
                seen.add(name)
                default = stage.defaults.get(f.name, default_of(f))
                out.append((name, kfp_type(hints[f.name]), default, f.metadata["help"]))
        return out

    def of(self, stage: str, values: dict[str, Any]) -> dict[str, Any]:
        """The component's keyword arguments for ``stage``: each field from its pipeline parameter."""
        return {f.name: values[self.name(stage, f.name)] for f in self.stages[stage].fields()}


def pipeline(
    name: str, description: str, inputs: list[tuple[str, Any, Any, str]], body: Callable[[dict[str, Any]], None]
) -> Any:
    """A ``dsl.pipeline`` whose parameters are ``inputs`` (name, type, default or ``inspect.Parameter.empty``, help).

    kfp reads a pipeline's parameters from its function's signature and their descriptions from its docstring's Args,
    so the function is given both; ``body`` receives the parameters as one dict.
    """
    names = [entry[0] for entry in inputs]

    def run(*args: Any) -> None:
        body(dict(zip(names, args)))

    run.__signature__ = inspect.Signature(
        [
            inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=t, default=d)
            for n, t, d, _ in inputs
        ]
    )
    run.__name__ = name.replace("-", "_")
    run.__doc__ = description + "\n\nArgs:\n" + "\n".join(f"    {n}: {h}" for n, _, _, h in inputs) + "\n"
    return dsl.pipeline(name=name, description=description)(run)
