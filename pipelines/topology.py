"""What is decided when a pipeline is compiled, not when it runs: the shape of its graph and the images it names.

Why at compile time: every choice here adds or removes tasks, mounts or parameters. Chosen at run time they need
``dsl.If`` branches joined by an artifact ``dsl.OneOf``, which KFP backends before 2.17.0 resolve to the last branch
whatever ran (kubeflow/pipelines#13436). Compiled in, each variant is one straight graph that older backends run, and
``run-local`` runs exactly the graph the defaults compile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trashseg.components.common import checks
from trashseg.data_contracts.errors import ParameterError

CHECKPOINT_MOUNT = "/mnt/trashseg-checkpoints"  # where the checkpoint claim is mounted in train pods and TrainJob nodes
HUB_CACHE_MOUNT = "/mnt/trashseg-hub-cache"  # where a Hugging Face hub-cache claim is mounted (HF_HUB_CACHE)
CLAIM_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")  # a Kubernetes object name (DNS subdomain)
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

# The lowest KFP backend each feature needs, read from kubeflow/pipelines' driver, compiler and API server sources
# (docs/cluster.md has the reasons): any resource setting's fields are rejected at upload before 2.4.0; node selector
# and toleration JSON from parameters, optional parameters left unset, retries, PVC mounts (kfp-kubernetes 2.17
# writes pvcNameParameter) need 2.5.0; artifacts collected from a ParallelFor and retries inside one need 2.14.0.
KFP_MAIN = "2.5.0"
KFP_CV = "2.14.0"
TRAINER_PATCHES = "2.2.0"  # TrainJob.spec.runtimePatches (older CRDs prune the field)
KSERVE = "0.20.0"  # the InferenceService deploy writes is checked against this release's CRD (docs/serving.md)


@dataclass(frozen=True)
class Images:
    """The two images the components run in. A reference by digest pins what every node runs; a tag does not (nodes
    keep an older build of the same tag under IfNotPresent), so tasks naming a tag are compiled with pull policy
    Always."""

    cpu: str
    gpu: str

    @classmethod
    def default(cls) -> Images:
        from trashseg.components.common.images import CPU_IMAGE, GPU_IMAGE

        return cls(CPU_IMAGE, GPU_IMAGE)

    def pull_always(self, image: str) -> bool:
        return image not in (Images.default().cpu, Images.default().gpu) and not DIGEST.search(image)


@dataclass(frozen=True)
class Topology:
    """The compile-time choices (``trashseg pipeline compile --help``); the defaults compile the checked-in YAML."""

    checkpoint_claim: str = ""  # a PersistentVolumeClaim mounted in the train pods: a retried task resumes
    train_nodes: int = 1  # above 1: train as a Kubeflow Trainer TrainJob across nodes (needs checkpoint_claim, RWX)
    train_gpus: int = 1  # GPUs per train node (torchrun starts one process per GPU)
    pretrained_import: bool = False  # a pretrained_model URI parameter whose folder an importer brings in
    hub_cache_claim: str = ""  # a claim holding a Hugging Face hub cache: the hub is then not asked (HF_HUB_OFFLINE=1)
    deploy: bool = False  # the main pipeline exports its final model to ONNX and serves it (a KServe InferenceService)
    images: Images = field(default_factory=Images.default)

    def check(self) -> None:
        """Refuse a topology that cannot run, before anything is compiled."""
        for flag, claim in (("--checkpoint-claim", self.checkpoint_claim), ("--hub-cache-claim", self.hub_cache_claim)):
            if claim and not CLAIM_NAME.match(claim):
                raise ParameterError(
                    flag, f"{claim!r} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')"
                )
        checks.number("--train-nodes", self.train_nodes, low=1, high=256, integer=True)
        checks.number("--train-gpus", self.train_gpus, low=0, high=16, integer=True)
        if self.train_nodes > 1 and not self.checkpoint_claim:
            raise ParameterError(
                "--train-nodes",
                f"{self.train_nodes} nodes share their inputs and checkpoints on a claim that "
                "every node mounts: add --checkpoint-claim NAME (a ReadWriteMany claim)",
            )

    @property
    def local(self) -> bool:
        """Whether kfp's local runner can run this graph (it mounts no claim, starts no TrainJob, serves nothing)."""
        return not (self.checkpoint_claim or self.hub_cache_claim or self.train_nodes > 1 or self.deploy)

    def requirements(self, pipeline: str) -> dict[str, str]:
        """The lowest versions this variant needs on a cluster."""
        needs = {"KFP backend": KFP_CV if pipeline == "trashseg-cv" else KFP_MAIN}
        if self.train_nodes > 1:
            needs["Kubeflow Trainer"] = TRAINER_PATCHES
        if self.deploy and pipeline == "trashseg":
            needs["KServe"] = KSERVE
        return needs
