"""Bad input on the cluster path (imported data folders, registries, fingerprints): exit code 2 or one ContractError
naming the parameter or path, before any work, and nothing written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from trashseg.components.cli import main as trashseg
from trashseg.components.ingest.logic import raw_folder_paths
from trashseg.data_contracts.errors import ContractError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "annotations, images, make, message",
    [
        (
            "../annotations.json",
            "images",
            None,
            "annotations='../annotations.json' must be a relative path inside the data folder",
        ),
        ("/etc/passwd", "images", None, "annotations='/etc/passwd' must be a relative path"),
        ("annotations.json", "../images", None, "images='../images' must be a relative path"),
        ("missing.json", "images", None, "no COCO JSON here"),
        ("annotations.json", "pictures", None, "no images folder here"),
        ("annotations.json", "images", "file", "is not a folder"),
    ],
)
def test_an_imported_data_folder_is_checked_before_ingest(sample_root, tmp_path, annotations, images, make, message):
    folder = sample_root / "train"
    if make == "file":
        folder = tmp_path / "a-file"
        folder.write_text("not a folder")
    with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)")) as refused:
        raw_folder_paths(folder, annotations, images)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "registry", ["http://localhost:5000/x", "localhost:5000/Upper", "host:port/x", "localhost:5000/x/"]
)
def test_a_registry_that_is_not_host_port_path_is_refused(registry, tmp_path, capsys):
    if registry.endswith("/"):  # a trailing slash is tidied, not refused
        from trashseg.components.common.images import check_registry

        assert check_registry(registry) == "localhost:5000/x"
        return
    assert trashseg(["pipeline", "compile", "--registry", registry, "--out-dir", str(tmp_path / "compiled")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "REGISTRY" in line and "host[:port]/path" in line and not (tmp_path / "compiled").exists()


def test_make_push_refuses_a_bad_registry_before_asking_the_engine(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("build_images", REPO / "docker" / "build_images.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    def no_engine():
        raise AssertionError("the Docker engine was asked although the registry was bad")

    build._client = no_engine
    assert build.main(["--push", "--registry", "https://registry.example.com/ml"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error:") and "https://registry.example.com/ml" in line


def test_fingerprint_of_a_missing_folder_is_one_line(tmp_path, capsys):
    assert trashseg(["pipeline", "fingerprint", str(tmp_path / "nope")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(tmp_path / "nope") in line and "not a folder" in line
