"""One component alone in a pipeline, on small inputs: the same pipelines run through kfp's SubprocessRunner
(tests/pipelines) and DockerRunner with the project's images (tests/containers), and the same check of what they
wrote."""

from __future__ import annotations

import json
from pathlib import Path

from kfp import dsl

SUBMISSION_SIZE = 32


def alone_pipeline(case: str, artifacts: dict[str, Path]):
    """A pipeline named ``alone-CASE`` whose one task is ``case``'s component; ``artifacts`` names its inputs' folders
    (raw: a COCO folder; dataset, split, model, pred, metrics: artifacts)."""
    from trashseg.components.augment.component import augment_op
    from trashseg.components.ensemble.component import ensemble_op
    from trashseg.components.evaluate.component import compare_op, evaluate_op
    from trashseg.components.infer.component import infer_op
    from trashseg.components.ingest.component import ingest_op
    from trashseg.components.pseudo_label.component import pseudo_label_op
    from trashseg.components.split.component import split_op
    from trashseg.components.submit.component import submit_op
    from trashseg.components.summary.component import summary_op
    from trashseg.components.train.component import train_op

    def imported(name: str, cls=dsl.Dataset):
        return dsl.importer(artifact_uri=str(artifacts[name]), artifact_class=cls, reimport=False).output

    @dsl.pipeline(name=f"alone-{case.replace('_', '-')}")
    def alone():
        if case == "ingest":
            ingest_op(raw=imported("raw"))
            return
        dataset = imported("dataset")
        if case == "split":
            split_op(dataset=dataset, folds=3, seed=1)
        elif case == "augment":
            augment_op(dataset=dataset, split=imported("split"), fold=0, paste_counts={"Battery": 2, "Clothing": 2})
        elif case == "train":  # kfp.local 2.17 cannot leave an Optional[int] unset (it calls int(None)): each is given
            train_op(
                dataset=dataset,
                split=imported("split"),
                preset="upernet-convnext-tiny",
                epochs=1,
                lr_backbone=1e-3,
                lr_head=3e-3,
                image_size=64,
                batch_size=8,
                warmup_steps=0,
            )
        elif case == "infer":
            infer_op(
                model=imported("model", dsl.Model),
                dataset=dataset,
                split=imported("split"),
                test_dataset=dataset,
                fold=1,
                tta_flip=False,
            )
        elif case == "evaluate":
            evaluate_op(predictions=imported("pred"), dataset=dataset, split=imported("split"), fold=0, subset=True)
        elif case == "compare":
            compare_op(
                first=imported("pred"),
                second=imported("pred"),
                dataset=dataset,
                names=["a", "b"],
                deltas=["gain=a-b"],
                classes=["Battery"],
                split=imported("split"),
                fold=0,
                resamples=100,
            )
        elif case == "pseudo_label":
            pseudo_label_op(predictions=imported("pred"), dataset=dataset, min_confidence=0.5)
        elif case == "ensemble":
            ensemble_op(first=imported("pred"), second=imported("pred"), vote="hard")
        elif case == "submit":
            submit_op(predictions=imported("pred"), submission_size=SUBMISSION_SIZE)
        elif case == "summary":
            summary_op(model=imported("model", dsl.Model), evaluation=imported("metrics"))

    return alone


def check_outputs(root: Path, case: str, images: int) -> None:
    """What the run of ``alone_pipeline(case)`` under ``root`` wrote: something, and each output valid (a submission
    of ``images`` rows, every other folder its contract)."""
    from trashseg.data_contracts.artifact import read_manifest
    from trashseg.data_contracts.submission import read_submission

    outputs = [
        p
        for p in root.glob(f"alone-{case.replace('_', '-')}-*/*/*")
        if p.parent.name.endswith(("-op", "-op-2")) and p.name != "executor_output.json"
    ]
    assert outputs, f"{case} wrote nothing"
    for path in outputs:
        if path.name == "submission":  # the folder holding the file users upload
            assert len(list(read_submission(path / "submission.csv", SUBMISSION_SIZE, 11))) == images
        elif path.is_dir():
            contract = json.loads((path / "manifest.json").read_text())["contract"]
            read_manifest(path, contract, (1,))
