"""pseudo-label: low-confidence pixels ignored (255), and ignored pixels do not count in the loss."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.reference import write_predictions
from trashseg.components.models.forward import training_loss
from trashseg.components.models.presets import get_preset
from trashseg.components.pseudo_label.logic import PseudoLabelParams, run_pseudo_label
from trashseg.data_contracts.artifact import atomic_directory
from trashseg.data_contracts.classes import IGNORE_INDEX, ClassTable
from trashseg.data_contracts.dataset import Dataset, validate_dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import PredictionsWriter


def test_pseudo_labels_ignore_low_confidence_and_record_the_model(sample_root, tmp_path):
    from trashseg.components.ingest.logic import run_ingest

    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", tmp_path / "test")
    test = Dataset(tmp_path / "test")
    classes = ClassTable()
    with atomic_directory(tmp_path / "pred") as tmp:
        writer = PredictionsWriter(tmp, classes, with_probs=True)
        for image_id in test.image_ids:
            probs = np.full((11, 64, 64), 0.05, np.float32)
            probs[4, :, :32] = 0.5  # left half: Metal, confident
            probs[0, :, 32:] = 0.15  # right half: Background, unsure
            writer.add(image_id, str(test.record(image_id)["file_name"]), probs.argmax(0).astype(np.uint8), probs)
        writer.finish({"stage": "test", "params": {}}, {"source": "model", "model_hash": "abc"})
    run_pseudo_label(
        tmp_path / "pred", tmp_path / "test", tmp_path / "pseudo", PseudoLabelParams(min_confidence=0.3, round=2)
    )
    pseudo = validate_dataset(tmp_path / "pseudo")
    mask = pseudo.mask(test.image_ids[0])
    assert (mask[:, :32] == 4).all() and (mask[:, 32:] == IGNORE_INDEX).all()
    info = json.loads(pseudo.record(test.image_ids[0])["provenance"])["pseudo_label"]
    assert info["model_hash"] == "abc" and info["round"] == 2
    assert pseudo.image_bytes(test.image_ids[0]) == test.image_bytes(test.image_ids[0])
    few = write_predictions(tmp_path / "few", [(1, "x.jpg", np.zeros((2, 2), np.uint8))])
    with pytest.raises(ContractError, match="has no prediction for image"):
        run_pseudo_label(few, tmp_path / "test", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_ignored_pixels_do_not_count_in_the_loss():
    preset = get_preset("upernet-convnext-tiny")
    config = preset.make_config(11)
    config.use_auxiliary_head = False
    from transformers import UperNetForSemanticSegmentation

    torch.manual_seed(0)
    model = UperNetForSemanticSegmentation(config).eval()
    pixels = torch.randn(1, 3, 64, 64)
    labels = torch.randint(0, 11, (1, 64, 64))
    labels[:, :20] = IGNORE_INDEX
    with torch.no_grad():
        loss = training_loss(model, "upernet", pixels, labels)
        logits = model(pixel_values=pixels).logits
    keep = labels != IGNORE_INDEX
    manual = torch.nn.functional.cross_entropy(logits.permute(0, 2, 3, 1)[keep], labels[keep])
    assert torch.allclose(loss, manual, atol=1e-5)
