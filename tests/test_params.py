"""Every knob is written once, in its stage's parameters dataclass: the CLI is built from it, and the kfp components,
both pipelines (cluster and local builds) and the local profiles are checked against it here, so a copy that drifts
fails this file."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from trashseg.components.augment.component import augment_op
from trashseg.components.augment.params import AugmentParams
from trashseg.components.common.params import default_of, flag_of, from_kfp, kfp_default, kfp_fields
from trashseg.components.ensemble.component import ensemble_op, ensemble_pair_op
from trashseg.components.ensemble.params import PAIR_METHOD, EnsembleParams
from trashseg.components.evaluate.component import compare_copy_paste_op, compare_rounds_op, evaluate_op
from trashseg.components.evaluate.params import CompareParams, EvaluateParams
from trashseg.components.infer.component import infer_op, infer_validation_and_test_op
from trashseg.components.infer.params import TTA, InferParams
from trashseg.components.ingest.component import ingest_op
from trashseg.components.ingest.params import IngestParams
from trashseg.components.pseudo_label.component import pseudo_label_op
from trashseg.components.pseudo_label.params import PseudoLabelParams
from trashseg.components.split.component import split_op
from trashseg.components.split.params import SplitParams
from trashseg.components.submit.component import submit_op
from trashseg.components.submit.params import SubmitParams
from trashseg.components.train.component import train_op, train_trainjob_op
from trashseg.components.train.params import TrainParams

# Component parameters that are not knobs: where and how the task runs, and what it compares.
TASK_ONLY = {
    augment_op: set(),
    infer_op: {"fold"},
    infer_validation_and_test_op: {"fold"},
    train_op: {"pretrained", "checkpoint_root", "gpus"},
    train_trainjob_op: {"pretrained", "shared_mount", "nodes", "gpus_per_node", "cpus_per_node", "memory_per_node", "trainer_image",
                        "shared_claim", "namespace", "backend", "node_selector", "tolerations"},
    ingest_op: {"annotations", "images", "input_fingerprint"},  # where the raw folder's parts are, its content hash
    split_op: set(),
    pseudo_label_op: set(),
    ensemble_op: set(),
    ensemble_pair_op: set(),
    evaluate_op: set(),
    compare_rounds_op: set(),
    compare_copy_paste_op: {"classes"},  # the pipeline's paste_classes, an AugmentParams knob
    submit_op: set(),
}
PARAMS_OF = {augment_op: AugmentParams, infer_op: InferParams, infer_validation_and_test_op: InferParams, train_op: TrainParams, train_trainjob_op: TrainParams,
             ingest_op: IngestParams, split_op: SplitParams, pseudo_label_op: PseudoLabelParams, ensemble_op: EnsembleParams, ensemble_pair_op: EnsembleParams,
             evaluate_op: EvaluateParams, compare_rounds_op: CompareParams, compare_copy_paste_op: CompareParams,
             submit_op: SubmitParams}
# The one knob whose default differs by component, on purpose: a hard vote of two predictions is the first one.
COMPONENT_DEFAULTS = {(ensemble_pair_op, "method"): PAIR_METHOD}
# Component parameter -> pipeline parameter, where the names differ.
PIPELINE_NAME_OF = {
    TrainParams: {"augment": "train_augment"},
    AugmentParams: {"classes": "paste_classes", "counts": "paste_counts", "scale": "paste_scale", "rotate": "paste_rotate"},
    InferParams: {},
    IngestParams: {},
    SplitParams: {"seed": "split_seed"},
    PseudoLabelParams: {"min_confidence": "pseudo_min_confidence"},
    EnsembleParams: {"method": "ensemble_method"},
    SubmitParams: {"size": "submission_size"},
}
# Knobs a pipeline does not expose (it sets them per task: probabilities where an ensemble or pseudo-labels need them,
# the round it is at, the fold the models are trained on).
NOT_IN_PIPELINES = {InferParams: {"batch_size", "save_probs"}, PseudoLabelParams: {"round_number"}, EnsembleParams: {"weights"}}
# Which pipelines run a component (the CV pipeline neither pastes nor pseudo-labels; the main one ensembles a pair).
PIPELINES_OF = {augment_op: ("trashseg",), infer_op: ("trashseg",), infer_validation_and_test_op: ("trashseg", "trashseg-cv"),
                train_op: ("trashseg", "trashseg-cv"),
                ingest_op: ("trashseg", "trashseg-cv"), split_op: ("trashseg", "trashseg-cv"), pseudo_label_op: ("trashseg",), ensemble_op: ("trashseg-cv",),
                ensemble_pair_op: ("trashseg",), submit_op: ("trashseg", "trashseg-cv")}
ALL = list(PARAMS_OF)


def _signature(component) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(component.python_func).parameters)


@pytest.mark.parametrize("component", ALL, ids=[c.name for c in ALL])
def test_components_take_every_knob_with_its_one_default(component):
    params = PARAMS_OF[component]
    signature = _signature(component)
    knobs = kfp_fields(params)
    for name, field in knobs.items():
        assert name in signature, f"{component.name} lacks the knob {name}"
        expected = COMPONENT_DEFAULTS.get((component, name), kfp_default(params, field))
        assert signature[name].default == expected, name
    spec = component.component_spec
    artifacts = set(spec.outputs) | {n for n, p in spec.inputs.items() if p.type.startswith("system.")}
    # nothing else: every other parameter is named here as the task's own
    assert set(signature) - set(knobs) - artifacts == TASK_ONLY[component]
    # the component's defaults decode to the dataclass's defaults
    decoded = from_kfp(params, **{n: signature[n].default for n in knobs})
    overridden = {knobs[name].name: value for (c, name), value in COMPONENT_DEFAULTS.items() if c is component}
    assert decoded == dataclasses.replace(params(), **overridden)


@pytest.mark.parametrize("component", list(PIPELINES_OF), ids=[c.name for c in PIPELINES_OF])
def test_pipelines_default_every_knob_as_the_component_does(component):
    from trashseg.pipelines.compile import local_pipelines, pipelines

    params = PARAMS_OF[component]
    signature = _signature(component)
    built = [*pipelines().items(), *((f"{name} (local)", p) for name, p in local_pipelines().items())]
    seen = 0
    for pipeline_name, pipeline in built:
        if pipeline_name.split(" ")[0] not in PIPELINES_OF[component]:
            continue
        seen += 1
        inputs = pipeline.component_spec.inputs
        checked = 0
        exposed = [name for name in kfp_fields(params) if name not in NOT_IN_PIPELINES.get(params, set())]
        for name in exposed:
            in_pipeline = PIPELINE_NAME_OF[params].get(name, name)
            if in_pipeline not in inputs:
                assert pipeline_name.startswith("trashseg-cv") and name == "fold", (pipeline_name, name)  # CV: fold_list
                continue
            assert inputs[in_pipeline].default == signature[name].default, (pipeline_name, name)
            checked += 1
        assert checked >= len(exposed) - 1
    assert seen == 2 * len(PIPELINES_OF[component])  # its pipelines, cluster and local builds


def test_the_cli_is_built_from_the_dataclass(tmp_path):
    from trashseg.components.cli import build_parser
    from trashseg.components.train.cli import params_from_args

    parser = build_parser()
    base = ["train", "--dataset", str(tmp_path), "--split", str(tmp_path), "--out", str(tmp_path / "m")]
    assert params_from_args(parser.parse_args(base)) == TrainParams()
    train_parser = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(" train"))
    options = {action.dest: action for action in train_parser._actions}
    for field in dataclasses.fields(TrainParams):
        action = options[field.name]
        assert flag_of(field) in action.option_strings
        assert field.metadata["help"] in action.help
    # every value differs from the default: each flag is read into its own field
    changed = TrainParams(model="upernet-swin-tiny", fold=3, epochs=7, batch_size=6, lr_backbone=2e-4, lr_head=3e-3, warmup_steps=5,
                          loss="ce_dice", schedule="cosine", weight_decay=0.05, image_size=96, seed=9, hflip=False, device="cpu",
                          precision="fp32", max_steps_per_epoch=4, augment=("noise", "hue_saturation"), from_scratch=True,
                          compile="off", workers=0)
    assert all(getattr(changed, f.name) != default_of(f) for f in dataclasses.fields(TrainParams))
    argv = ["--model", "upernet-swin-tiny", "--fold", "3", "--epochs", "7", "--batch-size", "6", "--lr-backbone", "2e-4",
            "--lr-head", "3e-3", "--warmup-steps", "5", "--loss", "ce_dice", "--schedule", "cosine", "--weight-decay", "0.05",
            "--image-size", "96", "--seed", "9", "--no-hflip", "--device", "cpu", "--precision", "fp32", "--max-steps-per-epoch", "4",
            "--augment", "noise,hue_saturation", "--from-scratch", "--compile", "off", "--workers", "0"]
    assert params_from_args(parser.parse_args(base + argv)) == changed


def test_kfp_sentinels_mean_the_presets_values_and_real_values_pass_through():
    unset = from_kfp(TrainParams, preset="upernet-convnext-tiny", batch_size=0, lr_backbone=0.0, lr_head=0.0, warmup_steps=-1,
                     loss="", image_size=0, augment="")
    assert (unset.model, unset.batch_size, unset.lr_backbone, unset.lr_head, unset.warmup_steps, unset.loss, unset.image_size,
            unset.augment) == ("upernet-convnext-tiny", None, None, None, None, None, None, ())
    given = from_kfp(TrainParams, preset="upernet-convnext-tiny", batch_size=4, lr_head=0.5, warmup_steps=0, loss="model",
                     augment="noise")
    assert (given.batch_size, given.lr_head, given.warmup_steps, given.loss, given.augment) == (4, 0.5, 0, "model", ("noise",))


def test_local_profiles_name_only_what_differs_from_the_pipelines():
    from trashseg.pipelines.compile import local_pipelines
    from trashseg.pipelines.run_local import CV_TINY_PROFILE, TINY_PROFILE

    for profile, name in ((TINY_PROFILE, "trashseg"), (CV_TINY_PROFILE, "trashseg-cv")):
        inputs = local_pipelines()[name].component_spec.inputs
        for key, value in profile.items():
            assert key in inputs, (name, key)
            assert inputs[key].default != value, f"{name}: the profile restates the default {key}={value!r}"


def test_the_augment_cli_is_built_from_its_dataclass(tmp_path):
    from trashseg.components.cli import build_parser
    from trashseg.components.common.params import from_args

    parser = build_parser()
    base = ["augment", "--dataset", str(tmp_path), "--split", str(tmp_path), "--out", str(tmp_path / "a")]
    assert from_args(AugmentParams, parser.parse_args(base)) == AugmentParams()
    argv = ["--fold", "2", "--classes", "Battery, Metal", "--count", "Battery=3,Metal=7", "--scale", "0.8,1.2", "--rotate", "10",
            "--seed", "5"]
    assert from_args(AugmentParams, parser.parse_args(base + argv)) == AugmentParams(
        fold=2, classes=("Battery", "Metal"), counts={"Battery": 3, "Metal": 7}, scale=(0.8, 1.2), rotate=10.0, seed=5)
    assert AugmentParams().counts == {"Battery": 50, "Clothing": 100}  # the pipeline's default, not "50 each"


def test_the_infer_cli_is_built_from_its_dataclass(tmp_path):
    from trashseg.components.cli import build_parser
    from trashseg.components.common.params import from_args

    parser = build_parser()
    base = ["infer", "--model", str(tmp_path), "--dataset", str(tmp_path), "--out", str(tmp_path / "p")]
    assert from_args(InferParams, parser.parse_args(base)) == InferParams() == InferParams(tta=TTA(flip=True))
    assert from_args(InferParams, parser.parse_args(base + ["--tta", ""])).tta == TTA()  # '' = no TTA
    changed = from_args(InferParams, parser.parse_args(base + ["--tta", "flip,scales=0.75,1.25", "--batch-size", "3", "--device",
                                                               "cpu", "--precision", "fp32", "--save-probs"]))
    assert changed == InferParams(TTA(True, (0.75, 1.25)), 3, "cpu", "fp32", True)
    for tta in (TTA(), TTA(True), TTA(False, (0.5, 2.0)), TTA(True, (0.75, 1.0, 1.25))):
        assert TTA.parse(tta.text()) == tta  # the component's text round-trips


@pytest.mark.parametrize(("command", "params", "argv", "changed"), [
    ("ingest", IngestParams, ["--exif", "ignore", "--max-pixels", "1000", "--unlabeled"], IngestParams("ignore", 1000, True)),
    ("split", SplitParams, ["--folds", "3", "--seed", "7"], SplitParams(folds=3, seed=7)),
    ("pseudo-label", PseudoLabelParams, ["--min-confidence", "0.4", "--round", "2"], PseudoLabelParams(0.4, 2)),
    ("ensemble", EnsembleParams, ["--method", "soft", "--weights", "2,1"], EnsembleParams("soft", (2.0, 1.0))),
    ("evaluate", EvaluateParams, ["--fold", "2", "--subset"], EvaluateParams(2, True)),
    ("compare", CompareParams, ["--fold", "1", "--resamples", "200", "--confidence", "0.9", "--seed", "3"],
     CompareParams(1, 200, 0.9, 3)),
    ("submit", SubmitParams, ["--size", "128", "--downsample", "mode"], SubmitParams(128, "mode")),
], ids=["ingest", "split", "pseudo-label", "ensemble", "evaluate", "compare", "submit"])
def test_the_small_stages_clis_are_built_from_their_dataclasses(command, params, argv, changed, tmp_path):
    """No flag given: the dataclass's defaults; every flag given: each lands in its own field."""
    from trashseg.components.cli import build_parser
    from trashseg.components.common.params import from_args

    required = {"ingest": ["--coco", "c.json", "--images", "i"], "split": ["--dataset", "d"], "pseudo-label": ["--predictions", "p", "--dataset", "d"],
                "ensemble": ["--predictions", "p", "q"], "evaluate": ["--predictions", "p", "--dataset", "d"],
                "compare": ["--member", "a=p", "--member", "b=q", "--delta", "g=a-b", "--dataset", "d"],
                "submit": ["--predictions", "p"]}[command]
    parser = build_parser()
    base = [command, *required, "--out", str(tmp_path / "out")]
    assert from_args(params, parser.parse_args(base)) == params()
    assert all(getattr(changed, f.name) != default_of(f) for f in dataclasses.fields(params))
    assert from_args(params, parser.parse_args(base + argv)) == changed


def test_ensemble_weights_round_trip_through_kfp_text():
    assert from_kfp(EnsembleParams, method="hard", weights="").weights is None
    assert from_kfp(EnsembleParams, method="hard", weights="2,1,0.5").weights == (2.0, 1.0, 0.5)
    assert kfp_default(EnsembleParams, dataclasses.fields(EnsembleParams)[1]) == ""
