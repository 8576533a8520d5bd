"""train: our training loop vs the transformers Trainer with the semantic-segmentation example's preprocessing.

Same model (tiny UperNet), same images, batch size and image size, the same number of steps, CPU. The baseline
decodes each image with PIL, flips at random and runs the image processor per sample (as the official example's
on-the-fly transform does), then trains with Trainer; ours is `trashseg train` restricted to the same steps.
Throughput is training images per second over 3 epochs as each reports it (ours: the epochs' training loops, not
validation; Trainer: train_samples_per_second). From the second epoch on ours reuses decoded, resized pairs. Needs
`accelerate` (Trainer's dependency): pip install accelerate.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from bench.common import save

BATCH, SIZE, STEPS, EPOCHS = 8, 128, 30, 3  # 30 steps x 8 = the 240 training images: each epoch sees them all


class ExampleStyleDataset:
    """What the official example feeds Trainer: PIL image + mask -> image processor -> pixel_values, labels."""

    def __init__(self, dataset, ids, processor, seed: int = 0):
        self.dataset, self.ids, self.processor = dataset, ids, processor
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict:
        from PIL import Image, ImageOps

        image_id = self.ids[index]
        image = Image.open(io.BytesIO(self.dataset.image_bytes(image_id))).convert("RGB")
        mask = Image.fromarray(self.dataset.mask(image_id))
        if self.rng.random() < 0.5:
            image, mask = ImageOps.mirror(image), ImageOps.mirror(mask)
        encoded = self.processor(images=image, segmentation_maps=mask, return_tensors="pt")
        return {"pixel_values": encoded["pixel_values"][0], "labels": encoded["labels"][0].long()}


def run() -> dict:
    from transformers import SegformerImageProcessorPil, Trainer, TrainingArguments

    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.models.build import build_model
    from trashseg.components.models.presets import get_preset
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.components.split.logic import run_split
    from trashseg.components.train.logic import TrainParams, run_train
    from trashseg.data_contracts.classes import ClassTable
    from trashseg.data_contracts.dataset import Dataset
    from trashseg.data_contracts.model import ModelArtifact
    from trashseg.data_contracts.split import Split

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(root / "data", train_images=300, test_images=1, image_size=512, seed=7)
        run_ingest(root / "data/train/annotations.json", root / "data/train/images", root / "ds")
        run_split(root / "ds", root / "split")
        params = TrainParams(
            preset="upernet-convnext-tiny",
            epochs=EPOCHS,
            batch_size=BATCH,
            image_size=SIZE,
            max_steps_per_epoch=STEPS,
            hflip=True,
        )
        run_train([root / "ds"], root / "split", root / "ours", params)
        history = ModelArtifact(root / "ours").history().to_pandas()
        per_epoch = history["images_per_second"].tolist()
        ours_ips = STEPS * BATCH * EPOCHS / sum(STEPS * BATCH / v for v in per_epoch)  # all epochs' training loops

        dataset = Dataset(root / "ds")
        fold_of = Split(root / "split").fold_of()
        train_ids = [i for i in dataset.image_ids if fold_of[i] != 0]
        processor = SegformerImageProcessorPil(
            do_resize=True, size={"height": SIZE, "width": SIZE}, do_reduce_labels=False
        )
        model = build_model(get_preset(params.preset), ClassTable(), seed=0)
        args = TrainingArguments(
            output_dir=str(root / "trainer"),
            per_device_train_batch_size=BATCH,
            max_steps=STEPS * EPOCHS,
            learning_rate=3e-3,
            use_cpu=True,
            report_to=[],
            save_strategy="no",
            logging_strategy="no",
            dataloader_num_workers=0,
            remove_unused_columns=False,
            disable_tqdm=True,
        )
        result = Trainer(
            model=model, args=args, train_dataset=ExampleStyleDataset(dataset, train_ids, processor)
        ).train()
        trainer_ips = float(result.metrics["train_samples_per_second"])
    figures_sweep = batch_sweep()
    figures = {
        "batch_sweep": figures_sweep,
        "batch": BATCH,
        "image_size": SIZE,
        "steps": STEPS * EPOCHS,
        "epochs": EPOCHS,
        "model": params.preset,
        "ours_images_per_s": ours_ips,
        "ours_images_per_s_by_epoch": per_epoch,
        "trainer_images_per_s": trainer_ips,
        "speedup": ours_ips / trainer_ips,
    }
    save("train", figures)
    from bench.common import RESULTS, line_plot_png

    line_plot_png(
        {"ours (tiny UperNet, 128 px)": [(b, v) for b, v in figures_sweep.items()]},
        RESULTS / "train_throughput_vs_batch.png",
        "training throughput",
        "batch size",
        "img/s",
    )
    return figures


def batch_sweep(batches: tuple[int, ...] = (2, 4, 8, 16), steps: int = 12) -> dict[int, float]:
    """Our training throughput (second epoch, decoded pairs cached) as the batch size grows."""
    from trashseg.components.ingest.logic import run_ingest
    from trashseg.components.sample_data.logic import run_sample_data
    from trashseg.components.split.logic import run_split
    from trashseg.components.train.logic import TrainParams, run_train
    from trashseg.data_contracts.model import ModelArtifact

    sweep = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_sample_data(
            root / "data", train_images=max(batches) * steps * 5 // 4 + 8, test_images=1, image_size=256, seed=8
        )
        run_ingest(root / "data/train/annotations.json", root / "data/train/images", root / "ds")
        run_split(root / "ds", root / "split")
        for batch in batches:
            params = TrainParams(
                preset="upernet-convnext-tiny", epochs=2, batch_size=batch, image_size=SIZE, max_steps_per_epoch=steps
            )
            run_train([root / "ds"], root / "split", root / f"m{batch}", params)
            sweep[batch] = float(ModelArtifact(root / f"m{batch}").history().to_pandas()["images_per_second"].iloc[-1])
    return sweep


if __name__ == "__main__":
    print(run())
