"""The console script: every subcommand has --help; the foundation commands run end to end."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trashseg.components.cli import build_parser


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_top_level_help_lists_the_stages():
    result = subprocess.run(
        [sys.executable, "-m", "trashseg.components.cli", "--help"], capture_output=True, text=True, check=True
    )
    for name in ("ingest", "split", "sample-data"):
        assert name in result.stdout


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help(command):
    result = subprocess.run(
        [sys.executable, "-m", "trashseg.components.cli", command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: trashseg {command}")
    parser = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    assert options and all(o in result.stdout for o in options), command  # every option is documented in --help


def test_sample_data_ingest_split_through_the_cli(tmp_path):
    def run(*args):
        result = subprocess.run(
            [sys.executable, "-m", "trashseg.components.cli", *args], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result

    run(
        "sample-data",
        "--out",
        str(tmp_path / "data"),
        "--train-images",
        "10",
        "--test-images",
        "2",
        "--image-size",
        "48",
    )
    run(
        "ingest",
        "--coco",
        str(tmp_path / "data/train/annotations.json"),
        "--images",
        str(tmp_path / "data/train/images"),
        "--out",
        str(tmp_path / "ds"),
    )
    result = run("split", "--dataset", str(tmp_path / "ds"), "--folds", "2", "--out", str(tmp_path / "split"))
    assert "annotation share per class" in result.stderr
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "trashseg.components.cli",
            "split",
            "--dataset",
            str(tmp_path / "ds"),
            "--folds",
            "2",
            "--out",
            str(tmp_path / "split"),
        ],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "--overwrite" in again.stderr
