"""The report's tricks: copy-paste, pseudo-labels, ensembles (mechanisms, not gains)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trashseg.components.augment.logic import AugmentParams, run_augment
from trashseg.components.ensemble.logic import EnsembleParams, run_ensemble
from trashseg.components.ensemble.vote import hard_vote, soft_vote
from trashseg.components.models.forward import training_loss
from trashseg.components.models.presets import get_preset
from trashseg.components.pseudo_label.logic import PseudoLabelParams, run_pseudo_label
from trashseg.data_contracts.artifact import atomic_directory
from trashseg.data_contracts.classes import IGNORE_INDEX, ClassTable
from trashseg.data_contracts.dataset import Dataset, validate_dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import PredictionsWriter, validate_predictions
from trashseg.data_contracts.split import Split


def test_copy_paste_uses_training_folds_only_and_pastes_where_it_claims(learn_data, tmp_path):
    dataset_dir, split_dir = learn_data
    params = AugmentParams(
        fold=1,
        paste_classes=["Battery", "Clothing", "Metal"],
        paste_counts={"Battery": 4, "Clothing": 4, "Metal": 6},
        seed=5,
    )
    run_augment(dataset_dir, split_dir, tmp_path / "aug", params)
    aug, source = validate_dataset(tmp_path / "aug"), Dataset(dataset_dir)
    fold_of = Split(split_dir).fold_of()
    assert len(aug.image_ids) > 0 and not set(aug.image_ids) & set(source.image_ids)
    for record in aug.images.itertuples(index=False):
        info = json.loads(record.provenance)["copy_paste"]
        piece = info["pieces"][0]
        assert fold_of[info["canvas"]] != 1 and fold_of[piece["source_image"]] != 1  # nothing from the validation fold
        mask, canvas_mask = aug.mask(record.image_id), source.mask(info["canvas"])
        ann = aug.annotations[aug.annotations["image_id"] == record.image_id].iloc[0]
        from pycocotools import mask as mask_utils

        seg = json.loads(ann.segmentation)
        pasted = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)
        assert pasted.sum() == piece["pixels"] == ann.area > 0
        assert (mask[pasted] == piece["class_id"]).all()  # mask updated where the piece went
        assert np.array_equal(mask[~pasted], canvas_mask[~pasted])  # and nowhere else
        image, canvas = aug.image(record.image_id), source.image(info["canvas"])
        assert np.array_equal(image[~pasted], canvas[~pasted])
    again = run_augment(dataset_dir, split_dir, tmp_path / "again", params)
    assert again.content_hash == aug.content_hash  # deterministic for a seed


def test_augmented_data_refused_for_another_fold(learn_data, tmp_path):
    from trashseg.components.train.logic import TrainParams, run_train

    dataset_dir, split_dir = learn_data
    run_augment(
        dataset_dir, split_dir, tmp_path / "aug", AugmentParams(fold=1, paste_counts={"Battery": 1, "Clothing": 1})
    )
    with pytest.raises(ContractError, match="would leak validation images"):
        run_train(
            [dataset_dir, tmp_path / "aug"],
            split_dir,
            tmp_path / "m",
            TrainParams(preset="upernet-convnext-tiny", fold=2, epochs=1),
        )


def test_hard_vote_tie_goes_to_the_earliest_model():
    labels = np.array([[[1, 3, 5]], [[2, 3, 6]], [[2, 4, 7]], [[1, 4, 8]]], dtype=np.uint8)  # 4 models, 1x3 image
    # pixel 0: 1,2,2,1 -> tie 1 vs 2, model 0 said 1; pixel 1: 3,3,4,4 -> 3; pixel 2: all differ -> model 0's 5
    assert hard_vote(labels, np.ones(4, dtype=np.int64)).tolist() == [[1, 3, 5]]
    assert hard_vote(labels, np.array([1, 2, 1, 1])).tolist() == [[2, 3, 6]]
    assert hard_vote(labels, np.array([0.5, 0.2, 0.2, 0.2])).tolist() == [[1, 3, 5]]


def test_hard_vote_matches_bincount_where_there_is_no_tie():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (5, 32, 32)).astype(np.uint8)
    ours = hard_vote(labels, np.ones(5, dtype=np.int64))
    counts = np.stack([(labels == c).sum(0) for c in range(4)])
    top = np.sort(counts, axis=0)
    clear = top[-1] > top[-2]
    assert np.array_equal(ours[clear], counts.argmax(0)[clear])


def test_soft_vote_is_a_weighted_mean():
    a = np.array([[[0.9]], [[0.1]]], np.float32)
    b = np.array([[[0.2]], [[0.8]]], np.float32)
    assert soft_vote([a, b], np.array([1, 1])).argmax(0).item() == 0
    assert soft_vote([a, b], np.array([1, 3])).argmax(0).item() == 1


def _predictions(path, images, with_probs=False, classes=ClassTable()):
    with atomic_directory(path) as tmp:
        writer = PredictionsWriter(tmp, classes, with_probs)
        for image_id, name, labels in images:
            probs = np.eye(classes.num_classes, dtype=np.float32)[labels].transpose(2, 0, 1) if with_probs else None
            writer.add(image_id, name, labels, probs)
        writer.finish({"stage": "test", "params": {}}, {"source": "test"})
    return path


def test_ensemble_matches_images_by_name_and_refuses_mismatches(tmp_path):
    a = np.array([[1, 2]], np.uint8)
    b = np.array([[1, 3]], np.uint8)
    p1 = _predictions(tmp_path / "p1", [(1, "x.jpg", a), (2, "y.jpg", b)])
    p2 = _predictions(tmp_path / "p2", [(7, "y.jpg", a), (6, "x.jpg", b)])  # other ids, other order
    p3 = _predictions(tmp_path / "p3", [(1, "x.jpg", b), (2, "y.jpg", b)])
    run_ensemble([p1, p2, p3], tmp_path / "hard")
    result = validate_predictions(tmp_path / "hard")
    assert result.image_ids == [1, 2]
    assert result.labels(1).tolist() == [[1, 3]] and result.labels(2).tolist() == [[1, 3]]
    missing = _predictions(tmp_path / "missing", [(1, "x.jpg", a)])
    with pytest.raises(ContractError, match="has no prediction for image 'y.jpg'"):
        run_ensemble([p1, missing], tmp_path / "bad")
    bigger = _predictions(tmp_path / "bigger", [(1, "x.jpg", np.zeros((2, 2), np.uint8)), (2, "y.jpg", b)])
    with pytest.raises(ContractError, match="image 'x.jpg': size 2x2 differs from 2x1"):
        run_ensemble([p1, bigger], tmp_path / "bad")
    other = _predictions(
        tmp_path / "other", [(1, "x.jpg", a), (2, "y.jpg", b)], classes=ClassTable.from_names(["bg", "a", "b", "c"])
    )
    with pytest.raises(ContractError, match="class list"):
        run_ensemble([p1, other], tmp_path / "bad")
    with pytest.raises(ContractError, match="soft voting needs probabilities"):
        run_ensemble([p1, p2], tmp_path / "bad", EnsembleParams(vote="soft"))
    assert not (tmp_path / "bad").exists()
    s1 = _predictions(tmp_path / "s1", [(1, "x.jpg", a)], with_probs=True)
    s2 = _predictions(tmp_path / "s2", [(1, "x.jpg", b)], with_probs=True)
    run_ensemble([s1, s2], tmp_path / "soft", EnsembleParams(vote="soft", weights=[1, 2]))
    assert validate_predictions(tmp_path / "soft").labels(1).tolist() == [[1, 3]]


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
    few = _predictions(tmp_path / "few", [(1, "x.jpg", np.zeros((2, 2), np.uint8))])
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


def test_validation_images_never_train(learn_data, tmp_path):
    """No training-only dataset may carry a validation image (recognised by its bytes), however it was made."""
    import numpy as np

    from trashseg.components.train.data import SampleSource
    from trashseg.data_contracts.errors import ContractError
    from trashseg.data_contracts.predictions import PredictionsWriter

    dataset_dir, split_dir = learn_data
    dataset, split = Dataset(dataset_dir), Split(split_dir)
    validation = [i for i in dataset.image_ids if split.fold_of()[i] == 0]
    with pytest.raises(
        ContractError, match=rf"image {validation[0]}: holds validation image {validation[0]} of .*fold 0"
    ):
        SampleSource([dataset_dir, dataset_dir], split, 0)
    # pseudo-labels made on the validation images (an unlabeled copy of them) are refused the same way
    (tmp_path / "pred").mkdir()
    writer = PredictionsWriter(tmp_path / "pred", dataset.classes, with_probs=False)
    for image_id in dataset.image_ids:
        record = dataset.record(image_id)
        writer.add(
            image_id, str(record["file_name"]), np.zeros((int(record["height"]), int(record["width"])), np.uint8)
        )
    writer.finish({"stage": "test"})
    run_pseudo_label(tmp_path / "pred", dataset_dir, tmp_path / "pseudo")
    with pytest.raises(ContractError, match="holds validation image"):
        SampleSource([dataset_dir, tmp_path / "pseudo"], split, 0)
    # other images (copy-paste scenes made on the training folds) are welcome, and only ever train
    run_augment(
        dataset_dir, split_dir, tmp_path / "other", AugmentParams(fold=0, paste_counts={"Battery": 2, "Clothing": 2})
    )
    source = SampleSource([dataset_dir, tmp_path / "other"], split, 0)
    assert all(s.source == 0 for s in source.validation) and len(source.validation) == len(validation)
    assert sum(1 for s in source.train if s.source == 1) == len(Dataset(tmp_path / "other").image_ids)
