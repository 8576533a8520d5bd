"""Stopped runs leave nothing behind: SIGTERM and SIGINT end a stage in one line, and a killed run's temporaries are
removed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from trashseg.data_contracts.artifact import remove_stale_temporaries, temp_prefix

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TRASHSEG_PROGRESS": "0"}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_a_killed_run_are_removed_and_live_ones_kept(tmp_path):
    out = tmp_path / "pred"
    host = socket.gethostname()
    stale = tmp_path / f".pred.tmp-{host}-{_dead_pid()}-abc123"
    live = tmp_path / f".pred.tmp-{host}-{os.getpid()}-def456"  # this very process: still running
    foreign = tmp_path / ".pred.tmp-otherhost-1-ghi789"  # another node's, recent: may still be writing
    for path in (stale, live, foreign):
        path.mkdir()
        (path / "labels.npz").write_bytes(b"half written")
    assert temp_prefix(out).startswith(f".pred.tmp-{host}-{os.getpid()}-")
    assert remove_stale_temporaries(out) == [stale]
    assert not stale.exists() and live.exists() and foreign.exists()
    old = time.time() - 2 * 24 * 3600
    os.utime(foreign, (old, old))
    assert remove_stale_temporaries(out) == [foreign]


def test_a_stage_removes_stale_temporaries_of_its_output(world_for_stale, tmp_path):
    """What `kill -9` during infer leaves (a hidden temporary beside --out) is gone after the next run of the stage."""
    from trashseg.components.submit.logic import SubmitParams, run_submit

    predictions, out = world_for_stale, tmp_path / "sub.csv"
    leftover = tmp_path / f".sub.csv.tmp-{socket.gethostname()}-{_dead_pid()}-xyz"
    leftover.write_text("image_id,PredictionString\nhalf")
    run_submit(predictions, out, SubmitParams(submission_size=8))
    assert out.exists() and not leftover.exists()


@pytest.fixture
def world_for_stale(sample_dataset, tmp_path):
    import numpy as np

    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.predictions import PredictionsWriter

    dataset = Dataset(sample_dataset)
    (tmp_path / "pred").mkdir()
    writer = PredictionsWriter(tmp_path / "pred", dataset.classes, with_probs=False)
    for image_id in dataset.image_ids[:3]:
        writer.add(image_id, f"{image_id}.png", np.zeros((16, 16), np.uint8))
    writer.finish({"stage": "test"})
    return tmp_path / "pred"


def _wait_for(predicate, timeout: float = 300) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.parametrize(
    "signal_number, exit_code, name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")]
)
def test_a_stopped_stage_says_so_in_one_line_and_leaves_no_artifact(
    learn_data, tmp_path, signal_number, exit_code, name
):
    dataset, split = learn_data
    ck = tmp_path / "ck"
    command = [
        sys.executable,
        "-m",
        "trashseg.components.cli",
        "train",
        "--dataset",
        str(dataset),
        "--split",
        str(split),
        "--preset",
        "upernet-convnext-tiny",
        "--epochs",
        "200",
        "--image-size",
        "32",
        "--device",
        "cpu",
        "--checkpoint-dir",
        str(ck),
        "--out",
        str(tmp_path / "model"),
    ]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: any(ck.glob("train-*/last/state.json")) or process.poll() is not None)
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=120)
    assert process.returncode == exit_code, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"stopped by {name}: nothing was written")
    assert not (tmp_path / "model").exists()
    assert not list(tmp_path.glob(".*tmp-*")) and not list(ck.glob(".*tmp-*"))
    assert any(ck.glob("train-*/last/state.json"))  # kept on purpose: --resume continues from it
