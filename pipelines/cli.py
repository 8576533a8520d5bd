"""``trashseg pipeline``: compile, run locally with kfp.local, or submit to a cluster."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trashseg.components.common.cli import run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="compile the Kubeflow pipelines, run one locally, or submit one to a cluster",
        description="Kubeflow Pipelines (kfp 2.x): trashseg (main) and trashseg-cv (a model per fold).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    compile_parser = actions.add_parser(
        "compile",
        help="write both pipelines as YAML for a topology (default: pipelines/compiled/*.yaml)",
        description="Compile both pipelines to YAML. What changes the graph is chosen here, not when it runs: a "
        "checkpoint "
        "claim, training across nodes, an imported pretrained model, a hub-cache claim, the images. With no "
        "option this writes the checked-in pipelines/compiled/*.yaml; with any, build/compiled/. Prints the lowest "
        "KFP backend (and Kubeflow Trainer) version each file needs.",
    )
    compile_parser.add_argument(
        "--out-dir", type=Path, help="directory (default pipelines/compiled, or build/compiled with an option)"
    )
    add_topology_arguments(compile_parser)
    compile_parser.set_defaults(func=lambda args: run_cli(_compile, args))

    local = actions.add_parser(
        "run-local",
        help="run a pipeline with kfp's local runner (caching on)",
        description="Run a pipeline through kfp.local on this machine, on your folders (--train-data and --test-data, "
        "laid out as the parameters train_annotations, test_annotations and images say), on a folder in the sample "
        "layout (--data), or on sample data generated under the pipeline root. The tiny profile (default) trains the "
        "tiny preset.",
    )
    local.add_argument("--pipeline", default="trashseg", help="trashseg (default) or trashseg-cv")
    local.add_argument(
        "--runner",
        choices=["subprocess", "docker"],
        default="subprocess",
        help="subprocess: this interpreter (default); docker: the project's images (make images)",
    )
    local.add_argument("--train-data", type=Path, help="the training folder (the pipeline parameter train_data)")
    local.add_argument("--test-data", type=Path, help="the test folder (test_data; may be the training folder)")
    local.add_argument("--data", type=Path, help="a folder with train/ and test/, annotations.json + images/ each")
    local.add_argument(
        "--pipeline-root", type=Path, default=Path("runs/kfp"), help="where runs and the cache go (default runs/kfp)"
    )
    local.add_argument(
        "--profile",
        choices=["tiny", "report"],
        default="tiny",
        help="tiny: CPU-sized model and epochs (default); report: the pipeline's own defaults (GPU-sized)",
    )
    local.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="override a pipeline parameter (repeatable)"
    )
    local.add_argument("--no-cache", action="store_true", help="run every task even if a cached result exists")
    local.add_argument(
        "--pretrained-import",
        action="store_true",
        help="run the graph compiled with --pretrained-import (pass --param pretrained_model=FOLDER)",
    )
    local.set_defaults(func=lambda args: run_cli(_run_local, args))

    submit = actions.add_parser(
        "submit",
        help="upload a compiled pipeline (a new version of it) and start a run on a Kubeflow cluster",
        description="Upload pipelines/compiled/PIPELINE.yaml with kfp.Client: the first time as the pipeline "
        "PIPELINE, later as a new version of it; then start a run. The token is read from "
        "KF_PIPELINES_TOKEN (or kfp's credentials) and never printed.",
    )
    submit.add_argument("--host", required=True, help="KFP API endpoint, e.g. https://kubeflow.example.com/pipeline")
    submit.add_argument("--pipeline", default="trashseg", help="trashseg (default) or trashseg-cv")
    submit.add_argument("--namespace", help="Kubeflow profile namespace")
    submit.add_argument("--experiment", default="trashseg", help="experiment name (created if missing)")
    submit.add_argument("--run-name", help="run name (default PIPELINE-TIMESTAMP)")
    submit.add_argument("--param", action="append", metavar="KEY=VALUE", help="pipeline parameter (repeatable)")
    add_topology_arguments(submit)
    submit.add_argument(
        "--wait", type=float, metavar="SECONDS", help="follow the run to its end (at most SECONDS) and print its state"
    )
    submit.set_defaults(func=lambda args: run_cli(_submit, args))

    prints = actions.add_parser(
        "fingerprint",
        help="print the content fingerprint of a data folder (for train_fingerprint/test_fingerprint)",
        description="sha256 over every file of a folder (names and bytes). Pass it as train_fingerprint or "
        "test_fingerprint when the folder's URI stays the same but its content changed, so the "
        "cluster's cache reruns ingest and what follows.",
    )
    prints.add_argument("folder", type=Path, help="the folder you upload (annotations.json + images/)")
    prints.set_defaults(func=lambda args: run_cli(_fingerprint, args))

    serve = actions.add_parser(
        "deploy",
        help="serve a model or its ONNX export from the object store as a KServe InferenceService",
        description="Create (or replace, by name) a KServe InferenceService that runs `trashseg serve` on the artifact "
        "at MODEL_URI, as the main pipeline compiled with --deploy does for its final model, and wait until it is "
        "Ready. The cluster comes from the kubeconfig (or the pod's service account); docs/serving.md says what the "
        "namespace needs (object-store credentials, RBAC).",
    )
    serve.add_argument(
        "model_uri",
        help="the artifact's URI: minio:// (KFP's store, read as s3://), s3://, gs:// or pvc://CLAIM/PATH",
    )
    add_deploy_arguments(serve)
    serve.add_argument("--dry-run", action="store_true", help="print the InferenceService as YAML; create nothing")
    serve.set_defaults(func=lambda args: run_cli(_deploy, args))

    runs = actions.add_parser(
        "runs",
        help="list recent runs on a Kubeflow cluster with their states",
        description="The most recent runs, newest first: id, state, name and the UI link.",
    )
    runs.add_argument("--host", required=True, help="KFP API endpoint, e.g. https://kubeflow.example.com/pipeline")
    runs.add_argument("--namespace", help="Kubeflow profile namespace")
    runs.add_argument("--experiment", help="only this experiment's runs")
    runs.add_argument("--count", type=int, default=10, help="how many (default 10)")
    runs.set_defaults(func=lambda args: run_cli(_runs, args))
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def add_deploy_arguments(parser: argparse.ArgumentParser) -> None:
    from trashseg.components.common.params import add_arguments
    from trashseg.components.deploy.params import DeployParams

    add_arguments(parser, DeployParams)


def add_topology_arguments(parser: argparse.ArgumentParser) -> None:
    """The compile-time choices, shared by compile and submit (pipelines/topology.py)."""
    group = parser.add_argument_group("topology (decided when compiling)")
    group.add_argument(
        "--checkpoint-claim",
        default="",
        metavar="CLAIM",
        help="mount this PersistentVolumeClaim in the train pods for their checkpoints: a retried task resumes "
        "(ReadWriteMany when tasks train at once: trashseg-cv's folds, compare_copy_paste)",
    )
    group.add_argument(
        "--train-nodes",
        type=int,
        default=1,
        metavar="N",
        help="train across N nodes as a Kubeflow Trainer TrainJob (needs --checkpoint-claim; Trainer 2.2 or later)",
    )
    group.add_argument(
        "--train-gpus", type=int, default=1, metavar="N", help="GPUs per train node (default 1; 0: CPU nodes)"
    )
    group.add_argument(
        "--pretrained-import",
        action="store_true",
        help="add a pretrained_model parameter: the URI of a save_pretrained folder imported like the data",
    )
    group.add_argument(
        "--hub-cache-claim",
        default="",
        metavar="CLAIM",
        help="a claim holding a Hugging Face hub cache (its hub/ folder): train reads the preset's checkpoint "
        "there and never asks the hub (default: the pods download it)",
    )
    group.add_argument(
        "--deploy",
        action="store_true",
        help="main pipeline: export the round-2 model to ONNX and serve it as a KServe InferenceService "
        "(the service_* parameters; docs/serving.md)",
    )
    group.add_argument("--registry", help="name the images pushed to this registry by `make push` (by digest)")
    group.add_argument("--cpu-image", help="name this CPU image (by digest, or a tag pulled Always)")
    group.add_argument("--gpu-image", help="name this GPU image (by digest, or a tag pulled Always)")


def topology_from_args(args: argparse.Namespace):
    from trashseg.pipelines.compile import registry_images
    from trashseg.pipelines.topology import Images, Topology

    images = registry_images(args.registry) if args.registry else Images.default()
    images = Images(args.cpu_image or images.cpu, args.gpu_image or images.gpu)
    topology = Topology(
        checkpoint_claim=args.checkpoint_claim,
        train_nodes=args.train_nodes,
        train_gpus=args.train_gpus,
        pretrained_import=args.pretrained_import,
        hub_cache_claim=args.hub_cache_claim,
        deploy=args.deploy,
        images=images,
    )
    topology.check()
    return topology


def _compile(args: argparse.Namespace) -> None:
    from trashseg.pipelines.compile import compile_all

    topology = topology_from_args(args)
    for path in compile_all(args.out_dir, topology):
        needs = ", ".join(f"{name} >= {version}" for name, version in topology.requirements(path.stem).items())
        print(f"{path}  (needs {needs})")


def _run_local(args: argparse.Namespace) -> None:
    import shutil
    import time

    from trashseg.pipelines.run_local import execute, prepare_local
    from trashseg.pipelines.submit import parse_params
    from trashseg.pipelines.task_log import tasks_to_log
    from trashseg.pipelines.topology import Topology

    params = parse_params(args.param)
    log_path = Path(args.pipeline_root) / "logs" / f"{args.pipeline}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    prepared = prepare_local(  # every check first: bad input is one line, and nothing is written
        args.pipeline,
        args.data,
        args.pipeline_root,
        args.runner,
        params,
        args.profile,
        caching=not args.no_cache,
        topology=Topology(pretrained_import=args.pretrained_import),
        train_data=args.train_data,
        test_data=args.test_data,
    )
    print(f"pipeline {args.pipeline}, kfp local runner ({args.runner}); every task's output goes to {log_path}")
    try:
        with tasks_to_log(log_path):
            summary = execute(prepared)
    except Exception:
        tail = log_path.read_text(errors="replace").splitlines()[-15:] if log_path.exists() else []
        print("\n".join(["the run failed; the end of its log:", *tail, f"(whole log: {log_path})"]), file=sys.stderr)
        raise
    if summary.get("run_dir"):
        log_path = Path(shutil.move(log_path, Path(summary["run_dir"]) / "pipeline.log"))
    summary["log"] = str(log_path)
    summary_path = Path(args.pipeline_root) / f"last-{args.pipeline}.json"
    summary_path.write_text(json.dumps(summary, indent=2))
    print(f"\n=== pipeline {summary['pipeline']} finished in {summary['seconds']:.0f} s ===")
    for name, path in summary["outputs"].items():
        print(f"  {name:17s} {path}")
    metrics = summary.get("metrics", {})
    for key in ("miou", "mean_image_miou", "pixel_accuracy", "cv_miou_mean", "cv_miou_std"):
        if key in metrics:
            print(f"  {key:17s} {metrics[key]:.4f}")
    per_class = metrics.get("per_class_iou", {})
    if per_class:
        print(
            "  IoU per class    "
            + ", ".join(f"{name} {'-' if value is None else f'{value:.3f}'}" for name, value in per_class.items())
        )
    for key in ("cv_test_miou_mean", "cv_gap_mean"):
        if key in metrics:
            print(f"  {key:17s} {metrics[key]:+.4f}")
    for comparison in (summary.get("comparison"), summary.get("copy_paste")):
        if comparison:
            level = round(comparison["confidence"] * 100)
            for name, delta in comparison["deltas"].items():
                measure = f"IoU of {delta['class']}, " if "class" in delta else ""
                print(
                    f"  {name:17s} {delta['value']:+.4f} ({measure}{delta['better']} - {delta['worse']}; {level}% "
                    "interval "
                    f"[{delta['ci_low']:+.4f}, {delta['ci_high']:+.4f}] over {comparison['images']} images)"
                )
    print(f"  log              {log_path}")
    print(f"  summary          {summary_path}")


def _submit(args: argparse.Namespace) -> None:
    from trashseg.components.common import checks
    from trashseg.pipelines.submit import parse_params, submit_pipeline

    if args.wait is not None:
        checks.number("--wait", args.wait, low=0, high=7 * 24 * 3600, low_open=True)
    import tempfile

    from trashseg.pipelines.compile import compile_one, module_of

    module_of(args.pipeline)
    topology = topology_from_args(args)
    with tempfile.TemporaryDirectory(prefix="trashseg-compiled-") as compiled:
        package = compile_one(args.pipeline, Path(compiled), topology)
        result = submit_pipeline(
            args.host,
            args.pipeline,
            parse_params(args.param),
            args.namespace,
            args.experiment,
            args.run_name,
            package=package,
            wait_seconds=args.wait,
            requirements=topology.requirements(args.pipeline),
        )
    print(json.dumps(result, indent=2))
    if result.get("state"):
        print(f"run {result['run_id']} ended {result['state']}: {result['url']}")


def _deploy(args: argparse.Namespace) -> None:
    import yaml

    from trashseg.components.common.params import from_args
    from trashseg.components.deploy.logic import as_dict, deploy, inference_service
    from trashseg.components.deploy.params import DeployParams

    params = from_args(DeployParams, args)
    if args.dry_run:
        print(yaml.safe_dump(as_dict(inference_service(args.model_uri, params)), sort_keys=False), end="")
        return
    answer = deploy(args.model_uri, params)
    metadata = answer["metadata"]
    url = (answer.get("status") or {}).get("url") or "(not ready yet)"
    print(f"InferenceService {metadata['namespace']}/{metadata['name']}: {url}")


def _runs(args: argparse.Namespace) -> None:
    from trashseg.components.common import checks
    from trashseg.pipelines.submit import list_runs

    checks.number("--count", args.count, low=1, high=1000, integer=True)
    for run in list_runs(args.host, args.namespace, args.experiment, args.count):
        print(f"{run['run_id']:38s} {run['state']:10s} {run['created_at']:22s} {run['name']}  {run['url']}")


def _fingerprint(args: argparse.Namespace) -> None:
    from trashseg.data_contracts.artifact import folder_digest
    from trashseg.data_contracts.errors import ContractError

    if not args.folder.is_dir():
        raise ContractError(args.folder, "not a folder", field="folder")
    print(folder_digest(args.folder))
