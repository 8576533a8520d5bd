"""split: folds by StratifiedGroupKFold, statistics, determinism, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trashseg.components.split.logic import SplitParams, assign_folds, run_split
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.split import WHOLE_SET, read_split


def test_every_image_gets_one_fold_and_stats_add_up(sample_dataset, sample_split):
    from trashseg.data_contracts.dataset import Dataset

    dataset = Dataset(sample_dataset)
    split = read_split(sample_split)
    assert split.num_folds == 3 and split.seed == 42
    assert sorted(split.folds["image_id"]) == sorted(dataset.image_ids)
    assert set(split.folds["fold"]) == {0, 1, 2}
    stats = split.stats
    whole = stats[stats["fold"] == WHOLE_SET].set_index("class_id")
    per_fold = stats[stats["fold"] != WHOLE_SET].groupby("class_id")[["annotations", "pixels"]].sum()
    assert (whole[["annotations", "pixels"]] == per_fold).all().all()
    assert whole["annotations"].sum() == len(dataset.annotations)
    assert whole["pixels"].sum() == 24 * 64 * 64
    assert whole["pixel_share"].sum() == pytest.approx(1.0)
    split.check_dataset(dataset.content_hash, sample_dataset)


def test_split_is_deterministic_and_seed_matters(sample_dataset, tmp_path):
    a = run_split(sample_dataset, tmp_path / "a", SplitParams(folds=3, seed=7))
    b = run_split(sample_dataset, tmp_path / "b", SplitParams(folds=3, seed=7))
    c = run_split(sample_dataset, tmp_path / "c", SplitParams(folds=3, seed=8))
    assert a.content_hash == b.content_hash != c.content_hash


def test_grouping_keeps_images_whole_and_stratifies():
    rng = np.random.default_rng(0)
    rows = [
        {"id": k, "image_id": int(rng.integers(0, 200)), "category_id": int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))}
        for k in range(1000)
    ]
    annotations = pd.DataFrame(rows)
    images = list(range(0, 220))  # 200..219 have no annotations
    fold_of = assign_folds(images, annotations, 5, seed=42)
    assert set(fold_of) == set(images)
    # annotated images: exactly scikit-learn's StratifiedGroupKFold (label = class, group = image), run here on its own
    from sklearn.model_selection import StratifiedGroupKFold

    splits = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=42).split(
        np.zeros(len(annotations)), annotations["category_id"], annotations["image_id"]
    )
    reference = {int(i): fold for fold, (_, val) in enumerate(splits) for i in annotations["image_id"].to_numpy()[val]}
    assert {i: fold_of[i] for i in reference} == reference
    # the 20 unannotated images are dealt so that fold sizes stay within one image of each other
    sizes = np.bincount(list(fold_of.values()), minlength=5)
    assert all(fold_of[i] in range(5) for i in range(200, 220)) and sizes.max() - sizes.min() <= max(
        1, int(np.ptp(np.bincount(list(reference.values()))))
    )
    annotations["fold"] = annotations["image_id"].map(fold_of)
    share = annotations.groupby("fold")["category_id"].apply(lambda s: (s == 3).mean())
    assert share.max() - share.min() < 0.06  # each validation fold keeps the rare class's ratio


def test_fewer_images_than_folds_is_a_clear_error(sample_dataset, tmp_path):
    with pytest.raises(ContractError, match="24 images cannot fill 30 folds"):
        run_split(sample_dataset, tmp_path / "s", SplitParams(folds=30))
    assert not (tmp_path / "s").exists()


def test_split_refuses_another_dataset(sample_split, tmp_path):
    with pytest.raises(ContractError, match="was made for dataset"):
        read_split(sample_split).check_dataset("0" * 64, tmp_path)


def test_a_given_validation_file_is_fold_zero_and_the_rest_trains(sample_root, sample_dataset, tmp_path):
    """The competition's val.json: its images are the validation fold, matched by file name (spelling aside)."""
    import json

    from trashseg.components.split.logic import run_split
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.split import Split

    names = [str(n) for n in Dataset(sample_dataset).images["file_name"]]
    val = tmp_path / "val.json"
    val.write_text(json.dumps({"images": [{"id": k, "file_name": f"./{n}"} for k, n in enumerate(names[:5])]}))
    run_split(sample_dataset, tmp_path / "split", validation_coco=val)
    dataset, split = Dataset(sample_dataset), Split(tmp_path / "split")
    train_ids, validation_ids = split.partition(dataset.content_hash, dataset.path, dataset.image_ids, 0)
    by_id = dict(zip(dataset.images["image_id"], dataset.images["file_name"]))
    assert sorted(by_id[i] for i in validation_ids) == sorted(names[:5]) and len(train_ids) == len(names) - 5
    val.write_text(json.dumps({"images": [{"id": 0, "file_name": names[0]}, {"id": 1, "file_name": "batch_09/x.jpg"}]}))
    with pytest.raises(
        ContractError, match=r"val.json: images\[1\]: field 'file_name': image 'batch_09/x.jpg' is not in"
    ):
        run_split(sample_dataset, tmp_path / "other", validation_coco=val)
    assert not (tmp_path / "other").exists()
