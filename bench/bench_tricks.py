"""The report's three tricks measured on the generated sample data, fixed seeds.

(a) copy-paste of Battery/Clothing vs the same training without it: IoU of the pasted classes on the validation fold;
(b) round 2 with pseudo-labels on the unlabeled test part vs round 1: mIoU on the validation fold and on the test
    part's hidden truth;
(c) the hard-vote ensemble of three differently seeded models vs its best member.
The figures are what they are on tiny models and synthetic data; they are recorded, not asserted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import save
from trashseg.components.augment.logic import AugmentParams, run_augment
from trashseg.components.ensemble.logic import EnsembleParams, run_ensemble
from trashseg.components.evaluate.logic import EvaluateParams, run_evaluate
from trashseg.components.infer.logic import InferParams, run_infer
from trashseg.components.ingest.logic import run_ingest
from trashseg.components.pseudo_label.logic import run_pseudo_label
from trashseg.components.sample_data.logic import run_sample_data
from trashseg.components.split.logic import run_split
from trashseg.components.train.logic import TrainParams, run_train
from trashseg.data_contracts.metrics import Metrics

VALIDATION = EvaluateParams(fold=0)  # the models' validation fold: evaluate scores that fold's images only


def _miou(metrics_dir: Path) -> dict:
    m = Metrics(metrics_dir)
    return {"miou": m.miou, "iou": m.summary["per_class_iou"]}


def run(train_images: int = 160, test_images: int = 48, epochs: int = 30, size: int = 96) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "data", train_images, test_images, image_size=size, seed=3)
        run_ingest(root / "data/train/annotations.json", root / "data/train/images", root / "train")
        run_ingest(root / "data/test/annotations.json", root / "data/test/images", root / "test")
        run_ingest(root / "data/test_truth/annotations.json", root / "data/test/images", root / "test_truth")
        run_split(root / "train", root / "split")
        base = TrainParams(preset="upernet-convnext-tiny", epochs=epochs, image_size=size, seed=0, fold=0)

        def train_eval(name: str, datasets: list[Path], params: TrainParams = base) -> dict:
            run_train(datasets, root / "split", root / f"m_{name}", params)
            run_infer(
                root / f"m_{name}", root / "train", root / f"v_{name}", InferParams(save_probs=True), root / "split", 0
            )
            run_evaluate(root / f"v_{name}", root / "train", root / f"e_{name}", root / "split", VALIDATION)
            return _miou(root / f"e_{name}")

        figures: dict = {
            "setup": {
                "train_images": train_images,
                "test_images": test_images,
                "epochs": epochs,
                "size": size,
                "preset": base.preset,
                "fold": 0,
            }
        }
        # (a) copy-paste
        plain = train_eval("plain", [root / "train"])
        run_augment(
            root / "train",
            root / "split",
            root / "aug",
            AugmentParams(fold=0, paste_counts={"Battery": 30, "Clothing": 30}, seed=0),
        )
        pasted = train_eval("paste", [root / "train", root / "aug"])
        figures["copy_paste"] = {
            "without": {k: plain["iou"][k] for k in ("Battery", "Clothing")} | {"miou": plain["miou"]},
            "with": {k: pasted["iou"][k] for k in ("Battery", "Clothing")} | {"miou": pasted["miou"]},
        }
        # (b) pseudo-labels: round 1 = the plain model
        run_infer(root / "m_plain", root / "test", root / "t1", InferParams(save_probs=True))
        run_evaluate(root / "t1", root / "test_truth", root / "te1")
        run_pseudo_label(root / "t1", root / "test", root / "pseudo")
        round2 = train_eval("round2", [root / "train", root / "pseudo"])
        run_infer(root / "m_round2", root / "test", root / "t2", InferParams(save_probs=True))
        run_evaluate(root / "t2", root / "test_truth", root / "te2")
        figures["pseudo_label"] = {
            "round1_val_miou": plain["miou"],
            "round2_val_miou": round2["miou"],
            "round1_test_miou": Metrics(root / "te1").miou,
            "round2_test_miou": Metrics(root / "te2").miou,
        }
        # (c) ensemble of three seeds
        members = {}
        for seed in (1, 2, 3):
            params = TrainParams(preset="upernet-convnext-tiny", epochs=epochs, image_size=size, seed=seed, fold=0)
            members[seed] = train_eval(f"seed{seed}", [root / "train"], params)["miou"]
        run_ensemble([root / f"v_seed{s}" for s in (1, 2, 3)], root / "v_ens", EnsembleParams(vote="hard"))
        run_evaluate(root / "v_ens", root / "train", root / "e_ens", root / "split", VALIDATION)
        run_ensemble([root / f"v_seed{s}" for s in (1, 2, 3)], root / "v_soft", EnsembleParams(vote="soft"))
        run_evaluate(root / "v_soft", root / "train", root / "e_soft", root / "split", VALIDATION)
        figures["ensemble"] = {
            "members_val_miou": members,
            "best_member": max(members.values()),
            "hard_vote_val_miou": Metrics(root / "e_ens").miou,
            "soft_vote_val_miou": Metrics(root / "e_soft").miou,
        }
    save("tricks", figures)
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
