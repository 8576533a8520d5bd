"""The main pipeline: ingest -> split -> augment -> train -> infer -> pseudo-label -> train again -> ensemble -> evaluate -> submit.

Every knob is a pipeline parameter; defaults are the report's values and the
real-size UperNet-ConvNeXt preset for GPU nodes. ``trashseg pipeline run-local``
overrides them with the tiny preset for a laptop.

Data comes in by URI: ``train_data`` and ``test_data`` name folders
(``s3://``, ``gs://``, ``minio://`` on a cluster, a local folder under
``kfp.local``) that a ``dsl.importer`` turns into artifacts, so KFP's own
launcher stages them into the ingest pods.

Each pipeline is built twice from one definition: for a cluster, where a
non-empty ``checkpoint_volume`` names a PersistentVolumeClaim mounted into the
train pods (``dsl.If``/``dsl.Else`` joined by ``dsl.OneOf``), and for
``kfp.local``, whose orchestrator cannot join artifacts with ``dsl.OneOf``
(kfp 2.17) and ignores Kubernetes settings anyway: there ``checkpoint_volume``
is a host directory.
"""

from typing import NamedTuple

from kfp import dsl, kubernetes

from trashseg.components.augment.component import augment_op
from trashseg.components.ensemble.component import ensemble_pair_op
from trashseg.components.evaluate.component import compare_copy_paste_op, compare_rounds_op, evaluate_op
from trashseg.components.infer.component import infer_op, infer_validation_and_test_op
from trashseg.components.ingest.component import ingest_op
from trashseg.components.pseudo_label.component import pseudo_label_op
from trashseg.components.split.component import split_op
from trashseg.components.submit.component import submit_op
from trashseg.components.train.component import no_pretrained_op, train_op, train_trainjob_op
from trashseg.components.common.images import GPU_IMAGE

PIPELINE_NAME = "trashseg"


CHECKPOINT_MOUNT = "/mnt/trashseg-checkpoints"  # where the checkpoint PVC is mounted in train pods
SHM_SIZE = "16Gi"  # data-loader workers pass batches through /dev/shm; a pod's default is 64 MiB


def gpu_task(task: dsl.PipelineTask, cpu: str, memory: str, gpus=1, node_selector=None, tolerations=None) -> dsl.PipelineTask:
    """GPUs (a number or a pipeline parameter), CPU and memory requests, a memory-backed /dev/shm for the loaders, and
    where the pod may run: ``node_selector`` (a dict, e.g. ``{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}`` to pick
    the GPU type; empty = any GPU node) and ``tolerations`` (a list, for tainted GPU nodes; empty = none)."""
    kubernetes.empty_dir_mount(task, volume_name="dshm", mount_path="/dev/shm", medium="Memory", size_limit=SHM_SIZE)
    if node_selector is not None:
        kubernetes.add_node_selector_json(task, node_selector_json=node_selector)
    if tolerations is not None:
        kubernetes.add_toleration_json(task, toleration_json=tolerations)
    return (task.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(gpus)
            .set_cpu_request(cpu).set_memory_request(memory))


def import_folder(uri, display_name: str):
    """A folder URI as a Dataset artifact; ``reimport=False`` lets a cluster reuse the artifact already recorded for it."""
    task = dsl.importer(artifact_uri=uri, artifact_class=dsl.Dataset, reimport=False)
    task.set_display_name(display_name)
    return task.output


def ingest_both(train_data, test_data, annotations, images, train_fingerprint, test_fingerprint, exif):
    """The two ingest tasks every pipeline starts with (the labeled training set and the unlabeled test set).

    The fingerprints (content hashes the caller computes) are what make the cache follow content: a folder
    re-uploaded to the same URI keeps its artifact, so only the fingerprint tells the cache it changed.
    """
    train_ingest = ingest_op(raw=import_folder(train_data, "import train data"), annotations=annotations, images=images, exif=exif,
                             input_fingerprint=train_fingerprint)
    train_ingest.set_display_name("ingest train")
    test_ingest = ingest_op(raw=import_folder(test_data, "import test data"), annotations=annotations, images=images, exif=exif,
                            input_fingerprint=test_fingerprint)
    test_ingest.set_display_name("ingest test")
    return train_ingest, test_ingest


def retried(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """Training's retry policy: a preempted node's task starts again and resumes from its last checkpoint."""
    return task.set_retry(num_retries=3, backoff_duration="60s", backoff_factor=2.0)


def train_task(placement: dict, gpus=1, **kwargs) -> dsl.PipelineTask:
    """Train with retries on ``gpus`` GPUs of one pod."""
    return retried(gpu_task(train_op(gpus=gpus, **kwargs), "8", "32G", gpus, **placement))


def checkpointed_train(for_cluster: bool, checkpoint_volume, display_name: str, placement: dict, train_nodes=1, **kwargs):
    """A train task whose checkpoints outlive its pod when ``checkpoint_volume`` is set; returns its model output.

    On a cluster the value names a PersistentVolumeClaim: KFP refuses to mount an empty claim name, so the
    mount sits in a ``dsl.If`` branch and the branches' models are joined with ``dsl.OneOf``. With
    ``train_nodes`` above 1 a launcher task trains across nodes as a Kubeflow Trainer TrainJob instead, the
    claim (ReadWriteMany) shared by the launcher and every node. Locally the value is a host directory, passed
    straight to train, and ``train_nodes`` has no effect (kfp.local cannot join branches).
    """
    if not for_cluster:
        task = train_task(placement, checkpoint_root=checkpoint_volume, **kwargs)
        task.set_display_name(display_name)
        return task.outputs["model"]
    with dsl.If(train_nodes > 1, name="trainjob-across-nodes"):
        launcher_knobs = {k: v for k, v in kwargs.items() if k != "gpus"}
        launched = train_trainjob_op(shared_mount=CHECKPOINT_MOUNT, shared_claim=checkpoint_volume, nodes=train_nodes,
                                     gpus_per_node=kwargs.get("gpus", 1), trainer_image=GPU_IMAGE, **launcher_knobs,
                                     **placement)
        kubernetes.mount_pvc(launched, pvc_name=checkpoint_volume, mount_path=CHECKPOINT_MOUNT)
        retried(launched).set_display_name(f"{display_name} (TrainJob)")
    with dsl.Elif(checkpoint_volume != "", name="checkpoints-on-volume"):
        on_volume = train_task(placement, checkpoint_root=CHECKPOINT_MOUNT, **kwargs)
        kubernetes.mount_pvc(on_volume, pvc_name=checkpoint_volume, mount_path=CHECKPOINT_MOUNT)
        on_volume.set_display_name(display_name)
    with dsl.Else(name="no-checkpoint-volume"):
        in_pod = train_task(placement, checkpoint_root="", **kwargs)
        in_pod.set_display_name(display_name)
    return dsl.OneOf(launched.outputs["model"], on_volume.outputs["model"], in_pod.outputs["model"])


def optional_pretrained(for_cluster: bool, pretrained_model) -> dict:
    """Train's ``pretrained_model`` input: the folder at that URI, or (empty URI) a marker meaning none.

    KFP refuses an importer with an empty URI, so the importer sits in a ``dsl.If`` branch and a marker
    task in the other, joined with ``dsl.OneOf``. kfp.local cannot join artifacts, so local runs name a
    folder with ``pretrained`` instead, and this returns nothing for them.
    """
    if not for_cluster:
        return {}
    with dsl.If(pretrained_model != "", name="pretrained-from-uri"):
        imported = dsl.importer(artifact_uri=pretrained_model, artifact_class=dsl.Model, reimport=False)
        imported.set_display_name("import pretrained model")
    with dsl.Else(name="no-pretrained-uri"):
        marker = no_pretrained_op()
        marker.set_display_name("no pretrained model to import")
    return {"pretrained_model": dsl.OneOf(imported.output, marker.outputs["model"])}


def infer_round(model, train_dataset, split: dsl.PipelineTask, test_dataset, fold, tta, placement: dict, name: str) -> dsl.PipelineTask:
    """A round's model predicts its validation fold and the test set in one task (one start-up, one model load), with
    probabilities for the soft ensemble and the pseudo-labels' confidence."""
    task = gpu_task(infer_validation_and_test_op(model=model, dataset=train_dataset, split=split.outputs["split"], test_dataset=test_dataset,
                                                 fold=fold, tta=tta, save_probs=True), "4", "16G", **placement)
    task.set_display_name(f"infer {name}: validation fold and test set")
    return task


def build_trashseg_pipeline(for_cluster: bool):
    """The main pipeline, for a cluster (``for_cluster``: PVC branches) or for kfp.local."""

    @dsl.pipeline(name=PIPELINE_NAME, description="Semantic segmentation of recycling trash: the report's workflow end to end.")
    def trashseg_pipeline(
        train_data: str,
        test_data: str,
        annotations: str = "annotations.json",
        images: str = "images",
        train_fingerprint: str = "",
        test_fingerprint: str = "",
        exif: str = "transpose",
        folds: int = 5,
        split_seed: int = 42,
        fold: int = 0,
        paste_classes: str = "Battery,Clothing",
        paste_counts: str = "Battery=50,Clothing=100",
        paste_scale: str = "0.5,1.5",
        paste_rotate: float = 30.0,
        compare_copy_paste: bool = False,
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
        pseudo_min_confidence: float = 0.0,
        ensemble_method: str = "soft",
        submission_size: int = 256,
        downsample: str = "nearest",
    ) -> NamedTuple("Outputs", submission=dsl.Artifact, evaluation=dsl.Dataset, comparison=dsl.Artifact, model=dsl.Model,
                    test_predictions=dsl.Dataset):
        placement = dict(node_selector=gpu_node_selector, tolerations=gpu_tolerations)
        train_ingest, test_ingest = ingest_both(train_data, test_data, annotations, images, train_fingerprint, test_fingerprint, exif)
        train_dataset, test_dataset = train_ingest.outputs["dataset"], test_ingest.outputs["dataset"]
        split = split_op(dataset=train_dataset, folds=folds, seed=split_seed)
        augmented = augment_op(dataset=train_dataset, split=split.outputs["split"], fold=fold, classes=paste_classes,
                               counts=paste_counts, scale=paste_scale, rotate=paste_rotate, seed=seed)
        knobs = dict(preset=preset, fold=fold, epochs=epochs, batch_size=batch_size, lr_backbone=lr_backbone, lr_head=lr_head,
                     warmup_steps=warmup_steps, loss=loss, schedule=schedule, image_size=image_size, seed=seed, pretrained=pretrained, from_scratch=from_scratch,
                     max_steps_per_epoch=max_steps_per_epoch, augment=train_augment,
                     gpus=gpus_per_train_task, **optional_pretrained(for_cluster, pretrained_model))

        model1 = checkpointed_train(for_cluster, checkpoint_volume, "train round 1", placement, train_nodes, dataset=train_dataset, split=split.outputs["split"],
                                    augmented=augmented.outputs["augmented"], **knobs)
        round1 = infer_round(model1, train_dataset, split, test_dataset, fold, tta, placement, "round 1")
        pseudo = pseudo_label_op(predictions=round1.outputs["test_predictions"], dataset=test_dataset,
                                 min_confidence=pseudo_min_confidence, round_number=1)

        model2 = checkpointed_train(for_cluster, checkpoint_volume, "train round 2", placement, train_nodes, dataset=train_dataset, split=split.outputs["split"],
                                    augmented=augmented.outputs["augmented"], pseudo_labeled=pseudo.outputs["pseudo_labeled"], **knobs)
        round2 = infer_round(model2, train_dataset, split, test_dataset, fold, tta, placement, "round 2")

        val_ensemble = ensemble_pair_op(first=round2.outputs["validation_predictions"], second=round1.outputs["validation_predictions"],
                                        method=ensemble_method)
        val_ensemble.set_display_name("ensemble validation")
        evaluate = evaluate_op(predictions=val_ensemble.outputs["ensembled"], dataset=train_dataset,
                               split=split.outputs["split"], fold=fold)
        evaluate.set_display_name("evaluate validation fold")
        compared = compare_rounds_op(round1=round1.outputs["validation_predictions"], round2=round2.outputs["validation_predictions"],
                                     ensemble=val_ensemble.outputs["ensembled"], dataset=train_dataset, split=split.outputs["split"],
                                     fold=fold)
        compared.set_display_name("compare rounds and ensemble")

        with dsl.If(compare_copy_paste == True, "copy-paste experiment"):  # noqa: E712 (a pipeline expression, not a bool)
            # round 1 again without the copy-paste dataset: what pasting gave the pasted classes
            plain = checkpointed_train(for_cluster, checkpoint_volume, "train round 1 without copy-paste", placement, train_nodes,
                                       dataset=train_dataset, split=split.outputs["split"], **knobs)
            plain_val = gpu_task(infer_op(model=plain, dataset=train_dataset, split=split.outputs["split"], fold=fold, tta=tta,
                                          save_probs=False), "4", "16G", **placement)
            plain_val.set_display_name("infer validation without copy-paste")
            pasted = compare_copy_paste_op(with_paste=round1.outputs["validation_predictions"], without_paste=plain_val.outputs["predictions"],
                                           dataset=train_dataset, split=split.outputs["split"], fold=fold, classes=paste_classes)
            pasted.set_display_name("compare copy-paste")

        test_ensemble = ensemble_pair_op(first=round2.outputs["test_predictions"], second=round1.outputs["test_predictions"],
                                         method=ensemble_method)
        test_ensemble.set_display_name("ensemble test")
        submission = submit_op(predictions=test_ensemble.outputs["ensembled"], size=submission_size, downsample=downsample)
        outputs = NamedTuple("Outputs", submission=dsl.Artifact, evaluation=dsl.Dataset, comparison=dsl.Artifact, model=dsl.Model,
                             test_predictions=dsl.Dataset)
        return outputs(submission=submission.outputs["submission"], evaluation=evaluate.outputs["results"],
                       comparison=compared.outputs["comparison"], model=model2,
                       test_predictions=test_ensemble.outputs["ensembled"])
    return trashseg_pipeline


trashseg_pipeline = build_trashseg_pipeline(for_cluster=True)
trashseg_local_pipeline = build_trashseg_pipeline(for_cluster=False)
