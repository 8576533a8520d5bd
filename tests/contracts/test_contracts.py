"""The artifact layer: manifests, hashes, atomic writes, deterministic NPZ."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from trashseg.data_contracts.artifact import atomic_directory
from trashseg.data_contracts.classes import CLASS_NAMES, ClassTable
from trashseg.data_contracts.dataset import Dataset, validate_dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.npz import NpzReader, NpzWriter


def test_class_table_has_the_eleven_classes():
    table = ClassTable()
    assert table.num_classes == 11 and table.names[0] == "Background" and table.names[10] == "Clothing"
    assert table.id_of("plastic  BAG") == 8
    assert table.id_of("Cardboard") is None
    assert table.palette_array()[255].tolist() == [255, 255, 255]
    assert ClassTable.from_records(table.to_records()) == table
    assert len(CLASS_NAMES) == 11


def test_npz_writer_is_deterministic_and_pickle_free(tmp_path):
    arrays = {"1": np.arange(12, dtype=np.uint8).reshape(3, 4), "22": np.ones((2, 2), np.uint8)}
    for name in ("a.npz", "b.npz"):
        with NpzWriter(tmp_path / name) as writer:
            for key, value in arrays.items():
                writer.add(key, value)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as loaded:
        assert np.array_equal(loaded["1"], arrays["1"])
    with NpzReader(tmp_path / "a.npz") as reader:
        with pytest.raises(ContractError, match="no array with this key"):
            reader["3"]
    with pytest.raises(ValueError, match="pickle"):
        NpzWriter(tmp_path / "c.npz").add("x", np.array([{}], dtype=object))


def test_atomic_directory_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "artifact"
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_refuses_to_replace_user_data(tmp_path):
    out = tmp_path / "artifact"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ContractError, match="--overwrite"):
        with atomic_directory(out):
            pass
    assert (out / "precious.txt").read_text() == "keep me"


def test_dataset_validates_and_detects_tampering(sample_dataset, tmp_path):
    dataset = validate_dataset(sample_dataset)
    assert dataset.labeled and len(dataset.image_ids) == 24
    image = dataset.image(dataset.image_ids[0])
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    broken = tmp_path / "broken"
    shutil.copytree(sample_dataset, broken)
    with open(broken / "masks.npz", "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff\xff\xff")
    with pytest.raises(ContractError, match="masks.npz.*differs from the sha256"):
        Dataset(broken)


def test_manifest_names_contract_and_version(sample_dataset, sample_split):
    manifest = json.loads((sample_dataset / "manifest.json").read_text())
    assert manifest["contract"] == "dataset" and manifest["version"] == 1
    assert manifest["rows"]["images"] == 24 and manifest["producer"]["stage"] == "ingest"
    with pytest.raises(ContractError, match="is a 'split' artifact, expected 'dataset'"):
        Dataset(sample_split)
