"""kfp: components light, each component and both pipelines run locally, submission to a (fake) KFP API server.

The compiled YAML's rules are in tests/pipelines/test_compiled.py."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from kfp import dsl, local

from tests.alone import alone_pipeline, check_outputs
from tests.kfp_fake_server import FakeKfp as FakeKfpServer
from tests.reference import sklearn_miou
from trashseg.data_contracts.submission import read_submission

REPO = Path(__file__).resolve().parents[2]
COMPONENT_FILES = sorted((REPO / "components").glob("*/component.py"))


@pytest.mark.parametrize("path", COMPONENT_FILES, ids=lambda p: p.parent.name)
def test_component_modules_import_only_kfp(path):
    """Lightweight components ship only the function source: heavy imports belong inside the body."""
    tree = ast.parse(path.read_text())
    allowed = {"kfp", "typing", "trashseg.components.common.images"}
    for node in tree.body:
        if isinstance(node, ast.Import):
            assert all(alias.name.split(".")[0] in allowed for alias in node.names), ast.unparse(node)
        elif isinstance(node, ast.ImportFrom):
            assert node.module in allowed or node.module.split(".")[0] in allowed, ast.unparse(node)


def test_submit_creates_one_pipeline_then_versions_and_follows_the_run(monkeypatch, capsys, caplog):
    """The real kfp.Client against an HTTP server answering as KFP's v2beta1 API does."""
    from tests.kfp_fake_server import FakeKfp
    from trashseg.pipelines.submit import list_runs, parse_params, submit_pipeline

    monkeypatch.setenv("KF_PIPELINES_TOKEN", "s3cret-token-value")
    caplog.set_level(logging.DEBUG)
    with FakeKfp(token="s3cret-token-value") as fake:
        first = submit_pipeline(
            fake.url, "trashseg", parse_params(["fold=2", "preset=upernet-swin", "epochs=30"]), experiment="recycling"
        )
        second = submit_pipeline(fake.url, "trashseg", {"fold": 1}, experiment="recycling", wait_seconds=30)
        runs = list_runs(fake.url, experiment="recycling")
    assert list(fake.pipelines.values())[0]["display_name"] == "trashseg" and len(fake.pipelines) == 1
    assert first["pipeline_id"] == second["pipeline_id"] == "p-1"
    assert (first["version_id"], second["version_id"]) == ("v-1", "v-2")  # the second upload is a new version
    assert fake.versions["v-2"]["display_name"].startswith("trashseg-")
    assert len(fake.experiments) == 1 and first["experiment_id"] == second["experiment_id"] == "e-1"
    run = fake.runs[first["run_id"]]
    assert run["runtime_config"]["parameters"] == {"fold": 2, "preset": "upernet-swin", "epochs": 30}
    assert run["pipeline_version_reference"] == {"pipeline_id": "p-1", "pipeline_version_id": "v-1"}
    assert fake.runs[second["run_id"]]["pipeline_version_reference"]["pipeline_version_id"] == "v-2"
    assert second["state"] == "SUCCEEDED" and second["url"] == f"{fake.url}/#/runs/details/{second['run_id']}"
    assert "state" not in first
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]] and runs[0]["state"] == "SUCCEEDED"
    upload = next(r for r in fake.requests if r["path"].startswith("/apis/v2beta1/pipelines/upload?"))
    assert b"pipelineInfo" in upload["body"] and b"name: trashseg" in upload["body"]
    assert all(
        {k.lower(): v for k, v in r["headers"].items()}.get("authorization") == "Bearer s3cret-token-value"
        for r in fake.requests
    )
    out = capsys.readouterr()
    assert "s3cret" not in out.out + out.err + caplog.text


@pytest.mark.parametrize(
    "token, host_suffix, expected",
    [
        ("wrong-token-value", "", "answered 401 Unauthorized: the token was refused: check KF_PIPELINES_TOKEN"),
        ("s3cret-token-value", "/nothing-here", "answered 404 Not Found: not found: check --host"),
    ],
)
def test_submit_errors_are_one_clear_line_without_the_token(monkeypatch, capsys, token, host_suffix, expected):
    from trashseg.components.cli import main

    monkeypatch.setenv("KF_PIPELINES_TOKEN", token)
    with FakeKfpServer(token="s3cret-token-value") as fake:
        code = main(["pipeline", "submit", "--host", fake.url + host_suffix, "--param", "fold=1"])
    out = capsys.readouterr()
    assert code == 2 and not fake.runs
    assert expected in out.err and len(out.err.strip().splitlines()) == 1
    assert token not in out.out + out.err and "s3cret" not in out.out + out.err


def test_a_profile_user_submits_into_the_profile_namespace(monkeypatch, capsys):
    """A multi-user install: the pipeline, its versions, the experiment and the run all live in the user's namespace,
    and
    another profile's pipeline of the same name is never given a version."""
    from trashseg.components.cli import main
    from trashseg.pipelines.submit import submit_pipeline

    monkeypatch.delenv("KF_PIPELINES_TOKEN", raising=False)
    with FakeKfpServer(multi_user=True) as fake:
        assert main(["pipeline", "submit", "--host", fake.url]) == 2  # no namespace: one line, nothing written
        assert "--namespace: this Kubeflow Pipelines install is multi-user" in capsys.readouterr().err
        theirs = submit_pipeline(fake.url, "trashseg", {}, namespace="team-b")
        first = submit_pipeline(fake.url, "trashseg", {}, namespace="team-a")
        second = submit_pipeline(fake.url, "trashseg", {}, namespace="team-a")
    assert first["pipeline_id"] == second["pipeline_id"] != theirs["pipeline_id"]
    assert {p["pipeline_id"]: p["namespace"] for p in fake.pipelines.values()} == {
        theirs["pipeline_id"]: "team-b",
        first["pipeline_id"]: "team-a",
    }
    uploads = [r["path"] for r in fake.requests if r["path"].startswith("/apis/v2beta1/pipelines/upload?")]
    assert uploads and all("namespace=team-" in path for path in uploads)
    assert sum(v["pipeline_id"] == first["pipeline_id"] for v in fake.versions.values()) == 2


def test_shared_uploads_and_old_backends_are_refused_with_the_real_cause(monkeypatch):
    from trashseg.data_contracts.errors import ContractError
    from trashseg.pipelines.submit import submit_pipeline

    monkeypatch.delenv("KF_PIPELINES_TOKEN", raising=False)
    with FakeKfpServer(
        refuse_shared=True
    ) as fake:  # answers as KFP 2.16.1+ does to a shared upload without system rights
        with pytest.raises(
            ContractError, match=r"answered 403 Forbidden: writing a shared pipeline \(no --namespace\) needs rights"
        ):
            submit_pipeline(fake.url, "trashseg", {})
        assert not fake.pipelines and not fake.runs
    with FakeKfpServer(tag_name="2.4.1") as old:
        with pytest.raises(
            ContractError, match="the Kubeflow Pipelines backend is 2.4.1; this pipeline needs 2.5.0 or later"
        ):
            submit_pipeline(old.url, "trashseg", {}, requirements={"KFP backend": "2.5.0"})
        assert not old.pipelines and not old.runs


def test_a_failed_run_is_reported_with_its_state(monkeypatch, capsys):
    from trashseg.components.cli import main

    monkeypatch.delenv("KF_PIPELINES_TOKEN", raising=False)
    with FakeKfpServer(final_state="FAILED") as fake:
        code = main(["pipeline", "submit", "--host", fake.url, "--wait", "30"])
    out = capsys.readouterr().out
    assert code == 0 and "ended FAILED" in out and "/#/runs/details/r-1" in out


# ---- local runs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage_artifacts(tmp_path_factory, learn_data):
    """Artifacts made by the stages' plain functions, for running each component alone."""
    from trashseg.components.evaluate.logic import run_evaluate
    from trashseg.components.infer.logic import InferParams, run_infer
    from trashseg.components.train.logic import TrainParams, run_train

    dataset, split = learn_data
    root = tmp_path_factory.mktemp("stages")
    run_train([dataset], split, root / "model", TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=64))
    run_infer(root / "model", dataset, root / "pred", InferParams(save_probs=True))
    run_evaluate(root / "pred", dataset, root / "metrics")
    return {
        "dataset": dataset,
        "split": split,
        "model": root / "model",
        "pred": root / "pred",
        "metrics": root / "metrics",
    }


def _imported(path: Path, cls=dsl.Dataset):
    return dsl.importer(artifact_uri=str(path), artifact_class=cls, reimport=False).output


def _local(tmp_path: Path) -> None:
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"), raise_on_error=True)


def test_ingest_component_alone_from_an_imported_folder(sample_root, tmp_path):
    from trashseg.components.ingest.component import ingest_op
    from trashseg.data_contracts.dataset import validate_dataset

    @dsl.pipeline(name="alone-ingest")
    def alone():
        ingest_op(raw=_imported(sample_root / "train"))

    _local(tmp_path)
    alone()
    (path,) = (tmp_path / "root").glob("alone-ingest-*/ingest-op/dataset")
    (output,) = json.loads((path.parent / "executor_output.json").read_text())["artifacts"]["dataset"]["artifacts"]
    dataset = validate_dataset(path)
    assert output["metadata"]["content_hash"] == dataset.content_hash and len(dataset.image_ids) == 24


COMPONENT_CASES = [
    "split",
    "augment",
    pytest.param("train", marks=pytest.mark.slow),
    "infer",
    "evaluate",
    "compare",
    "pseudo_label",
    "ensemble",
    "submit",
    "summary",
]


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_each_component_alone_through_the_local_runner(case, stage_artifacts, tmp_path):
    _local(tmp_path)
    alone_pipeline(case, stage_artifacts)()
    check_outputs(tmp_path / "root", case, images=72)


def _task_log(capfd, caplog) -> tuple[set[str], set[str]]:
    """(tasks served from cache, tasks executed) from kfp.local's console output and log records."""
    import re

    out, err = capfd.readouterr()
    text = re.sub(r"\x1b\[[0-9;]*m", "", out + err + "\n".join(r.getMessage() for r in caplog.records))
    caplog.clear()
    cached = set(re.findall(r"Task (\S+) cache hit", text))
    ran = set(re.findall(r"Task '([^']+)' finished with status SUCCESS", text))
    imported = {name for name in ran if name.startswith("importer")}
    assert len(imported) == 2  # the two data folders come in through dsl.importer on every run
    return cached, ran - imported


@pytest.mark.slow
def test_main_pipeline_end_to_end_cache_and_content_change(sample_root, tmp_path, capfd, caplog):
    import shutil

    from trashseg.pipelines.run_local import run_local

    data = tmp_path / "data"
    shutil.copytree(sample_root, data)
    caplog.set_level(logging.INFO)
    params = {"epochs": 2, "folds": 3, "paste_counts": {"Battery": 2, "Clothing": 2}, "compare_copy_paste": True}
    first = run_local("trashseg", data, tmp_path / "root", params=params)
    rows = list(read_submission(Path(first["outputs"]["submission"]), 256, 11))
    assert len(rows) == 8
    # the validation-fold ensemble that evaluate scored, against scikit-learn on the training set's masks
    from trashseg.components.ingest.logic import run_ingest

    run_ingest(data / "train" / "annotations.json", data / "train" / "images", tmp_path / "truth")
    scored = Path(first["outputs"]["validation_predictions"])
    assert first["metrics"]["miou"] == pytest.approx(sklearn_miou(scored, tmp_path / "truth"), abs=1e-9)
    # the report's experiments: the ensemble's mIoU in the comparison is the one evaluate reports, the deltas add up
    comparison = first["comparison"]
    assert comparison["members"]["ensemble"] == pytest.approx(first["metrics"]["miou"], abs=1e-12)
    gain = comparison["deltas"]["pseudo_label_gain"]
    assert gain["value"] == pytest.approx(comparison["members"]["round2"] - comparison["members"]["round1"], abs=1e-12)
    assert gain["ci_low"] <= gain["value"] <= gain["ci_high"]
    # the copy-paste experiment (its own branch): "with" is round 1's validation predictions, one delta per pasted class
    pasted = first["copy_paste"]
    assert pasted["members"]["with_paste"] == pytest.approx(comparison["members"]["round1"], abs=1e-12)
    assert {d.get("class") for d in pasted["deltas"].values()} == {None, "Battery", "Clothing"}
    cached, ran = _task_log(capfd, caplog)
    # ingest x2, split, copy-paste, 3 x (train, infer), pseudo-label, 2 ensembles, evaluate, 2 compares, submit, summary
    tasks = len(ran)
    assert not cached and tasks == 18

    second = run_local("trashseg", data, tmp_path / "root", params=params)
    cached, ran = _task_log(capfd, caplog)
    assert len(cached) == tasks - 1 and len(ran) == 1  # the summary is never cached: each run has its own
    assert second["outputs"]["submission"] == first["outputs"]["submission"]

    # Change one training image's content (same name, same size): train-side stages rerun, the test ingest does not.
    from PIL import Image

    image_path = sorted((data / "train" / "images").iterdir())[0]
    pixels = np.asarray(Image.open(image_path)).copy()
    pixels[:8, :8] = 255 - pixels[:8, :8]
    Image.fromarray(pixels).save(image_path, quality=92)
    run_local("trashseg", data, tmp_path / "root", params=params)
    cached, ran = _task_log(capfd, caplog)
    (kept,) = cached  # the test set's ingest, and nothing else
    assert kept.startswith("ingest") and len(ran) == tasks - 1


@pytest.mark.slow
def test_cv_pipeline_runs_a_model_per_fold_locally(sample_root, tmp_path):
    from trashseg.pipelines.run_local import run_local

    summary = run_local("trashseg-cv", sample_root, tmp_path / "root", params={"epochs": 1, "folds": 3})
    assert summary["metrics"]["folds"] == 2
    low, high = summary["metrics"]["cv_miou_min"], summary["metrics"]["cv_miou_max"]
    assert summary["metrics"]["cv_miou_mean"] == pytest.approx((low + high) / 2)  # two folds: the mean lies halfway
    rows = list(read_submission(Path(summary["outputs"]["submission"]), 256, 11))
    assert len(rows) == 8


@pytest.mark.slow
def test_retried_train_task_resumes_from_its_checkpoint(learn_data, tmp_path, capfd, caplog):
    """Kill the train task's process after its first checkpoint (a preempted node): kfp retries, training resumes."""
    import os
    import signal
    import threading
    import time

    import psutil

    from trashseg.components.train.component import train_op

    dataset, split = learn_data
    checkpoints = tmp_path / "checkpoints"

    @dsl.pipeline(name="retry-train")
    def retried():
        task = train_op(
            dataset=_imported(dataset),
            split=_imported(split),
            preset="upernet-convnext-tiny",
            epochs=4,
            lr_backbone=1e-3,
            lr_head=3e-3,
            image_size=64,
            batch_size=8,
            warmup_steps=0,
            checkpoint_root=str(checkpoints),
        )
        task.set_retry(num_retries=2)

    killed = {}

    def preempt():
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            if any(checkpoints.glob("*/last/state.json")):
                # the task's shell and its Python both carry executor_main in their command line: kill both at once
                victims = [
                    c for c in psutil.Process().children(recursive=True) if "executor_main" in " ".join(c.cmdline())
                ]
                for victim in victims:
                    os.kill(victim.pid, signal.SIGKILL)
                if victims:
                    killed["pids"] = [v.pid for v in victims]
                    return
            time.sleep(0.05)

    caplog.set_level(logging.INFO)
    watcher = threading.Thread(target=preempt, daemon=True)
    watcher.start()
    _local(tmp_path)
    retried()
    watcher.join(timeout=5)
    out, err = capfd.readouterr()
    text = out + err + "\n".join(r.getMessage() for r in caplog.records)
    assert killed, "the train task was never preempted"
    assert "resuming from" in text and "after epoch" in text, text[-3000:]
    models = list((tmp_path / "root").rglob("train-op/model/trashseg_model.json"))
    assert models and json.loads(models[0].read_text())["epochs_run"] == 4


def test_fingerprint_follows_content_and_names_not_timestamps(sample_root, tmp_path, capsys):
    import os
    import shutil

    from trashseg.components.cli import main
    from trashseg.pipelines.run_local import folder_parameters, sample_layout

    def data_parameters(folder):
        return folder_parameters(*sample_layout(folder))

    data = tmp_path / "data"
    shutil.copytree(sample_root, data)
    before = data_parameters(data)
    assert main(["pipeline", "fingerprint", str(data / "train")]) == 0
    assert capsys.readouterr().out.strip() == before["train_fingerprint"]  # the CLI prints what run-local passes
    image = sorted((data / "train" / "images").iterdir())[0]
    os.utime(image, (1, 1))
    assert data_parameters(data) == before  # a touched file is the same content
    image.rename(image.with_name("renamed-" + image.name))
    renamed = data_parameters(data)
    assert (
        renamed["train_fingerprint"] != before["train_fingerprint"]
        and renamed["test_fingerprint"] == before["test_fingerprint"]
    )
