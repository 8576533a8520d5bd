"""``trashseg-cv``: one model per fold in a ParallelFor, then the fold ensemble and a cross-validated mIoU."""

from __future__ import annotations

from typing import Any

from kfp import dsl

from trashseg.components.cv.component import cv_summary_op
from trashseg.components.ensemble.component import ensemble_op
from trashseg.components.ensemble.params import EnsembleParams
from trashseg.components.evaluate.component import evaluate_op
from trashseg.components.infer.component import infer_op
from trashseg.components.infer.params import InferParams
from trashseg.components.ingest.params import IngestParams
from trashseg.components.split.component import split_op
from trashseg.components.split.params import SplitParams
from trashseg.components.submit.component import submit_op
from trashseg.components.submit.params import SubmitParams
from trashseg.components.train.params import TrainParams
from trashseg.pipelines.graph import Graph
from trashseg.pipelines.knobs import Knobs, Stage, pipeline
from trashseg.pipelines.topology import Topology
from trashseg.pipelines.trashseg import data_inputs, ingest_both, start_weights

PIPELINE_NAME = "trashseg-cv"
DESCRIPTION = "Cross-validation: a model per fold, their ensemble on the test set, CV mIoU."

# Each fold's model takes its fold from the loop (fold_list), so no stage's fold is a parameter; the fold models vote
# hard, as in the report.
KNOBS = Knobs(
    Stage("ingest", IngestParams, wired=("unlabeled",)),
    Stage("split", SplitParams),
    Stage("train", TrainParams, wired=("fold",)),
    Stage("infer", InferParams, wired=("save_probs",)),
    Stage("ensemble", EnsembleParams, wired=("weights",)),
    Stage("submit", SubmitParams),
)


def knobs_for(topology: Topology) -> Knobs:
    """The knob parameters; the same for every topology (``deploy`` is the main pipeline's)."""
    return KNOBS


def build(topology: Topology = Topology()) -> Any:
    """The CV pipeline for ``topology`` (see ``pipelines.trashseg.build``)."""
    topology.check()
    knobs = knobs_for(topology)

    def body(v: dict[str, Any]) -> None:
        graph = Graph(topology, v["node_selector"], v["tolerations"])
        data = ingest_both(graph, knobs, v)
        train_dataset, test_dataset = data["train"], data["test"]
        split = graph.cpu(split_op, "split", dataset=train_dataset, **knobs.of("split", v)).outputs["split"]
        start = start_weights(topology, v)
        with dsl.ParallelFor(v["fold_list"]) as fold:
            model = graph.train(
                "train fold", dataset=train_dataset, split=split, fold=fold, **start, **knobs.of("train", v)
            ).outputs["model"]
            # one task predicts the fold and the test set (probabilities for a soft ensemble of the folds)
            predicted = graph.gpu(
                infer_op,
                "infer fold: validation and test set",
                model=model,
                dataset=train_dataset,
                split=split,
                test_dataset=test_dataset,
                fold=fold,
                save_probs=True,
                **knobs.of("infer", v),
            )
            evaluated = graph.cpu(
                evaluate_op,
                "evaluate fold",
                predictions=predicted.outputs["validation_predictions"],
                dataset=train_dataset,
                split=split,
                fold=fold,
            )
        cv = graph.cpu(
            cv_summary_op,
            "cross-validated mIoU",
            fold_results=dsl.Collected(evaluated.outputs["results"]),
            test_dataset=test_dataset,
            test_predictions=dsl.Collected(predicted.outputs["test_predictions"]),
        )
        ensembled = graph.cpu(
            ensemble_op,
            "ensemble folds",
            members=dsl.Collected(predicted.outputs["test_predictions"]),
            **knobs.of("ensemble", v),
        )
        submission = graph.cpu(
            submit_op,
            "submit",
            raw=data["test_raw"],
            template=v["submission_template"],
            predictions=ensembled.outputs["ensembled"],
            **knobs.of("submit", v),
        )
        graph.summary(
            submission=submission.outputs["submission"],
            cv_metrics=cv.outputs["metrics"],
            test_predictions=ensembled.outputs["ensembled"],
        )

    inputs = data_inputs(topology) + [
        ("fold_list", list, [0, 1, 2, 3, 4], "the folds to train a model for, in parallel")
    ]
    return pipeline(PIPELINE_NAME, DESCRIPTION, inputs + knobs.parameters(), body)
