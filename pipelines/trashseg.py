"""The main pipeline: ingest -> split -> copy-paste -> train -> infer -> pseudo-label -> train again -> ensemble ->
evaluate, compare -> submit.

Its knob parameters come from the stages' dataclasses (``pipelines/knobs.py``: ``TrainParams.lr_backbone`` is the
parameter ``lr_backbone``); its defaults are the report's values and the real-size UperNet-ConvNeXt preset for GPU
nodes (``trashseg pipeline run-local`` gives the tiny preset for a laptop). The data come in by URI: ``train_data``
and ``test_data`` name folders that a ``dsl.importer`` turns into artifacts, so KFP's launcher copies them into the
ingest pods. What the graph looks like (a checkpoint claim, a TrainJob across nodes, an imported pretrained model)
is decided when compiling (``pipelines/topology.py``).
"""

from __future__ import annotations

import inspect
from typing import Any

from kfp import dsl

from trashseg.components.augment.component import augment_op
from trashseg.components.augment.params import AugmentParams
from trashseg.components.deploy.component import deploy_op
from trashseg.components.deploy.params import DeployParams
from trashseg.components.ensemble.component import ensemble_op
from trashseg.components.ensemble.params import EnsembleParams
from trashseg.components.evaluate.component import compare_op, evaluate_op
from trashseg.components.evaluate.params import CompareParams, EvaluateParams
from trashseg.components.export.component import export_op
from trashseg.components.export.params import ExportParams
from trashseg.components.infer.component import infer_op
from trashseg.components.infer.params import InferParams
from trashseg.components.ingest.component import ingest_op
from trashseg.components.ingest.params import IngestParams
from trashseg.components.pseudo_label.component import pseudo_label_op
from trashseg.components.pseudo_label.params import PseudoLabelParams
from trashseg.components.split.component import split_op
from trashseg.components.split.params import SplitParams
from trashseg.components.submit.component import submit_op
from trashseg.components.submit.params import SubmitParams
from trashseg.components.train.params import TrainParams
from trashseg.pipelines.graph import Graph
from trashseg.pipelines.knobs import Knobs, Stage, pipeline
from trashseg.pipelines.topology import Topology

PIPELINE_NAME = "trashseg"
DESCRIPTION = "Semantic segmentation of recycling trash: the report's workflow end to end."
REQUIRED = inspect.Parameter.empty

# The stages' knobs as this pipeline's parameters. The pipeline sets some itself (probabilities wherever an ensemble
# or pseudo-labels need them, the round, equal ensemble weights, a whole fold scored), and shares the fold. Its two
# rounds vote soft: a hard vote of two predictions is the first one. Compiled with --deploy, the served model flips as
# infer does (one tta_flip) at its export's own size (an ONNX export takes no other: tta_scales stays infer's), on the
# CPU image the pipeline names.
STAGES = (
    Stage("ingest", IngestParams, wired=("unlabeled",)),
    Stage("split", SplitParams),
    Stage("augment", AugmentParams),
    Stage("train", TrainParams),
    Stage("infer", InferParams, wired=("save_probs",)),
    Stage("pseudo_label", PseudoLabelParams, wired=("round",)),
    Stage("ensemble", EnsembleParams, wired=("weights",), defaults={"vote": "soft"}),
    Stage("evaluate", EvaluateParams, wired=("subset",)),
    Stage("compare", CompareParams),
    Stage("submit", SubmitParams),
)
SERVING = (
    Stage("export", ExportParams),
    Stage("deploy", DeployParams, wired=("tta_scales", "service_gpus", "service_image")),
)


def knobs_for(topology: Topology) -> Knobs:
    """The knob parameters of the graph ``topology`` compiles (the serving stages only with ``deploy``)."""
    return Knobs(*STAGES, *(SERVING if topology.deploy else ()), shared=("fold", "tta_flip"))


def data_inputs(topology: Topology) -> list[tuple[str, Any, Any, str]]:
    """The parameters every pipeline starts with: where the data are, and where the GPU tasks may run."""
    required = [
        (
            "train_data",
            str,
            REQUIRED,
            "URI of the training folder (s3://, gs://, minio://; a local folder under kfp.local)",
        ),
        ("test_data", str, REQUIRED, "URI of the test folder (may be the training folder)"),
    ]
    if topology.pretrained_import:
        required.append(
            (
                "pretrained_model",
                str,
                REQUIRED,
                "URI of a save_pretrained folder to start training from (imported like the data; wins over pretrained)",
            )
        )
    return required + [
        ("train_annotations", str, "annotations.json", "the training COCO JSON, inside the training folder"),
        ("test_annotations", str, "annotations.json", "the test COCO JSON, inside the test folder"),
        (
            "images",
            str,
            "images",
            "the images root inside each folder, which the COCO file_names are relative to "
            "(. when they carry their folder, as the competition's batch_01_vt/0002.jpg)",
        ),
        (
            "submission_template",
            str,
            "",
            "a sample submission inside the test folder (sample_submission.csv): rows "
            "follow its image ids when it lists them; empty: the test JSON's order",
        ),
        (
            "train_fingerprint",
            str,
            "",
            "content hash of the training folder (trashseg pipeline fingerprint DIR): a "
            "change reruns ingest and what follows even when the URI stays the same",
        ),
        ("test_fingerprint", str, "", "content hash of the test folder"),
        (
            "pretrained",
            str,
            "",
            "Hugging Face Hub id or a folder the pods can read to start training from (empty: the preset's checkpoint)",
        ),
        (
            "node_selector",
            dict,
            {},
            'node labels the GPU tasks need, e.g. {"nvidia.com/gpu.product": '
            '"NVIDIA-H100-80GB-HBM3"} (empty: any GPU node)',
        ),
        ("tolerations", list, [], "tolerations of the GPU tasks, for tainted GPU nodes"),
    ]


def import_folder(uri: Any, display_name: str, artifact_class: type = dsl.Dataset) -> Any:
    """A folder URI as an artifact; ``reimport=False`` lets a cluster reuse the artifact already recorded for it."""
    task = dsl.importer(artifact_uri=uri, artifact_class=artifact_class, reimport=False)
    task.set_display_name(display_name)
    return task.output


def ingest_both(graph: Graph, knobs: Knobs, v: dict[str, Any]) -> dict[str, Any]:
    """The imported folders and their datasets: ``train``/``test`` (datasets) and ``train_raw``/``test_raw``.

    The fingerprints make the cache follow content: a folder re-uploaded to the same URI keeps its artifact, so only
    the fingerprint tells the cache it changed.
    """
    made = {}
    for part in ("train", "test"):
        made[f"{part}_raw"] = import_folder(v[f"{part}_data"], f"import {part} data")
        task = graph.cpu(
            ingest_op,
            f"ingest {part}",
            raw=made[f"{part}_raw"],
            annotations=v[f"{part}_annotations"],
            images=v["images"],
            fingerprint=v[f"{part}_fingerprint"],
            unlabeled=False,
            **knobs.of("ingest", v),
        )
        made[part] = task.outputs["dataset"]
    return made


def start_weights(topology: Topology, v: dict[str, Any]) -> dict[str, Any]:
    """Train's start: the imported folder (compiled with --pretrained-import), else ``pretrained``."""
    if topology.pretrained_import:
        return {
            "pretrained_model": import_folder(v["pretrained_model"], "import pretrained model", dsl.Model),
            "pretrained": v["pretrained"],
        }
    return {"pretrained": v["pretrained"]}


def build(topology: Topology = Topology()) -> Any:
    """The main pipeline for ``topology`` (the defaults: the checked-in YAML, and what ``run-local`` runs)."""
    topology.check()
    knobs = knobs_for(topology)

    def body(v: dict[str, Any]) -> None:
        graph = Graph(topology, v["node_selector"], v["tolerations"])
        data = ingest_both(graph, knobs, v)
        train_dataset, test_dataset = data["train"], data["test"]
        split = graph.cpu(
            split_op,
            "split",
            dataset=train_dataset,
            raw=data["train_raw"],
            validation_annotations=v["validation_annotations"],
            **knobs.of("split", v),
        ).outputs["split"]
        augmented = graph.cpu(augment_op, "copy-paste", dataset=train_dataset, split=split, **knobs.of("augment", v))
        train = dict(dataset=train_dataset, split=split, **start_weights(topology, v), **knobs.of("train", v))
        infer = dict(
            dataset=train_dataset, split=split, test_dataset=test_dataset, fold=v["fold"], **knobs.of("infer", v)
        )
        scored = dict(dataset=train_dataset, split=split, **knobs.of("compare", v))

        model1 = graph.train("train round 1", augmented=augmented.outputs["augmented"], **train).outputs["model"]
        round1 = graph.gpu(
            infer_op, "infer round 1: validation fold and test set", model=model1, save_probs=True, **infer
        )
        pseudo = graph.cpu(
            pseudo_label_op,
            "pseudo-label",
            dataset=test_dataset,
            predictions=round1.outputs["test_predictions"],
            round=1,
            **knobs.of("pseudo_label", v),
        )
        model2 = graph.train(
            "train round 2",
            augmented=augmented.outputs["augmented"],
            pseudo_labeled=pseudo.outputs["pseudo_labeled"],
            **train,
        ).outputs["model"]
        round2 = graph.gpu(
            infer_op, "infer round 2: validation fold and test set", model=model2, save_probs=True, **infer
        )

        ensembled = {}
        for part in ("validation", "test"):
            ensembled[part] = graph.cpu(
                ensemble_op,
                f"ensemble {part}",
                first=round2.outputs[f"{part}_predictions"],
                second=round1.outputs[f"{part}_predictions"],
                **knobs.of("ensemble", v),
            ).outputs["ensembled"]
        evaluate = graph.cpu(
            evaluate_op,
            "evaluate validation fold",
            predictions=ensembled["validation"],
            dataset=train_dataset,
            split=split,
            subset=False,
            **knobs.of("evaluate", v),
        )
        compared = graph.cpu(
            compare_op,
            "compare rounds and ensemble",
            first=round1.outputs["validation_predictions"],
            second=round2.outputs["validation_predictions"],
            third=ensembled["validation"],
            names=["round1", "round2", "ensemble"],
            deltas=["pseudo_label_gain=round2-round1", "ensemble_gain=ensemble-best"],
            **scored,
        )

        with dsl.If(v["compare_copy_paste"] == True, "copy-paste experiment"):  # noqa: E712 (a pipeline expression)
            # round 1 again without the copy-paste dataset: what pasting gave the pasted classes
            plain = graph.train("train round 1 without copy-paste", **train).outputs["model"]
            plain_predicted = graph.gpu(infer_op, "infer without copy-paste", model=plain, save_probs=False, **infer)
            graph.cpu(
                compare_op,
                "compare copy-paste",
                first=round1.outputs["validation_predictions"],
                second=plain_predicted.outputs["validation_predictions"],
                names=["with_paste", "without_paste"],
                deltas=["copy_paste_gain=with_paste-without_paste"],
                classes=v["paste_classes"],
                **scored,
            )

        submission = graph.cpu(
            submit_op,
            "submit",
            raw=data["test_raw"],
            template=v["submission_template"],
            predictions=ensembled["test"],
            **knobs.of("submit", v),
        )
        if topology.deploy:
            exported = graph.cpu(
                export_op, "export final model", model=model2, dataset=train_dataset, **knobs.of("export", v)
            ).outputs["exported"]
            graph.cpu(
                deploy_op,
                "deploy final model",
                model=exported,
                tta_scales=[1.0],
                service_gpus=0,
                service_image=topology.images.cpu,
                **knobs.of("deploy", v),
            )
        graph.summary(
            submission=submission.outputs["submission"],
            evaluation=evaluate.outputs["results"],
            comparison=compared.outputs["comparison"],
            validation_predictions=ensembled["validation"],
            model=model2,
            test_predictions=ensembled["test"],
        )

    inputs = data_inputs(topology) + [
        (
            "validation_annotations",
            str,
            "",
            "a COCO file inside the training folder whose images are the validation "
            "fold (the competition's val.json; the rest of the training file trains); "
            "empty: StratifiedGroupKFold's fold",
        ),
        (
            "compare_copy_paste",
            bool,
            False,
            "also train round 1 without the copy-paste dataset and report what pasting gave each pasted class",
        ),
    ]
    return pipeline(PIPELINE_NAME, DESCRIPTION, inputs + knobs.parameters(), body)
