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
        self.card = json.loads((self.path / CARD_FILE).read_text())
        self.classes = ClassTable.from_records(self.card["classes"])
        self.family = str(self.card["family"])
        self.preset = str(self.card["preset"])
        self.image_size = int(self.card["image_size"])
        self.mean = tuple(self.card["normalisation"]["mean"])
        self.std = tuple(self.card["normalisation"]["std"])

    def history(self) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path / HISTORY_FILE)
