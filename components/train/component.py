"""kfp component: train (GPU image; resumes from its checkpoint when the task is retried)."""

from kfp import dsl

from pipelines.images import GPU_IMAGE


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def train_op(dataset: dsl.Input[dsl.Dataset], split: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model],
             metrics: dsl.Output[dsl.Metrics], report: dsl.Output[dsl.HTML],
             augmented: dsl.Input[dsl.Dataset] = None, pseudo_labeled: dsl.Input[dsl.Dataset] = None,
             preset: str = "upernet-convnext", fold: int = 0, epochs: int = 50, batch_size: int = 0, lr_backbone: float = 4e-6,
             lr_head: float = 4e-5, warmup_steps: int = 0, schedule: str = "poly", image_size: int = 0, seed: int = 42,
             pretrained: str = "", from_scratch: bool = False, checkpoint_root: str = "", max_steps_per_epoch: int = 0,
             augment: str = "", gpus: int = 1):
    """Train a preset on all folds but ``fold`` (+ optional training-only datasets); the best epoch is the model.

    Args:
        dataset: Labeled dataset the split was made on.
        split: Its split.
        model: The best model by validation mIoU.
        metrics: Validation mIoU and per-class IoU of the best epoch.
        report: Loss and mIoU curves.
        augmented: Optional copy-paste dataset for this fold.
        pseudo_labeled: Optional pseudo-labeled dataset.
        preset: Model preset name (trashseg train --list-models).
        fold: Validation fold.
        epochs: Epochs.
        batch_size: Images per step (0 = preset's).
        lr_backbone: Backbone learning rate.
        lr_head: Head learning rate.
        warmup_steps: Linear warmup steps.
        schedule: poly, cosine or constant.
        image_size: Square training size (0 = preset's).
        seed: Seed.
        pretrained: Hugging Face Hub id or a mounted save_pretrained folder ('' = the preset's checkpoint).
        from_scratch: Train a pretrained preset from random weights (at from-scratch learning rates).
        checkpoint_root: Persistent directory (a mounted volume) for per-epoch checkpoints, so a retried task on a new
            node resumes; '' = beside the output (enough for local runs).
        max_steps_per_epoch: Cap on steps per epoch (0 = all).
        augment: Extra training augmentations, comma-separated ('' = none, as the report).
        gpus: GPUs of this task; above 1, torchrun starts one data-parallel process per GPU (same global batch).
    """
    from components.common.kfp_io import log_metrics, publish, write_html
    from components.train.logic import TrainParams, checkpoint_dir_for, run_train
    from components.train.photometric import parse_augmentations
    from components.train.report import training_report
    from data_contracts.model import ModelArtifact

    datasets = [dataset.path] + [a.path for a in (augmented, pseudo_labeled) if a is not None]
    params = TrainParams(model=preset, fold=fold, epochs=epochs, batch_size=batch_size or None, lr_backbone=lr_backbone, lr_head=lr_head,
                         warmup_steps=warmup_steps, schedule=schedule, image_size=image_size or None, seed=seed,
                         max_steps_per_epoch=max_steps_per_epoch, augment=parse_augmentations(augment), from_scratch=from_scratch)
    checkpoints = checkpoint_dir_for(checkpoint_root, datasets, split.path, params) if checkpoint_root else None
    if gpus > 1:
        from components.train.launch import run_torchrun, train_arguments

        run_torchrun(gpus, train_arguments(datasets, split.path, model.path, params, pretrained or None, checkpoints,
                                           resume=True, overwrite=True))
        manifest = ModelArtifact(model.path).manifest
    else:
        manifest = run_train(datasets, split.path, model.path, params, pretrained or None, checkpoints, resume=True, overwrite=True)
    publish(model, manifest)
    card = ModelArtifact(model.path).card
    log_metrics(metrics, {k: v for k, v in card["metrics"].items() if (k == "val_miou" or k.startswith("iou_")) and v is not None})
    write_html(report, training_report(model.path))
