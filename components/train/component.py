"""kfp component: train (GPU image; resumes from its checkpoint when the task is retried)."""

from kfp import dsl

from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def train_op(dataset: dsl.Input[dsl.Dataset], split: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model],
             metrics: dsl.Output[dsl.Metrics], report: dsl.Output[dsl.HTML],
             augmented: dsl.Input[dsl.Dataset] = None, pseudo_labeled: dsl.Input[dsl.Dataset] = None,
             pretrained_model: dsl.Input[dsl.Model] = None, preset: str = "upernet-convnext", fold: int = 0, epochs: int = 50, batch_size: int = 0, lr_backbone: float = 0.0,
             lr_head: float = 0.0, warmup_steps: int = -1, schedule: str = "poly", image_size: int = 0, seed: int = 42,
             pretrained: str = "", from_scratch: bool = False, checkpoint_root: str = "", max_steps_per_epoch: int = 0,
             augment: str = "", loss: str = "", gpus: int = 1):
    """Train a preset on all folds but ``fold`` (+ optional training-only datasets); the best epoch is the model.

    Args:
        dataset: Labeled dataset the split was made on.
        split: Its split.
        model: The best model by validation mIoU.
        metrics: Validation mIoU and per-class IoU of the best epoch.
        report: Loss and mIoU curves.
        augmented: Optional copy-paste dataset for this fold.
        pseudo_labeled: Optional pseudo-labeled dataset.
        pretrained_model: Optional save_pretrained folder imported from a URI; wins over ``pretrained`` (a folder
            holding only NO_WEIGHTS, from no_pretrained_op, means none).
        preset: Model preset name (trashseg train --list-models).
        fold: Validation fold.
        epochs: Epochs.
        batch_size: Images per step (0 = preset's).
        lr_backbone: Backbone learning rate (0 = the preset's, scaled to the batch).
        lr_head: Head learning rate (0 = the preset's).
        warmup_steps: Linear warmup steps (-1 = the preset's).
        schedule: poly, cosine or constant.
        image_size: Square training size (0 = preset's).
        seed: Seed.
        pretrained: Hugging Face Hub id or a mounted save_pretrained folder ('' = the preset's checkpoint).
        from_scratch: Train a pretrained preset from random weights (at from-scratch learning rates).
        checkpoint_root: Persistent directory (a mounted volume) for per-epoch checkpoints, so a retried task on a new
            node resumes; '' = beside the output (enough for local runs).
        max_steps_per_epoch: Cap on steps per epoch (0 = all).
        augment: Extra training augmentations, comma-separated ('' = none, as the report).
        loss: model, ce_dice or weighted_ce ('' = the preset's; Mask2Former keeps its own).
        gpus: GPUs of this task; above 1, torchrun starts one data-parallel process per GPU (same global batch).
    """
    from trashseg.components.train.logic import run_train
    from trashseg.components.train.task_io import params_from_task, publish_trained, start_weights
    from trashseg.data_contracts.model import ModelArtifact

    datasets = [dataset.path] + [a.path for a in (augmented, pseudo_labeled) if a is not None]
    params = params_from_task(preset=preset, fold=fold, epochs=epochs, batch_size=batch_size, lr_backbone=lr_backbone,
                              lr_head=lr_head, warmup_steps=warmup_steps, loss=loss, schedule=schedule, image_size=image_size,
                              seed=seed, max_steps_per_epoch=max_steps_per_epoch, augment=augment, from_scratch=from_scratch)
    checkpoints = checkpoint_root or None  # run_train keys each run's folder under it (inputs, parameters, start weights)
    start = start_weights(pretrained, pretrained_model)
    if gpus > 1:
        from trashseg.components.train.launch import run_torchrun, train_arguments

        run_torchrun(gpus, train_arguments(datasets, split.path, model.path, params, start, checkpoints, resume=True, overwrite=True))
        manifest = ModelArtifact(model.path).manifest
    else:
        manifest = run_train(datasets, split.path, model.path, params, start, checkpoints, resume=True, overwrite=True)
    publish_trained(model, metrics, report, manifest)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def train_trainjob_op(dataset: dsl.Input[dsl.Dataset], split: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model],
                      metrics: dsl.Output[dsl.Metrics], report: dsl.Output[dsl.HTML], shared_mount: str,
                      augmented: dsl.Input[dsl.Dataset] = None, pseudo_labeled: dsl.Input[dsl.Dataset] = None,
                      pretrained_model: dsl.Input[dsl.Model] = None, preset: str = "upernet-convnext", fold: int = 0, epochs: int = 50, batch_size: int = 0,
                      lr_backbone: float = 0.0, lr_head: float = 0.0, warmup_steps: int = -1, schedule: str = "poly",
                      image_size: int = 0, seed: int = 42, pretrained: str = "", from_scratch: bool = False,
                      max_steps_per_epoch: int = 0, augment: str = "", loss: str = "", nodes: int = 2, gpus_per_node: int = 1,
                      cpus_per_node: int = 8, memory_per_node: str = "32Gi", trainer_image: str = "",
                      shared_claim: str = "", namespace: str = "", backend: str = "kubernetes", node_selector: dict = {},
                      tolerations: list = []):
    """Train one model across ``nodes`` nodes as a Kubeflow Trainer TrainJob; publishes the model as train_op does.

    Args:
        dataset: Labeled dataset the split was made on.
        split: Its split.
        model: The best model by validation mIoU (written by the job's rank 0 on the shared volume, copied here).
        metrics: Validation mIoU and per-class IoU of the best epoch.
        report: Loss and mIoU curves.
        shared_mount: Where the shared volume is mounted in this pod and in every node ('' with backend=container).
        augmented: Optional copy-paste dataset for this fold.
        pseudo_labeled: Optional pseudo-labeled dataset.
        pretrained_model: Optional save_pretrained folder imported from a URI (staged onto the shared volume for the
            nodes); NO_WEIGHTS inside means none.
        preset: Model preset name (trashseg train --list-models).
        fold: Validation fold.
        epochs: Epochs.
        batch_size: Global images per step over all processes (0 = preset's).
        lr_backbone: Backbone learning rate (0 = the preset's, scaled to the batch).
        lr_head: Head learning rate (0 = the preset's).
        warmup_steps: Linear warmup steps (-1 = the preset's).
        schedule: poly, cosine or constant.
        image_size: Square training size (0 = preset's).
        seed: Seed.
        pretrained: Hugging Face Hub id or a folder the nodes can read ('' = the preset's checkpoint).
        from_scratch: Train a pretrained preset from random weights (at from-scratch learning rates).
        max_steps_per_epoch: Cap on steps per epoch (0 = all).
        augment: Extra training augmentations, comma-separated.
        loss: model, ce_dice or weighted_ce ('' = the preset's; Mask2Former keeps its own).
        nodes: TrainJob nodes (torchrun across them).
        gpus_per_node: GPUs per node, one process each (0 = CPU nodes, one process each).
        cpus_per_node: CPUs each node requests.
        memory_per_node: Memory each node requests (a Kubernetes quantity).
        trainer_image: The nodes' image (the pipelines pass the project's GPU image).
        shared_claim: PersistentVolumeClaim (ReadWriteMany) mounted at shared_mount in the nodes.
        namespace: Namespace of the TrainJob ('' = this pod's own).
        backend: 'kubernetes' (Kubeflow Trainer on the cluster) or 'container' (the SDK's local Docker backend, for tests).
        node_selector: Node labels the TrainJob's nodes must have (e.g. the GPU product).
        tolerations: Tolerations for tainted GPU nodes.
    """
    from pathlib import Path, PurePosixPath

    from trashseg.components.train.task_io import params_from_task, publish_trained, start_weights
    from trashseg.components.train.trainjob import SharedVolume, TrainJobSettings, kubernetes_options, run_trainjob, trainer_client

    datasets = [Path(dataset.path)] + [Path(a.path) for a in (augmented, pseudo_labeled) if a is not None]
    params = params_from_task(preset=preset, fold=fold, epochs=epochs, batch_size=batch_size, lr_backbone=lr_backbone,
                              lr_head=lr_head, warmup_steps=warmup_steps, loss=loss, schedule=schedule, image_size=image_size,
                              seed=seed, max_steps_per_epoch=max_steps_per_epoch, augment=augment, from_scratch=from_scratch)
    settings = TrainJobSettings(nodes=nodes, gpus_per_node=gpus_per_node, cpus_per_node=cpus_per_node, memory_per_node=memory_per_node,
                                image=trainer_image, node_selector=dict(node_selector), tolerations=list(tolerations))
    client = trainer_client(backend, namespace, trainer_image)
    volume, options = None, []
    if backend == "kubernetes":
        volume = SharedVolume(Path(shared_mount), PurePosixPath(shared_mount))
        options = kubernetes_options(shared_claim, shared_mount, settings)
    manifest = run_trainjob(client, datasets, Path(split.path), Path(model.path), params, settings, volume,
                            start_weights(pretrained, pretrained_model), options)
    publish_trained(model, metrics, report, manifest)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def no_pretrained_op(model: dsl.Output[dsl.Model]):
    """The 'no imported weights' branch of an optional pretrained model: a folder holding only NO_WEIGHTS.

    KFP joins optional artifacts from dsl.If branches with dsl.OneOf, which needs an artifact in every branch.

    Args:
        model: The marker folder.
    """
    import os

    from trashseg.components.train.task_io import NO_WEIGHTS

    os.makedirs(model.path, exist_ok=True)
    with open(os.path.join(model.path, NO_WEIGHTS), "w") as marker:
        marker.write("no pretrained model was imported: train starts from the preset's checkpoint or --pretrained\n")
    model.metadata["no_weights"] = True
