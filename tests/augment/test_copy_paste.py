"""augment: copy-paste of rare classes, from training folds only, tied to its fold; validation images never train."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trashseg.components.augment.logic import AugmentParams, run_augment
from trashseg.components.pseudo_label.logic import run_pseudo_label
from trashseg.data_contracts.dataset import Dataset, validate_dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import PredictionsWriter
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


def test_validation_images_never_train(learn_data, tmp_path):
    """No training-only dataset may carry a validation image (recognised by its bytes), however it was made."""
    import numpy as np

    from trashseg.components.train.data import SampleSource
    from trashseg.data_contracts.errors import ContractError

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
