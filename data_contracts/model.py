"""The ``model`` contract: a ``save_pretrained`` directory that describes itself.

Layout::

    manifest.json          contract "model"; extra: preset, family
    config.json            transformers config (id2label/label2id for the classes)
    model.safetensors      weights
    trashseg_model.json    preset, family, classes, image_size, normalisation,
                           training parameters, metrics of the best epoch
    history.parquet        one row per epoch: loss, mIoU, learning rates, per-class IoU
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from trashseg.data_contracts.artifact import ArtifactView, Manifest, read_manifest, write_manifest
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError

CONTRACT = "model"
VERSION = 1
CARD_FILE = "trashseg_model.json"
HISTORY_FILE = "history.parquet"
WEIGHT_FILES = ("config.json", "model.safetensors")


def write_model_manifest(directory: Path, card: dict[str, Any], producer: dict[str, Any]) -> Manifest:
    """Write the card beside the save_pretrained files, then the manifest over all of them."""
    directory = Path(directory)
    (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    files = [name for name in (*WEIGHT_FILES, CARD_FILE, HISTORY_FILE) if (directory / name).exists()]
    manifest = Manifest(
        contract=CONTRACT,
        version=VERSION,
        rows={"epochs": int(card.get("epochs_run", 0))},
        files={name: "" for name in files},
        producer=producer,
        extra={"preset": card["preset"], "family": card["family"]},
    )
    return write_manifest(directory, manifest)


class ModelArtifact(ArtifactView):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, CONTRACT, (VERSION,))
        for name in (*WEIGHT_FILES, CARD_FILE):
            if name not in self.manifest.files:
                raise ContractError(self.path / name, "model artifact lacks this file")
        card_path = self.path / CARD_FILE
        try:
            self.card = json.loads(card_path.read_text())
            self.classes = ClassTable.from_records(self.card["classes"])
            self.family = str(self.card["family"])
            self.preset = str(self.card["preset"])
            self.image_size = self.card["image_size"]
            self.mean = tuple(float(v) for v in self.card["normalisation"]["mean"])
            self.std = tuple(float(v) for v in self.card["normalisation"]["std"])
        except (KeyError, TypeError, ValueError) as err:
            raise ContractError(card_path, f"not a model card ({type(err).__name__}: {err})") from None
        self._check(card_path)

    def _check(self, card_path: Path) -> None:
        """Values no trained model can have fail here, where the card is read, naming the field."""
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, int) or self.image_size <= 0:
            raise ContractError(card_path, f"image_size {self.image_size!r} is not a positive size", field="image_size")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ContractError(
                card_path, "normalisation needs 3 means and 3 positive standard deviations", field="normalisation"
            )
        config = json.loads((self.path / "config.json").read_text())
        labels = [config.get("id2label", {}).get(str(k)) for k in range(len(config.get("id2label", {})))]
        if labels != list(self.classes.names):
            raise ContractError(
                card_path,
                f"classes {list(self.classes.names)} do not match config.json's id2label {labels}",
                field="classes",
            )

    def history(self) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path / HISTORY_FILE)
