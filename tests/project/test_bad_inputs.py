"""A corpus of bad inputs for every stage after ingest: exit code 2, one line naming the culprit, nothing written or
changed.

Each case runs the real CLI (``components.cli.main``) in process against a world
of real artifacts (sample data, a tiny trained model, predictions, a CSV). Every
file of the world is hashed before and after each case, and the case's output
folder must stay empty: no half-written artifact, no temporary left beside it.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from trashseg.components.cli import main as trashseg
from trashseg.data_contracts.artifact import MANIFEST_NAME, write_manifest
from trashseg.data_contracts.npz import NpzWriter


def _hash_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def _forge_predictions(source: Path, target: Path, change) -> Path:
    """A copy of a predictions artifact with one label map changed and the hashes made consistent again.

    This is the hard case: the manifest agrees with the payload, so only the
    reader's own checks (class range, size from images.parquet) can catch it.
    """
    shutil.copytree(source, target)
    from trashseg.data_contracts.npz import NpzReader

    with NpzReader(source / "labels.npz") as reader:
        arrays = dict(reader.items())
    first = sorted(arrays)[0]
    arrays[first] = change(arrays[first])
    (target / "labels.npz").unlink()
    with NpzWriter(target / "labels.npz") as writer:
        for key in sorted(arrays):
            writer.add(key, arrays[key])
    from trashseg.data_contracts.artifact import read_manifest

    manifest = read_manifest(target, "predictions", (1,), verify_hashes=False)
    write_manifest(target, manifest)
    return target


def _forge_model(source: Path, target: Path, change) -> Path:
    """A copy of a model artifact whose card ``change`` edits, with the manifest's hashes made consistent again."""
    shutil.copytree(source, target)
    card = json.loads((target / "trashseg_model.json").read_text())
    change(card)
    (target / "trashseg_model.json").write_text(json.dumps(card))
    from trashseg.data_contracts.artifact import read_manifest

    write_manifest(target, read_manifest(target, "model", (1,), verify_hashes=False))
    return target


@pytest.fixture(scope="module")
def world(sample_root, sample_dataset, sample_split, tmp_path_factory) -> dict[str, Path]:
    """Real artifacts of every kind, made once; the cases only read them."""
    from trashseg.components.infer.logic import InferParams, run_infer
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.submit.logic import SubmitParams, run_submit
    from trashseg.components.train.logic import TrainParams, run_train

    root = tmp_path_factory.mktemp("world")
    w = {"root": root}
    w["dataset"] = shutil.copytree(sample_dataset, root / "dataset")
    w["split"] = shutil.copytree(sample_split, root / "split")
    w["test"] = root / "test"
    run_ingest(sample_root / "test" / "annotations.json", sample_root / "test" / "images", w["test"])
    run_ingest(sample_root / "test_truth" / "annotations.json", sample_root / "test" / "images", root / "truth")
    from trashseg.components.split.logic import SplitParams, run_split

    run_split(root / "truth", root / "other_split", SplitParams(folds=2))
    w["other_split"] = root / "other_split"
    w["model"] = root / "model"
    run_train(
        [w["dataset"]],
        w["split"],
        w["model"],
        TrainParams(preset="upernet-convnext-tiny", epochs=1, image_size=32, max_steps_per_epoch=1),
    )
    w["pred"] = root / "pred"
    run_infer(w["model"], w["dataset"], w["pred"], InferParams(save_probs=True))
    w["pred_plain"] = root / "pred_plain"
    run_infer(w["model"], w["dataset"], w["pred_plain"])
    w["pred_fold"] = root / "pred_fold"
    run_infer(w["model"], w["dataset"], w["pred_fold"], split_dir=w["split"], fold=0)
    from trashseg.components.export.logic import ExportParams, run_export

    w["exported"] = root / "exported"
    run_export(w["model"], w["exported"], params=ExportParams(check_images=1))
    w["pred_test"] = root / "pred_test"
    run_infer(w["model"], w["test"], w["pred_test"])
    w["class200"] = _forge_predictions(w["pred_plain"], root / "class200", lambda a: np.full_like(a, 200))
    w["shape3x7"] = _forge_predictions(w["pred_plain"], root / "shape3x7", lambda a: np.zeros((3, 7), np.uint8))
    w["csv"] = root / "sub.csv"
    run_submit(w["pred_plain"], w["csv"], SubmitParams(submission_size=16))
    lines = w["csv"].read_text().splitlines()
    w["csv_header"] = root / "header.csv"
    w["csv_header"].write_text(lines[0] + "\n")
    w["csv_partial"] = root / "partial.csv"
    w["csv_partial"].write_text("\n".join(lines[:3]) + "\n")
    # files users bring: a CSV whose numbers overflow, one that is not UTF-8, a template of other images
    w["csv_overflow"] = root / "overflow.csv"
    w["csv_overflow"].write_text(
        lines[0] + "\n" + lines[1].split(",")[0] + ",99999999999999999999999" + " 0" * 255 + "\n"
    )
    w["csv_latin1"] = root / "latin1.csv"
    w["csv_latin1"].write_bytes(lines[0].encode() + b"\n" + "caf\u00e9.jpg".encode("latin-1") + b",0\n")
    w["csv_uneven"] = root / "uneven.csv"
    w["csv_uneven"].write_text("\n".join([lines[0], lines[1], lines[2].split(",")[0] + ",0 0 0 0"]) + "\n")
    w["template_other"] = root / "template.csv"
    w["template_other"].write_text(lines[0] + "\n" + "".join(f"other-{k}.jpg,\n" for k in range(3)))
    w["val_foreign"] = root / "val.json"
    w["val_foreign"].write_text(json.dumps({"images": [{"id": 0, "file_name": "batch_99/never.jpg"}]}))
    # model cards no training writes
    w["model_size0"] = _forge_model(w["model"], root / "model_size0", lambda c: c.update(image_size=0))
    w["model_family"] = _forge_model(w["model"], root / "model_family", lambda c: c.update(family="segformer"))
    w["model_classes"] = _forge_model(w["model"], root / "model_classes", lambda c: c.update(classes=c["classes"][:5]))
    w["notes"] = root / "notes.txt"
    w["notes"].write_text("my notes, not an output of trashseg\n")
    # artifacts whose manifest points outside them
    for name, listed in (("escape", "../../../../etc/hostname"), ("subdir", "sub/labels.npz"), ("link", "labels.npz")):
        target = shutil.copytree(w["pred_plain"], root / name)
        data = json.loads((target / MANIFEST_NAME).read_text())
        if name == "link":
            (target / "labels.npz").unlink()
            (target / "labels.npz").symlink_to(w["pred_plain"] / "labels.npz")
        else:
            data["files"][listed] = data["files"].pop("labels.npz")
            from trashseg.data_contracts.artifact import content_hash

            data["content_hash"] = content_hash(data["files"])
        (target / MANIFEST_NAME).write_text(json.dumps(data))
        w[name] = target
    return w


# (id, argv with {placeholders} for world paths and {out}, text the one error line must hold)
CASES = [
    # split
    ("split-folds-1", "split --dataset {dataset} --folds 1 --out {out}", "--folds: 1 is out of range"),
    ("split-folds-0", "split --dataset {dataset} --folds 0 --out {out}", "--folds: 0 is out of range"),
    ("split-folds-101", "split --dataset {dataset} --folds 101 --out {out}", "--folds: 101 is out of range"),
    ("split-seed-negative", "split --dataset {dataset} --seed -1 --out {out}", "--seed: -1 is out of range"),
    ("split-dataset-missing", "split --dataset {root}/nothing --out {out}", "is not a dataset artifact directory"),
    ("split-dataset-is-split", "split --dataset {split} --out {out}", "is a 'split' artifact, expected 'dataset'"),
    ("split-out-is-input", "split --dataset {dataset} --out {dataset} --overwrite", "overlaps the input"),
    ("split-out-inside-input", "split --dataset {dataset} --out {dataset}/sub", "overlaps the input"),
    (
        "split-overwrite-other-contract",
        "split --dataset {dataset} --out {model} --overwrite",
        "is not a previous 'split' artifact",
    ),
    ("split-out-exists", "split --dataset {dataset} --out {notes}", "already exists"),
    ("split-out-under-a-file", "split --dataset {dataset} --out {notes}/split", "is a file, not a directory"),
    # augment
    (
        "augment-fold-missing",
        "augment --dataset {dataset} --split {split} --fold 9 --out {out}",
        "fold 9 does not exist",
    ),
    (
        "augment-fold-negative",
        "augment --dataset {dataset} --split {split} --fold -1 --out {out}",
        "--fold: -1 is out of range",
    ),
    (
        "augment-count-negative",
        "augment --dataset {dataset} --split {split} --paste-counts Battery=-5 --out {out}",
        "out of range",
    ),
    (
        "augment-count-text",
        "augment --dataset {dataset} --split {split} --paste-counts Battery=abc --out {out}",
        "is not int",
    ),
    (
        "augment-count-other-class",
        "augment --dataset {dataset} --split {split} --paste-counts Paper=3 --out {out}",
        "count given for",
    ),
    (
        "augment-scale-reversed",
        "augment --dataset {dataset} --split {split} --paste-scale 2 1 --out {out}",
        "MIN must not exceed MAX",
    ),
    (
        "augment-scale-zero",
        "augment --dataset {dataset} --split {split} --paste-scale 0 1 --out {out}",
        "--paste-scale: 0.0 is out of range",
    ),
    (
        "augment-scale-nan",
        "augment --dataset {dataset} --split {split} --paste-scale nan 1 --out {out}",
        "--paste-scale: nan is out of range",
    ),
    (
        "augment-scale-text",
        "augment --dataset {dataset} --split {split} --paste-scale big --out {out}",
        "invalid float value: 'big'",
    ),
    (
        "augment-rotate",
        "augment --dataset {dataset} --split {split} --paste-rotate 500 --out {out}",
        "--paste-rotate: 500.0 is out of range",
    ),
    (
        "augment-class-unknown",
        "augment --dataset {dataset} --split {split} --paste-classes Dragon --out {out}",
        "unknown class 'Dragon'",
    ),
    (
        "augment-classes-empty",
        "augment --dataset {dataset} --split {split} --paste-classes ' ' --out {out}",
        "needs one or more class names",
    ),
    ("augment-foreign-split", "augment --dataset {dataset} --split {other_split} --out {out}", "was made for dataset"),
    (
        "augment-out-is-split",
        "augment --dataset {dataset} --split {split} --out {split} --overwrite",
        "overlaps the input",
    ),
    ("augment-unlabeled", "augment --dataset {test} --split {split} --out {out}", "copy-paste needs a labeled dataset"),
    # train
    (
        "train-lr-head-zero",
        "train --dataset {dataset} --split {split} --lr-head 0 --out {out}",
        "--lr-head: 0.0 is out of range",
    ),
    (
        "train-lr-head-negative",
        "train --dataset {dataset} --split {split} --lr-head -0.001 --out {out}",
        "--lr-head: -0.001 is out of range",
    ),
    (
        "train-lr-backbone-nan",
        "train --dataset {dataset} --split {split} --lr-backbone nan --out {out}",
        "--lr-backbone: nan",
    ),
    (
        "train-lr-backbone-inf",
        "train --dataset {dataset} --split {split} --lr-backbone inf --out {out}",
        "--lr-backbone: inf",
    ),
    (
        "train-batch-zero",
        "train --dataset {dataset} --split {split} --batch-size 0 --out {out}",
        "--batch-size: 0 is out of range",
    ),
    (
        "train-epochs-zero",
        "train --dataset {dataset} --split {split} --epochs 0 --out {out}",
        "--epochs: 0 is out of range",
    ),
    (
        "train-image-size-negative",
        "train --dataset {dataset} --split {split} --image-size -64 --out {out}",
        "--image-size: -64",
    ),
    (
        "train-image-size-tiny",
        "train --dataset {dataset} --split {split} --image-size 16 --out {out}",
        "--image-size: 16",
    ),
    (
        "train-device-typo",
        "train --dataset {dataset} --split {split} --device gpu0 --out {out}",
        "--device: 'gpu0' is not a device",
    ),
    (
        "train-device-no-gpu",
        "train --dataset {dataset} --split {split} --device cuda --out {out}",
        "no CUDA device is available",
    ),
    (
        "train-preset-unknown",
        "train --dataset {dataset} --split {split} --preset nope --out {out}",
        "--preset: unknown model preset 'nope'",
    ),
    (
        "train-weight-decay",
        "train --dataset {dataset} --split {split} --weight-decay 2 --out {out}",
        "--weight-decay: 2.0",
    ),
    (
        "train-warmup-negative",
        "train --dataset {dataset} --split {split} --warmup-steps -1 --out {out}",
        "--warmup-steps: -1",
    ),
    ("train-workers", "train --dataset {dataset} --split {split} --workers -2 --out {out}", "--workers: -2"),
    (
        "train-max-steps",
        "train --dataset {dataset} --split {split} --max-steps-per-epoch -1 --out {out}",
        "--max-steps-per-epoch",
    ),
    (
        "train-photometric-unknown",
        "train --dataset {dataset} --split {split} --photometric blur --out {out}",
        "--photometric: 'blur' is not one of",
    ),
    (
        "train-same-dataset-twice",
        "train --dataset {dataset} --dataset {dataset} --split {split} --out {out}",
        "holds validation image",
    ),
    ("train-fold-missing", "train --dataset {dataset} --split {split} --fold 7 --out {out}", "fold 7 does not exist"),
    ("train-foreign-split", "train --dataset {dataset} --split {other_split} --out {out}", "was made for dataset"),
    ("train-unlabeled-extra", "train --dataset {dataset} --dataset {test} --split {split} --out {out}", "is unlabeled"),
    (
        "train-out-is-dataset",
        "train --dataset {dataset} --split {split} --out {dataset} --overwrite",
        "overlaps the input",
    ),
    (
        "train-checkpoints-in-split",
        "train --dataset {dataset} --split {split} --checkpoint-dir {split}/ck --out {out}",
        "overlaps the input",
    ),
    (
        "train-out-under-a-file",
        "train --dataset {dataset} --split {split} --out {notes}/model",
        "is a file, not a directory",
    ),
    # infer
    (
        "infer-batch-zero",
        "infer --model {model} --dataset {dataset} --batch-size 0 --out {out}",
        "--batch-size: 0 is out of range",
    ),
    (
        "infer-fold-without-split",
        "infer --model {model} --dataset {dataset} --fold 2 --out {out}",
        "--fold: needs --split",
    ),
    (
        "infer-split-without-fold",
        "infer --model {model} --dataset {dataset} --split {split} --out {out}",
        "--split: needs --fold",
    ),
    (
        "infer-tta-scale-zero",
        "infer --model {model} --dataset {dataset} --tta-scales 0 --out {out}",
        "--tta-scales: 0.0 is out of range",
    ),
    (
        "infer-tta-scale-nan",
        "infer --model {model} --dataset {dataset} --tta-scales 1 nan --out {out}",
        "--tta-scales: nan",
    ),
    (
        "infer-tta-scale-text",
        "infer --model {model} --dataset {dataset} --tta-scales big --out {out}",
        "invalid float value: 'big'",
    ),
    (
        "infer-out-is-dataset",
        "infer --model {model} --dataset {dataset} --out {dataset} --overwrite",
        "overlaps the input",
    ),
    ("infer-out-is-model", "infer --model {model} --dataset {dataset} --out {model} --overwrite", "overlaps the input"),
    (
        "infer-model-is-dataset",
        "infer --model {dataset} --dataset {dataset} --out {out}",
        "is a 'dataset' artifact, expected 'model'",
    ),
    (
        "infer-device-typo",
        "infer --model {model} --dataset {dataset} --device gpu0 --out {out}",
        "--device: 'gpu0' is not a device",
    ),
    (
        "infer-fold-missing",
        "infer --model {model} --dataset {dataset} --split {split} --fold 5 --out {out}",
        "fold 5 does not exist",
    ),
    (
        "infer-model-is-predictions",
        "infer --model {pred} --dataset {dataset} --out {out}",
        "is a 'predictions' artifact, expected 'model' or 'exported-model'",
    ),
    (
        "infer-export-tta-scales",
        "infer --model {exported} --dataset {dataset} --tta-scales 0.5 1 --out {out}",
        "only at its export size",
    ),
    (
        "infer-export-on-cuda",
        "infer --model {exported} --dataset {dataset} --device cuda --out {out}",
        "ONNX Runtime's CPU provider",
    ),
    # export
    (
        "export-check-images-0",
        "export --model {model} --check-images 0 --out {out}",
        "--check-images: 0 is out of range",
    ),
    (
        "export-check-images-1000",
        "export --model {model} --check-images 1000 --out {out}",
        "--check-images: 1000 is out of range",
    ),
    ("export-model-is-dataset", "export --model {dataset} --out {out}", "is a 'dataset' artifact, expected 'model'"),
    (
        "export-model-is-export",
        "export --model {exported} --out {out}",
        "is a 'exported-model' artifact, expected 'model'",
    ),
    ("export-model-missing", "export --model {root}/nothing --out {out}", "is not a model artifact directory"),
    ("export-out-is-model", "export --model {model} --out {model} --overwrite", "overlaps the input"),
    ("export-out-in-dataset", "export --model {model} --dataset {dataset} --out {dataset}/onnx", "overlaps the input"),
    ("export-out-exists", "export --model {model} --out {notes}", "already exists"),
    (
        "export-overwrite-other-contract",
        "export --model {model} --out {pred} --overwrite",
        "is not a previous 'exported-model' artifact",
    ),
    (
        "export-dataset-is-split",
        "export --model {model} --dataset {split} --out {out}",
        "is a 'split' artifact, expected 'dataset'",
    ),
    # serve (refused before the model is loaded or a port is opened)
    ("serve-port-low", "serve --model {model} --port 80", "--port: 80 is out of range"),
    ("serve-port-high", "serve --model {model} --port 70000", "--port: 70000 is out of range"),
    (
        "serve-host-not-here",
        "serve --model {model} --host 203.0.113.7",
        "--host: '203.0.113.7' is not an address of this machine",
    ),
    (
        "serve-model-is-dataset",
        "serve --model {dataset}",
        "is a 'dataset' artifact, expected 'model' or 'exported-model'",
    ),
    ("serve-model-missing", "serve --model {root}/nothing", "is not a model artifact directory"),
    ("serve-model-is-predictions", "serve --model {pred}", "is a 'predictions' artifact"),
    ("serve-tta-scale-0", "serve --model {model} --tta-scales 0", "--tta-scales: 0.0 is out of range"),
    ("serve-export-tta-scales", "serve --model {exported} --tta-scales 0.5 1", "only at its export size"),
    ("serve-export-on-cuda", "serve --model {exported} --device cuda:0", "ONNX Runtime's CPU provider"),
    ("serve-device-typo", "serve --model {model} --device gpu0", "--device: 'gpu0' is not a device"),
    ("serve-max-images-0", "serve --model {model} --max-images 0", "--max-images: 0 is out of range"),
    ("serve-max-request-0", "serve --model {model} --max-request-mb 0", "--max-request-mb: 0 is out of range"),
    ("serve-max-pixels-0", "serve --model {model} --max-pixels 0", "--max-pixels: 0 is out of range"),
    ("serve-grace-negative", "serve --model {model} --grace-period -1", "--grace-period: -1 is out of range"),
    # pipeline deploy (refused before any cluster is asked)
    ("pipeline-deploy-local-path", "pipeline deploy {model} --dry-run", "is not an object-store URI KServe can fetch"),
    (
        "pipeline-deploy-bad-name",
        "pipeline deploy s3://bucket/model --service-name Trash_Seg --dry-run",
        "--service-name: 'Trash_Seg' is not an InferenceService name",
    ),
    (
        "pipeline-deploy-wait-negative",
        "pipeline deploy s3://bucket/model --wait-seconds -1",
        "--wait-seconds: -1 is out of range",
    ),
    (
        "pipeline-deploy-memory-typo",
        "pipeline deploy s3://bucket/model --service-memory 4GB",
        "--service-memory: '4GB' is not a Kubernetes quantity",
    ),
    # evaluate
    (
        "evaluate-partial",
        "evaluate --predictions {pred_fold} --dataset {dataset} --out {out}",
        "has no prediction for image",
    ),
    (
        "evaluate-fold-without-split",
        "evaluate --predictions {pred} --dataset {dataset} --fold 0 --out {out}",
        "--fold: needs --split",
    ),
    ("evaluate-unlabeled", "evaluate --predictions {pred_test} --dataset {test} --out {out}", "has no ground truth"),
    (
        "evaluate-foreign-images",
        "evaluate --predictions {pred_test} --dataset {dataset} --out {out}",
        "is not in dataset",
    ),
    (
        "evaluate-out-is-predictions",
        "evaluate --predictions {pred} --dataset {dataset} --out {pred} --overwrite",
        "overlaps the input",
    ),
    (
        "evaluate-class-200",
        "evaluate --predictions {class200} --dataset {dataset} --out {out}",
        "class 200 outside 0..10",
    ),
    (
        "evaluate-shape-3x7",
        "evaluate --predictions {shape3x7} --dataset {dataset} --out {out}",
        "differs from images.parquet",
    ),
    # pseudo-label
    (
        "pseudo-confidence-high",
        "pseudo-label --predictions {pred} --dataset {dataset} --min-confidence 1.5 --out {out}",
        "--min-confidence: 1.5 is out of range",
    ),
    (
        "pseudo-confidence-nan",
        "pseudo-label --predictions {pred} --dataset {dataset} --min-confidence nan --out {out}",
        "--min-confidence: nan",
    ),
    (
        "pseudo-round-zero",
        "pseudo-label --predictions {pred} --dataset {dataset} --round 0 --out {out}",
        "--round: 0 is out of range",
    ),
    (
        "pseudo-no-probs",
        "pseudo-label --predictions {pred_plain} --dataset {dataset} --min-confidence 0.5 --out {out}",
        "needs probabilities",
    ),
    (
        "pseudo-other-dataset",
        "pseudo-label --predictions {pred_test} --dataset {dataset} --out {out}",
        "has no prediction for image",
    ),
    (
        "pseudo-out-is-dataset",
        "pseudo-label --predictions {pred} --dataset {dataset} --out {dataset} --overwrite",
        "overlaps the input",
    ),
    # ensemble
    (
        "ensemble-weights-nan",
        "ensemble --predictions {pred} {pred_plain} --weights nan 1 --out {out}",
        "--weights: nan",
    ),
    (
        "ensemble-weights-inf",
        "ensemble --predictions {pred} {pred_plain} --weights inf 1 --out {out}",
        "--weights: inf",
    ),
    (
        "ensemble-weights-negative",
        "ensemble --predictions {pred} {pred_plain} --weights -1 1 --out {out}",
        "--weights: -1.0",
    ),
    (
        "ensemble-weights-count",
        "ensemble --predictions {pred} {pred_plain} --weights 1 --out {out}",
        "1 weights for 2 predictions",
    ),
    ("ensemble-weights-zero", "ensemble --predictions {pred} {pred_plain} --weights 0 0 --out {out}", "positive sum"),
    ("ensemble-one-input", "ensemble --predictions {pred} --out {out}", "at least two predictions"),
    (
        "ensemble-out-is-input",
        "ensemble --predictions {pred} {pred_plain} --out {pred} --overwrite",
        "overlaps the input",
    ),
    (
        "ensemble-soft-without-probs",
        "ensemble --predictions {pred} {pred_plain} --vote soft --out {out}",
        "needs probabilities",
    ),
    ("ensemble-misaligned", "ensemble --predictions {pred} {pred_fold} --out {out}", "has no prediction for image"),
    ("ensemble-class-200", "ensemble --predictions {pred} {class200} --out {out}", "class 200 outside 0..10"),
    (
        "ensemble-weights-text",
        "ensemble --predictions {pred} {pred_plain} --weights 1 x --out {out}",
        "invalid float value: 'x'",
    ),
    # compare (the paired bootstrap's knobs, checked before any prediction is scored)
    (
        "compare-resamples-10",
        "compare --member a={pred} --member b={pred_plain} --delta g=a-b --dataset {dataset} --resamples 10 "
        "--out {out}/c.json",
        "--resamples: 10 is out of range",
    ),
    (
        "compare-confidence-1",
        "compare --member a={pred} --member b={pred_plain} --delta g=a-b --dataset {dataset} --confidence 1 "
        "--out {out}/c.json",
        "--confidence: 1.0 is out of range",
    ),
    (
        "compare-fold-without-split",
        "compare --member a={pred} --member b={pred_plain} --delta g=a-b --dataset {dataset} --fold 0 "
        "--out {out}/c.json",
        "--fold: needs --split",
    ),
    (
        "compare-fold-negative",
        "compare --member a={pred} --member b={pred_plain} --delta g=a-b --dataset {dataset} --split {split} "
        "--fold=-2 --out {out}/c.json",
        "--fold: -2 is out of range",
    ),
    # submit and decode
    (
        "submit-size-zero",
        "submit --predictions {pred} --submission-size 0 --out {out}/s.csv",
        "--submission-size: 0 is out of range",
    ),
    (
        "submit-size-negative",
        "submit --predictions {pred} --submission-size -5 --out {out}/s.csv",
        "--submission-size: -5 is out of range",
    ),
    ("submit-class-200", "submit --predictions {class200} --out {out}/s.csv", "class 200 outside 0..10"),
    ("submit-shape-3x7", "submit --predictions {shape3x7} --out {out}/s.csv", "differs from images.parquet"),
    ("submit-out-is-predictions", "submit --predictions {pred} --out {pred} --overwrite", "overlaps the input"),
    (
        "submit-overwrite-notes",
        "submit --predictions {pred} --out {notes} --overwrite",
        "is not a previous output of this kind",
    ),
    ("decode-header-only", "submit --decode {csv_header} --submission-size 16 --out {out}", "has a header but no rows"),
    (
        "decode-partial-for-dataset",
        "submit --decode {csv_partial} --dataset {dataset} --submission-size 16 --out {out}",
        "has no row for image",
    ),
    (
        "decode-out-is-dataset",
        "submit --decode {csv} --dataset {dataset} --submission-size 16 --out {dataset} --overwrite",
        "overlaps the input",
    ),
    (
        "decode-uneven-rows",
        "submit --decode {csv_uneven} --out {out}",
        "row 3: field 'PredictionString': 4 values, expected",
    ),
    (
        "decode-size-zero",
        "submit --decode {csv} --submission-size 0 --out {out}",
        "--submission-size: 0 is out of range",
    ),
    # artifacts that reach outside themselves
    (
        "manifest-escapes",
        "submit --predictions {escape} --out {out}/s.csv",
        "is not a plain file name inside the artifact",
    ),
    (
        "manifest-subdir",
        "submit --predictions {subdir} --out {out}/s.csv",
        "is not a plain file name inside the artifact",
    ),
    ("payload-symlink", "submit --predictions {link} --out {out}/s.csv", "is a symbolic link"),
    # files and folders users bring
    ("decode-overflow", "submit --decode {csv_overflow} --out {out}", "'99999999999999999999' is not a class id"),
    ("decode-not-utf8", "submit --decode {csv_latin1} --out {out}", "is not UTF-8 text"),
    (
        "submit-template-other-images",
        "submit --predictions {pred} --template {template_other} --out {out}/s.csv",
        "image 'other-0.jpg' is not among the",
    ),
    (
        "split-validation-foreign",
        "split --dataset {dataset} --validation-coco {val_foreign} --out {out}",
        "image 'batch_99/never.jpg' is not in the training dataset",
    ),
    (
        "infer-card-size-zero",
        "infer --model {model_size0} --dataset {dataset} --out {out}",
        "image_size 0 is not a positive",
    ),
    (
        "infer-card-family",
        "infer --model {model_family} --dataset {dataset} --out {out}",
        "unknown model family 'segformer'",
    ),
    ("infer-card-classes", "infer --model {model_classes} --dataset {dataset} --out {out}", "do not match config.json"),
    # every count and size knob
    ("sample-data-train-images", "sample-data --train-images 0 --out {out}", "--train-images: 0 is out of range"),
    ("sample-data-test-images", "sample-data --test-images -3 --out {out}", "--test-images: -3 is out of range"),
    ("sample-data-image-size", "sample-data --image-size 8 --out {out}", "--image-size: 8 is out of range"),
    ("sample-data-seed", "sample-data --seed -1 --out {out}", "--seed: -1 is out of range"),
    (
        "ingest-max-pixels",
        "ingest --coco {notes} --images {root} --max-pixels 0 --out {out}",
        "--max-pixels: 0 is out of range",
    ),
    (
        "train-max-steps-negative",
        "train --dataset {dataset} --split {split} --max-steps-per-epoch -5 --out {out}",
        "--max-steps-per-epoch: -5",
    ),
    (
        "compare-resamples-huge",
        "compare --member a={pred} --member b={pred_plain} --delta g=a-b --dataset {dataset} "
        "--resamples 10000000 --out {out}/c.json",
        "--resamples: 10000000 is out of range",
    ),
    (
        "augment-count-huge",
        "augment --dataset {dataset} --split {split} --paste-counts Battery=1000000 --out {out}",
        "--paste-counts Battery: 1000000 is out of range",
    ),
    ("runs-count-zero", "pipeline runs --host http://127.0.0.1:9 --count 0", "--count: 0 is out of range"),
    (
        "run-local-one-folder",
        "pipeline run-local --train-data {root} --pipeline-root {out}",
        "--test-data: is needed with --train-data",
    ),
    # view (refused before any server starts)
    ("view-port-low", "view --dataset {dataset} --predictions {pred} --port 80", "--port: 80 is out of range"),
    ("view-port-high", "view --dataset {dataset} --predictions {pred} --port 70000", "--port: 70000 is out of range"),
]


@pytest.mark.parametrize("case_id, argv, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_cleanly(world, tmp_path, capsys, case_id, argv, expected):
    out_root = tmp_path / "outputs"
    out_root.mkdir()
    before = _hash_tree(world["root"])
    args = shlex.split(argv.format(out=out_root / "out", **{k: str(v) for k, v in world.items()}))
    try:
        code = trashseg(args)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("error:") or ": error:" in line]
    assert code == 2, f"{case_id}: exit code {code}\n{err}"
    assert "Traceback" not in err
    assert len(error_lines) == 1 and expected in error_lines[0], f"{case_id}: {err}"
    assert _hash_tree(world["root"]) == before, f"{case_id} changed an input"
    assert list(out_root.iterdir()) == [], f"{case_id} left {list(out_root.iterdir())}"
    assert not [p for p in world["root"].rglob(".*tmp-*")], f"{case_id} left a temporary in the world"


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 60
    stages = {c[1].split()[0] for c in CASES}
    assert {
        "split",
        "augment",
        "train",
        "infer",
        "evaluate",
        "pseudo-label",
        "ensemble",
        "submit",
        "view",
        "export",
        "serve",
    } <= stages
