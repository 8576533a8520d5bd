"""ensemble: hard and soft votes against written-out references; inputs matched by image name."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import write_predictions
from trashseg.components.ensemble.logic import EnsembleParams, run_ensemble
from trashseg.components.ensemble.vote import hard_vote, soft_vote
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.predictions import validate_predictions


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


def test_ensemble_matches_images_by_name_and_refuses_mismatches(tmp_path):
    a = np.array([[1, 2]], np.uint8)
    b = np.array([[1, 3]], np.uint8)
    p1 = write_predictions(tmp_path / "p1", [(1, "x.jpg", a), (2, "y.jpg", b)])
    p2 = write_predictions(tmp_path / "p2", [(7, "y.jpg", a), (6, "x.jpg", b)])  # other ids, other order
    p3 = write_predictions(tmp_path / "p3", [(1, "x.jpg", b), (2, "y.jpg", b)])
    run_ensemble([p1, p2, p3], tmp_path / "hard")
    result = validate_predictions(tmp_path / "hard")
    assert result.image_ids == [1, 2]
    assert result.labels(1).tolist() == [[1, 3]] and result.labels(2).tolist() == [[1, 3]]
    missing = write_predictions(tmp_path / "missing", [(1, "x.jpg", a)])
    with pytest.raises(ContractError, match="has no prediction for image 'y.jpg'"):
        run_ensemble([p1, missing], tmp_path / "bad")
    bigger = write_predictions(tmp_path / "bigger", [(1, "x.jpg", np.zeros((2, 2), np.uint8)), (2, "y.jpg", b)])
    with pytest.raises(ContractError, match="image 'x.jpg': size 2x2 differs from 2x1"):
        run_ensemble([p1, bigger], tmp_path / "bad")
    other = write_predictions(
        tmp_path / "other", [(1, "x.jpg", a), (2, "y.jpg", b)], classes=ClassTable.from_names(["bg", "a", "b", "c"])
    )
    with pytest.raises(ContractError, match="class list"):
        run_ensemble([p1, other], tmp_path / "bad")
    with pytest.raises(ContractError, match="soft voting needs probabilities"):
        run_ensemble([p1, p2], tmp_path / "bad", EnsembleParams(vote="soft"))
    assert not (tmp_path / "bad").exists()
    s1 = write_predictions(tmp_path / "s1", [(1, "x.jpg", a)], with_probs=True)
    s2 = write_predictions(tmp_path / "s2", [(1, "x.jpg", b)], with_probs=True)
    run_ensemble([s1, s2], tmp_path / "soft", EnsembleParams(vote="soft", weights=[1, 2]))
    assert validate_predictions(tmp_path / "soft").labels(1).tolist() == [[1, 3]]
