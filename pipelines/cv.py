"""``trashseg-cv``: one model per fold in a ParallelFor, then the fold ensemble and a cross-validated mIoU."""

from typing import List, NamedTuple

from kfp import dsl

from trashseg.components.cv.component import cv_summary_op
from trashseg.components.ensemble.component import ensemble_op
from trashseg.components.evaluate.component import evaluate_op
from trashseg.components.infer.component import infer_validation_and_test_op
from trashseg.components.split.component import split_op
from trashseg.components.submit.component import submit_op
from trashseg.pipelines.trashseg import checkpointed_train, gpu_task, ingest_both, optional_pretrained

PIPELINE_NAME = "trashseg-cv"


def build_cv_pipeline(for_cluster: bool):
    """The CV pipeline, for a cluster (checkpoint PVC branches) or for kfp.local (see ``pipelines.trashseg``)."""

    @dsl.pipeline(name=PIPELINE_NAME, description="Cross-validation: a model per fold, their ensemble on the test set, CV mIoU.")
    def trashseg_cv_pipeline(
        train_data: str,
        test_data: str,
        annotations: str = "annotations.json",
        images: str = "images",
        train_fingerprint: str = "",
        test_fingerprint: str = "",
        exif: str = "transpose",
        folds: int = 5,
        fold_list: List[int] = [0, 1, 2, 3, 4],
        split_seed: int = 42,
        preset: str = "upernet-convnext",
        pretrained: str = "",
        pretrained_model: str = "",
        from_scratch: bool = False,
        epochs: int = 50,
        batch_size: int = 0,
        lr_backbone: float = 0.0,  # 0 = the preset's (components/models/presets.py)
        lr_head: float = 0.0,
        warmup_steps: int = -1,  # -1 = the preset's
        loss: str = "",  # "" = the preset's (model, ce_dice, weighted_ce)
        schedule: str = "poly",
        image_size: int = 0,
        seed: int = 42,
        max_steps_per_epoch: int = 0,
        train_augment: str = "",
        checkpoint_volume: str = "",
        gpus_per_train_task: int = 1,
        train_nodes: int = 1,
        gpu_node_selector: dict = {},
        gpu_tolerations: list = [],
        tta: str = "flip",
        ensemble_method: str = "hard",
        submission_size: int = 256,
        downsample: str = "nearest",
    ) -> NamedTuple("Outputs", submission=dsl.Artifact, cv_metrics=dsl.Metrics, test_predictions=dsl.Dataset):
        placement = dict(node_selector=gpu_node_selector, tolerations=gpu_tolerations)
        train_ingest, test_ingest = ingest_both(train_data, test_data, annotations, images, train_fingerprint, test_fingerprint, exif)
        train_dataset, test_dataset = train_ingest.outputs["dataset"], test_ingest.outputs["dataset"]
        split = split_op(dataset=train_dataset, folds=folds, seed=split_seed)
        start = optional_pretrained(for_cluster, pretrained_model)
        with dsl.ParallelFor(fold_list) as fold:
            model = checkpointed_train(for_cluster, checkpoint_volume, "train fold", placement, train_nodes, dataset=train_dataset, split=split.outputs["split"],
                                       preset=preset, fold=fold, epochs=epochs, batch_size=batch_size, lr_backbone=lr_backbone,
                                       lr_head=lr_head, warmup_steps=warmup_steps, loss=loss, schedule=schedule, image_size=image_size, seed=seed,
                                       pretrained=pretrained, from_scratch=from_scratch, max_steps_per_epoch=max_steps_per_epoch,
                                       augment=train_augment, gpus=gpus_per_train_task, **start)
            # one task predicts the fold and the test set (probabilities for a soft ensemble of the folds)
            predicted = gpu_task(infer_validation_and_test_op(model=model, dataset=train_dataset, split=split.outputs["split"],
                                                              test_dataset=test_dataset, fold=fold, tta=tta, save_probs=True),
                                 "4", "16G", **placement)
            predicted.set_display_name("infer fold: validation and test set")
            evaluated = evaluate_op(predictions=predicted.outputs["validation_predictions"], dataset=train_dataset,
                                    split=split.outputs["split"], fold=fold)
        summary = cv_summary_op(fold_results=dsl.Collected(evaluated.outputs["results"]), test_dataset=test_dataset,
                                test_predictions=dsl.Collected(predicted.outputs["test_predictions"]))
        ensembled = ensemble_op(members=dsl.Collected(predicted.outputs["test_predictions"]), method=ensemble_method)
        submission = submit_op(predictions=ensembled.outputs["ensembled"], size=submission_size, downsample=downsample)
        outputs = NamedTuple("Outputs", submission=dsl.Artifact, cv_metrics=dsl.Metrics, test_predictions=dsl.Dataset)
        return outputs(submission=submission.outputs["submission"], cv_metrics=summary.outputs["metrics"],
                       test_predictions=ensembled.outputs["ensembled"])
    return trashseg_cv_pipeline


trashseg_cv_pipeline = build_cv_pipeline(for_cluster=True)
trashseg_cv_local_pipeline = build_cv_pipeline(for_cluster=False)
