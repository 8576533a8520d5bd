"""infer: our batched, streaming inference vs transformers' pipeline("image-segmentation") on the same model and images.

Each measurement runs in a fresh process so peak memory (max RSS) is its own; the
number of images grows 100 -> 1,000 to show whose memory stays flat. Label maps are
compared on the first images (same model, same resize and normalisation).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import save

BATCH = 8


def _pipeline_labels(outputs: list, names: tuple[str, ...], size: tuple[int, int]) -> np.ndarray:
    label = np.zeros(size, dtype=np.uint8)
    for segment in outputs:
        label[np.asarray(segment["mask"]) > 0] = names.index(segment["label"])
    return label


def worker(method: str, count: int, dataset_dir: str, model_dir: str, out_dir: str) -> dict:
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.model import ModelArtifact

    dataset = Dataset(Path(dataset_dir))
    ids = dataset.image_ids[:count]
    started = time.perf_counter()
    if method == "ours":
        from trashseg.components.infer.logic import InferParams, run_infer
        from trashseg.components.models.build import load_model

        run_infer(Path(model_dir), Path(dataset_dir), Path(out_dir) / f"pred{count}", InferParams(batch_size=BATCH))
        from trashseg.data_contracts.predictions import Predictions

        predictions = Predictions(Path(out_dir) / f"pred{count}")
        first = [predictions.labels(i) for i in ids[:4]]
    else:
        from PIL import Image
        from transformers import SegformerImageProcessorPil, pipeline

        artifact = ModelArtifact(Path(model_dir))
        processor = SegformerImageProcessorPil(
            do_resize=True, size={"height": artifact.image_size, "width": artifact.image_size}, do_reduce_labels=False
        )
        pipe = pipeline("image-segmentation", model=load_model(artifact), image_processor=processor, device=-1)
        images = (Image.fromarray(dataset.image(i)) for i in ids)
        outputs = list(pipe(images, subtask="semantic", batch_size=BATCH))
        first = [_pipeline_labels(o, artifact.classes.names, (512, 512)) for o in outputs[:4]]
    seconds = time.perf_counter() - started
    np.savez(Path(out_dir) / f"{method}{count}.npz", *first)
    return {
        "method": method,
        "images": len(ids),
        "seconds": seconds,
        "images_per_s": len(ids) / seconds,
        "max_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's high-water RSS (VmHWM; unlike ru_maxrss it is not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(counts: tuple[int, ...] = (100, 300, 1000)) -> dict:
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.components.split.logic import run_split
    from trashseg.components.train.logic import TrainParams, run_train

    figures: dict = {"runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "data", train_images=max(counts), test_images=1, image_size=512, seed=5)
        coco = json.loads((root / "data/train/annotations.json").read_text())
        for count in counts:  # one dataset per size, so both methods predict exactly `count` images
            keep = {image["id"] for image in coco["images"][:count]}
            sliced = {
                **coco,
                "images": coco["images"][:count],
                "annotations": [a for a in coco["annotations"] if a["image_id"] in keep],
            }
            (root / f"coco{count}.json").write_text(json.dumps(sliced))
            run_ingest(root / f"coco{count}.json", root / "data/train/images", root / f"ds{count}")
        run_split(root / f"ds{counts[0]}", root / "split")
        run_train(
            [root / f"ds{counts[0]}"],
            root / "split",
            root / "model",
            TrainParams(preset="upernet-convnext-tiny", epochs=1, max_steps_per_epoch=5, image_size=128),
        )
        for count in counts:
            for method in ("pipeline", "ours"):
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.bench_infer",
                        "worker",
                        method,
                        str(count),
                        str(root / f"ds{count}"),
                        str(root / "model"),
                        str(root),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={"TRASHSEG_PROGRESS": "0", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"},
                )
                figures["runs"].append(json.loads(result.stdout.strip().splitlines()[-1]))
        ours = np.load(root / f"ours{counts[0]}.npz")
        theirs = np.load(root / f"pipeline{counts[0]}.npz")
        figures["label_agreement_first_images"] = float(np.mean([(ours[k] == theirs[k]).mean() for k in ours.files]))
    by = {(r["method"], r["images"]): r for r in figures["runs"]}
    figures["speedup_at_max"] = (
        by[("ours", max(counts))]["images_per_s"] / by[("pipeline", max(counts))]["images_per_s"]
    )
    figures["rss_growth_mb"] = {
        m: by[(m, max(counts))]["max_rss_mb"] - by[(m, min(counts))]["max_rss_mb"] for m in ("ours", "pipeline")
    }
    _plot(figures, counts)
    save("infer", figures)
    return figures


def _plot(figures: dict, counts) -> None:
    """Peak memory vs number of images, both methods, as bench/results/infer_memory.png."""
    from bench.common import RESULTS, line_plot_png

    series = {
        method: [(r["images"], r["max_rss_mb"]) for r in figures["runs"] if r["method"] == method]
        for method in ("ours", "pipeline")
    }
    RESULTS.mkdir(exist_ok=True)
    line_plot_png(series, RESULTS / "infer_memory.png", "peak memory of inference", "images", "MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])))
    else:
        print(json.dumps(run(), indent=1))
