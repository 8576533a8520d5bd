"""The ``exported-model`` contract: a model artifact's network as an ONNX graph, with the card that says how to feed it.

Layout::

    manifest.json          contract "exported-model"; extra: format, family, preset, source_model_hash
    model.onnx             the graph: input ``pixel_values`` float32 (N, 3, S, S), RGB, scaled to [0, 1] then
                           (x - mean) / std; outputs the network's raw logits (``logits`` (N, C, h, w), or
                           ``class_queries_logits`` (N, Q, C+1) and ``masks_queries_logits`` (N, Q, h, w))
    trashseg_export.json   card: family, preset, classes, image size, mean/std, input and outputs, how the outputs
                           become class probabilities, the source model's content hash, the exporter and versions,
                           and the export's own check (label agreement with the torch model, largest logit difference)

Anything that reads the card can use the graph without this project: resize the photo to S x S (bilinear),
normalise, run, turn the outputs into probabilities as ``postprocess`` says, resize those to the photo's size,
argmax. ``trashseg infer`` and ``trashseg serve`` do exactly that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trashseg.data_contracts.artifact import MANIFEST_NAME, ArtifactView, Manifest, read_manifest, write_manifest
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.model import CONTRACT as MODEL_CONTRACT
from trashseg.data_contracts.model import ModelArtifact

CONTRACT = "exported-model"
VERSION = 1
GRAPH_FILE = "model.onnx"
CARD_FILE = "trashseg_export.json"
INPUT_NAME = "pixel_values"
MIN_AGREEMENT = 0.99  # an export whose labels agree with its torch model on fewer pixels is not written


def write_export_manifest(directory: Path, card: dict[str, Any], producer: dict[str, Any]) -> Manifest:
    """Write the card beside the graph, then the manifest over both."""
    directory = Path(directory)
    (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    manifest = Manifest(
        contract=CONTRACT,
        version=VERSION,
        rows={"classes": len(card["classes"])},
        files={GRAPH_FILE: "", CARD_FILE: ""},
        producer=producer,
        extra={
            "format": card["format"],
            "family": card["family"],
            "preset": card["preset"],
            "source_model_hash": card["source_model"]["content_hash"],
        },
    )
    return write_manifest(directory, manifest)


class ExportedModel(ArtifactView):
    """An opened export: the same description a ModelArtifact gives (classes, family, preset, size, mean/std)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, CONTRACT, (VERSION,))
        for name in (GRAPH_FILE, CARD_FILE):
            if name not in self.manifest.files:
                raise ContractError(self.path / name, "exported-model artifact lacks this file")
        card_path = self.path / CARD_FILE
        try:
            self.card = json.loads(card_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ContractError(card_path, f"unreadable card ({err})") from err
        self.classes = _field(card_path, "classes", lambda: ClassTable.from_records(self.card["classes"]))
        self.family = _field(card_path, "family", lambda: _text(self.card["family"]))
        self.preset = _field(card_path, "preset", lambda: _text(self.card["preset"]))
        self.image_size = _field(card_path, "image_size", lambda: _size(self.card["image_size"]))
        self.mean = _field(card_path, "normalisation", lambda: _triple(self.card["normalisation"]["mean"]))
        self.std = _field(card_path, "normalisation", lambda: _triple(self.card["normalisation"]["std"], positive=True))
        self.input_name = _field(card_path, "input", lambda: _text(self.card["input"]["name"]))
        self.output_names = _field(
            card_path, "outputs", lambda: tuple(_text(o["name"]) for o in self.card["outputs"]) or _fail()
        )
        self.source_model_hash = _field(
            card_path, "source_model", lambda: _text(self.card["source_model"]["content_hash"])
        )

    @property
    def graph(self) -> Path:
        return self.path / GRAPH_FILE


def _field(card_path: Path, name: str, read):
    try:
        return read()
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ContractError(card_path, f"missing or malformed ({err!s:.100})", field=name) from None


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a non-empty string")
    return value


def _size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 4096:
        raise ValueError(f"{value!r} is not an image size in 32..4096")
    return value


def _triple(values: object, positive: bool = False) -> tuple[float, float, float]:
    if (
        not isinstance(values, list)
        or len(values) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    ):
        raise ValueError(f"{values!r} is not three numbers")
    if positive and min(values) <= 0:
        raise ValueError(f"{values!r} must be positive")
    return tuple(float(v) for v in values)


def _fail():
    raise ValueError("no outputs listed")


def open_model_or_export(path: Path) -> ModelArtifact | ExportedModel:
    """A model artifact or an export of one, told apart by the manifest's contract; anything else is refused by name."""
    path = Path(path)
    try:
        contract = json.loads((path / MANIFEST_NAME).read_text()).get("contract")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        contract = None
    if contract == CONTRACT:
        return ExportedModel(path)
    if contract is None or contract == MODEL_CONTRACT:
        return ModelArtifact(path)  # its own errors: missing directory, missing or unreadable manifest, broken files
    raise ContractError(
        path / MANIFEST_NAME,
        f"is a '{contract}' artifact, expected '{MODEL_CONTRACT}' or '{CONTRACT}'",
        field="contract",
    )
