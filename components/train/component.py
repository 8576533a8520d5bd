"""kfp component: train, in this pod or (``nodes`` above 1) across nodes as a Kubeflow Trainer TrainJob it launches."""

from typing import Optional

from kfp import dsl

from trashseg.components.common.images import GPU_IMAGE


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def train_op(
    dataset: dsl.Input[dsl.Dataset],
    split: dsl.Input[dsl.Dataset],
    model: dsl.Output[dsl.Model],
    metrics: dsl.Output[dsl.Metrics],
    report: dsl.Output[dsl.HTML],
    augmented: dsl.Input[dsl.Dataset] = None,
    pseudo_labeled: dsl.Input[dsl.Dataset] = None,
    pretrained_model: dsl.Input[dsl.Model] = None,
    preset: str = "upernet-convnext",
    fold: int = 0,
    epochs: int = 50,
    batch_size: Optional[int] = None,
    lr_backbone: Optional[float] = None,
    lr_head: Optional[float] = None,
    warmup_steps: Optional[int] = None,
    loss: Optional[str] = None,
    schedule: str = "poly",
    weight_decay: float = 0.01,
    image_size: Optional[int] = None,
    seed: int = 42,
    hflip: bool = True,
    max_steps_per_epoch: int = 0,
    photometric: list = [],
    from_scratch: bool = False,
    pretrained: str = "",
    checkpoint_root: str = "",
    gpus: int = 1,
    nodes: int = 1,
    trainjob: dict = {},
    node_selector: dict = {},
    tolerations: list = [],
):
    """Train a preset on all folds but ``fold`` (+ optional training-only datasets); the best epoch is the model.

    The knobs from ``preset`` to ``from_scratch`` are TrainParams' fields (components/train/params.py): same names,
    defaults and help; unset (None) ones take the preset's values.

    Args:
        dataset: Labeled dataset the split was made on.
        split: Its split.
        model: The best model by validation mIoU.
        metrics: Validation mIoU and per-class IoU of the best epoch.
        report: Loss and mIoU curves.
        augmented: Optional copy-paste dataset for this fold.
        pseudo_labeled: Optional pseudo-labeled dataset.
        pretrained_model: Optional save_pretrained folder imported from a URI; wins over ``pretrained``.
        pretrained: Hugging Face Hub id or a folder the pods can read (empty: the preset's checkpoint).
        checkpoint_root: Persistent folder (a mounted claim) for per-epoch checkpoints, so that a retried task resumes
            (empty: beside the output, lost with the pod).
        gpus: GPUs per node; above 1, torchrun starts one data-parallel process per GPU (same global batch).
        nodes: Above 1, train across that many nodes as a Kubeflow Trainer TrainJob that this task launches and follows;
            checkpoint_root must then be on a claim that every node mounts.
        trainjob: The TrainJob's settings when nodes is above 1: the fields of
        components.train.trainjob.TrainJobSettings
            (image, claim, cpus_per_node, memory_per_node, namespace, backend, ...).
        node_selector: Node labels the TrainJob's nodes must have (this pod's own placement is the task's).
        tolerations: Tolerations of the TrainJob's nodes.
    """
    from trashseg.components.common.params import from_task
    from trashseg.components.train.params import TrainParams
    from trashseg.components.train.task_io import run_train_task

    run_train_task(
        from_task(TrainParams, locals()),
        dataset,
        split,
        [augmented, pseudo_labeled],
        model,
        metrics,
        report,
        pretrained_model.path if pretrained_model is not None else (pretrained or None),
        checkpoint_root or None,
        gpus,
        nodes,
        trainjob,
        node_selector,
        tolerations,
    )
