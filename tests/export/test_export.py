"""export: every family's tiny preset goes to ONNX and back with the model's labels; refusals leave nothing behind.

The references are independent of the export's own check: infer with the model artifact (torch) against infer with
the export (ONNX Runtime) on a dataset the export never saw, and ONNX Runtime run directly on the graph.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from trashseg.components.cli import main as trashseg
from trashseg.components.common.machine import Machine
from trashseg.components.export.logic import generated_image, run_export
from trashseg.components.export.params import ExportParams
from trashseg.components.infer.logic import InferParams, run_infer
from trashseg.components.train.logic import TrainParams, run_train
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.exported import CARD_FILE, GRAPH_FILE, ExportedModel, open_model_or_export
from trashseg.data_contracts.model import ModelArtifact
from trashseg.data_contracts.predictions import validate_predictions

FAMILIES = [
    pytest.param("upernet-convnext-tiny", id="upernet-convnext"),
    pytest.param("upernet-swin-tiny", id="upernet-swin", marks=pytest.mark.slow),
    pytest.param("beit-upernet-tiny", id="beit", marks=pytest.mark.slow),
    pytest.param("mask2former-swin-tiny", id="mask2former", marks=pytest.mark.slow),
    pytest.param("eomt-tiny", id="eomt", marks=pytest.mark.slow),
]


def _train(preset: str, sample_dataset, sample_split, out):
    size = 128 if preset == "eomt-tiny" else 64  # EoMT's position embeddings fix its size
    run_train(
        [sample_dataset],
        sample_split,
        out,
        TrainParams(preset=preset, epochs=2, image_size=size, max_steps_per_epoch=3, seed=3),
    )
    return out


@pytest.mark.parametrize("preset", FAMILIES)
def test_each_family_exports_with_the_models_labels(
    preset, sample_dataset, sample_split, sample_root, tiny_model, tmp_path
):
    from trashseg.components.ingest.logic import run_ingest

    if preset == "upernet-convnext-tiny":  # the shared model is this preset trained exactly as _train does
        model = tiny_model
    else:
        model = _train(preset, sample_dataset, sample_split, tmp_path / "model")
    manifest = run_export(model, tmp_path / "exported", params=ExportParams(check_images=4))  # generated check images
    exported = ExportedModel(tmp_path / "exported")
    artifact = ModelArtifact(model)
    card = exported.card
    assert manifest.contract == "exported-model" and set(manifest.files) == {GRAPH_FILE, CARD_FILE}
    assert (card["family"], card["preset"], card["image_size"]) == (
        artifact.family,
        artifact.preset,
        artifact.image_size,
    )
    assert (
        card["source_model"]["content_hash"] == artifact.content_hash
        and exported.classes.names == artifact.classes.names
    )
    assert card["normalisation"] == {"mean": list(artifact.mean), "std": list(artifact.std)}
    assert card["check"]["images"] == 4 and card["check"]["label_agreement"] >= 0.99
    assert 0 <= card["check"]["max_logit_difference"] < 1e-3
    print(
        f"\n{preset}: agreement {card['check']['label_agreement']:.6f}, max logit difference "
        f"{card['check']['max_logit_difference']:.3g}, export {card['export_seconds']} s"
    )

    # ONNX Runtime on the graph itself, a batch size the export never saw, against the torch model
    import onnxruntime as ort

    from trashseg.components.export.logic import RawOutputs, _pixels
    from trashseg.components.models.build import load_model
    from trashseg.components.models.forward import raw_output_names

    pixels = _pixels(artifact, [generated_image(k) for k in range(10, 13)])
    session = ort.InferenceSession(str(exported.graph), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"pixel_values": pixels.numpy()})
    with torch.no_grad():
        expected = RawOutputs(load_model(artifact), raw_output_names(artifact.family))(pixels)
    assert [o.shape for o in outputs] == [tuple(e.shape) for e in expected]
    assert max(float(np.abs(o - e.numpy()).max()) for o, e in zip(outputs, expected)) < 1e-3

    # infer takes the export as --model: labels within the agreement on photos the check never saw
    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", tmp_path / "test")
    run_infer(model, tmp_path / "test", tmp_path / "by_model")
    run_infer(tmp_path / "exported", tmp_path / "test", tmp_path / "by_export")
    by_model, by_export = validate_predictions(tmp_path / "by_model"), validate_predictions(tmp_path / "by_export")
    same = sum(int((by_model.labels(i) == by_export.labels(i)).sum()) for i in by_model.image_ids)
    assert same / sum(by_model.labels(i).size for i in by_model.image_ids) >= 0.99
    assert (
        by_export.manifest.extra["source"] == "exported-model"
        and by_export.manifest.extra["model_hash"] == exported.content_hash
    )


def test_the_check_uses_the_datasets_images_and_the_cli_writes_one_line(tiny_model, sample_dataset, tmp_path, capsys):
    code = trashseg(
        [
            "export",
            "--model",
            str(tiny_model),
            "--dataset",
            str(sample_dataset),
            "--check-images",
            "3",
            "--out",
            str(tmp_path / "exported"),
        ]
    )
    assert code == 0
    check = json.loads((tmp_path / "exported" / CARD_FILE).read_text())["check"]
    assert check["images_from"] == "dataset" and check["images"] == 3
    assert check["pixels"] == 3 * 64 * 64  # the sample images' own sizes
    assert isinstance(open_model_or_export(tmp_path / "exported"), ExportedModel)
    assert isinstance(open_model_or_export(tiny_model), ModelArtifact)


@pytest.mark.slow
def test_an_export_that_disagrees_is_not_written(tiny_model, tmp_path, capsys, monkeypatch):
    """Exit 3 (the stage's own failure, not bad input), one line with the agreement, no output, no temporary."""
    import trashseg.components.export.logic as export_logic

    monkeypatch.setattr(export_logic, "MIN_AGREEMENT", 1.01)  # unreachable: the refusal path runs for real
    code = trashseg(["export", "--model", str(tiny_model), "--check-images", "2", "--out", str(tmp_path / "exported")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert (
        code == 3
        and len(lines) == 1
        and "agree with the model's on 100.00%" in lines[0]
        and "nothing was written" in lines[0]
    )
    assert list(tmp_path.iterdir()) == []


def test_a_changed_graph_is_refused_where_it_is_read(tiny_export, tmp_path):
    shutil.copytree(tiny_export, tmp_path / "exported")
    graph = tmp_path / "exported" / GRAPH_FILE
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(ContractError, match="content differs from the sha256"):
        run_infer(tmp_path / "exported", tmp_path / "nowhere", tmp_path / "pred")


def test_an_export_refuses_tta_scales_and_gpus(tiny_export, sample_dataset, tmp_path):
    with pytest.raises(ContractError, match="--tta-scales.*only at its export size 64 px"):
        run_infer(tiny_export, sample_dataset, tmp_path / "pred", InferParams(tta_scales=[0.5, 1.0]))
    with pytest.raises(ContractError, match="--device.*ONNX Runtime's CPU provider"):
        run_infer(tiny_export, sample_dataset, tmp_path / "pred", machine=Machine(device="cuda:0"))
    assert not (tmp_path / "pred").exists()


@pytest.mark.slow  # a training and an export of its own
def test_a_size_off_the_32_grid_is_exported_at_the_size_infer_predicts_at(sample_dataset, sample_split, tmp_path):
    """infer feeds a model its size rounded to a multiple of 32 (100 -> 96): the graph must take that size."""
    run_train(
        [sample_dataset],
        sample_split,
        tmp_path / "model",
        TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=100, max_steps_per_epoch=1, seed=3),
    )
    run_export(tmp_path / "model", tmp_path / "exported", params=ExportParams(check_images=1))
    card = ExportedModel(tmp_path / "exported").card
    assert card["image_size"] == 96 and card["input"]["shape"] == ["batch", 3, 96, 96]
    run_infer(tmp_path / "model", sample_dataset, tmp_path / "by_model")
    run_infer(tmp_path / "exported", sample_dataset, tmp_path / "by_export")
    by_model, by_export = validate_predictions(tmp_path / "by_model"), validate_predictions(tmp_path / "by_export")
    same = sum(int((by_model.labels(i) == by_export.labels(i)).sum()) for i in by_model.image_ids)
    assert same / sum(by_model.labels(i).size for i in by_model.image_ids) >= 0.99


def test_a_partly_annealed_eomt_is_refused_by_name():
    """EoMT with a mask probability strictly between 0 and 1 masks random queries when it predicts: no graph matches."""
    from trashseg.components.export.logic import _constant_attention_mask_probs
    from trashseg.components.models.build import build_model
    from trashseg.components.models.family import get_family
    from trashseg.components.models.presets import get_preset
    from trashseg.data_contracts.classes import CLASS_NAMES, ClassTable

    model = build_model(get_preset("eomt-tiny"), ClassTable.from_names(CLASS_NAMES))
    model.attn_mask_probs.fill_(0.5)

    class Artifact:
        path, family, preset = "model", "eomt", "eomt-tiny"

    with pytest.raises(ContractError, match="family eomt .*partly annealed"):
        with _constant_attention_mask_probs(model, get_family("eomt"), Artifact()):
            pass
    model.attn_mask_probs.fill_(0.0)
    with _constant_attention_mask_probs(model, get_family("eomt"), Artifact()):
        assert model.attn_mask_probs == [0.0, 0.0]
    assert isinstance(model.attn_mask_probs, torch.Tensor)  # the buffer is back


@pytest.mark.slow  # a kfp.local run of two components: the pipelines tests cover the runner
def test_the_component_exports_and_infer_takes_its_output_through_the_local_runner(
    tiny_model, sample_dataset, sample_split, tmp_path
):
    from kfp import dsl, local

    from trashseg.components.export.component import export_op
    from trashseg.components.infer.component import infer_op

    @dsl.pipeline(name="export-then-infer")
    def pipeline():
        model = dsl.importer(artifact_uri=str(tiny_model), artifact_class=dsl.Model, reimport=False).output
        dataset = dsl.importer(artifact_uri=str(sample_dataset), artifact_class=dsl.Dataset, reimport=False).output
        exported = export_op(model=model, dataset=dataset, check_images=2).outputs["exported"]
        split = dsl.importer(artifact_uri=str(sample_split), artifact_class=dsl.Dataset, reimport=False).output
        infer_op(model=exported, dataset=dataset, split=split, test_dataset=dataset, fold=0, tta_flip=True)

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"), raise_on_error=True)
    pipeline()
    (exported,) = (tmp_path / "root").glob("export-then-infer-*/export-op/exported")
    (predictions,) = (tmp_path / "root").glob("export-then-infer-*/infer-op/test_predictions")
    output = json.loads((exported.parent / "executor_output.json").read_text())["artifacts"]["exported"]["artifacts"][0]
    assert (
        output["metadata"]["contract"] == "exported-model"
        and output["metadata"]["content_hash"] == ExportedModel(exported).content_hash
    )
    assert validate_predictions(predictions).manifest.extra["model_hash"] == ExportedModel(exported).content_hash
