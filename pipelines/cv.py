"""``trashseg-cv``: one model per fold in a ParallelFor, then the fold ensemble and a cross-validated mIoU."""

from typing import List, NamedTuple

from kfp import dsl

from components.cv.component import cv_summary_op
from components.ensemble.component import ensemble_op
from components.evaluate.component import evaluate_op
from components.infer.component import infer_op
from components.split.component import split_op
from components.submit.component import submit_op
from pipelines.trashseg import gpu_task, ingest_both, train_task

PIPELINE_NAME = "trashseg-cv"


@dsl.pipeline(name=PIPELINE_NAME, description="Cross-validation: a model per fold, their ensemble on the test set, CV mIoU.")
def trashseg_cv_pipeline(
    train_coco: str,
    train_images: str,
    test_coco: str,
    test_images: str,
    train_fingerprint: str = "",
    test_fingerprint: str = "",
    exif: str = "transpose",
    folds: int = 5,
    fold_list: List[int] = [0, 1, 2, 3, 4],
    split_seed: int = 42,
    preset: str = "upernet-convnext",
    pretrained: str = "",
    from_scratch: bool = False,
    epochs: int = 50,
    batch_size: int = 0,
    lr_backbone: float = 4e-6,
    lr_head: float = 4e-5,
    warmup_steps: int = 0,
    schedule: str = "poly",
    image_size: int = 0,
    seed: int = 42,
    max_steps_per_epoch: int = 0,
    train_augment: str = "",
    checkpoint_root: str = "",
    gpus_per_train_task: int = 1,
    tta: str = "flip",
    ensemble_method: str = "hard",
    submission_size: int = 256,
    downsample: str = "nearest",
) -> NamedTuple("Outputs", submission=dsl.Artifact, cv_metrics=dsl.Metrics, test_predictions=dsl.Dataset):
    train_data, test_data = ingest_both(train_coco, train_images, test_coco, test_images, train_fingerprint, test_fingerprint, exif)
    split = split_op(dataset=train_data.outputs["dataset"], folds=folds, seed=split_seed)
    with dsl.ParallelFor(fold_list) as fold:
        trained = train_task(dataset=train_data.outputs["dataset"], split=split.outputs["split"], preset=preset, fold=fold, epochs=epochs,
                             batch_size=batch_size, lr_backbone=lr_backbone, lr_head=lr_head, warmup_steps=warmup_steps,
                             schedule=schedule, image_size=image_size, seed=seed, pretrained=pretrained, from_scratch=from_scratch,
                             checkpoint_root=checkpoint_root, max_steps_per_epoch=max_steps_per_epoch, augment=train_augment,
                             gpus=gpus_per_train_task)
        validation = gpu_task(infer_op(model=trained.outputs["model"], dataset=train_data.outputs["dataset"], split=split.outputs["split"],
                                       fold=fold, tta=tta, save_probs=False), "4", "16G")
        evaluated = evaluate_op(predictions=validation.outputs["predictions"], dataset=train_data.outputs["dataset"],
                                split=split.outputs["split"], fold=fold)
        test_pred = gpu_task(infer_op(model=trained.outputs["model"], dataset=test_data.outputs["dataset"], tta=tta,
                                      save_probs=True), "4", "16G")
    summary = cv_summary_op(fold_results=dsl.Collected(evaluated.outputs["results"]))
    ensembled = ensemble_op(members=dsl.Collected(test_pred.outputs["predictions"]), method=ensemble_method)
    submission = submit_op(predictions=ensembled.outputs["ensembled"], size=submission_size, downsample=downsample)
    outputs = NamedTuple("Outputs", submission=dsl.Artifact, cv_metrics=dsl.Metrics, test_predictions=dsl.Dataset)
    return outputs(submission=submission.outputs["submission"], cv_metrics=summary.outputs["metrics"],
                   test_predictions=ensembled.outputs["ensembled"])
