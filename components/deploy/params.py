"""The knobs of deploy, in one plain dataclass (light imports)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trashseg.components.common import checks
from trashseg.data_contracts.errors import ContractError

# KServe's own rule for InferenceService names (IsvcNameFmt, pkg/apis/serving/v1beta1/inference_service_validation.go);
# 45 characters leave room for the "-predictor-00001" suffixes of the Services and revisions made from it (63 at most).
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAME_MAX = 45
# A Kubernetes quantity, e.g. 500m, 2, 1.5, 4Gi, 512Mi (apimachinery's resource.Quantity, the common forms).
QUANTITY_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


@dataclass(frozen=True)
class DeployParams:
    """What the InferenceService asks of the cluster. ``None`` means: decided from the rest (see each help)."""

    name: str = field(
        default="trashseg", metadata={"help": "InferenceService name (lowercase letters, digits, '-'; at most 45)"}
    )
    namespace: str | None = field(
        default=None,
        metadata={
            "help": "namespace (default: the pod's own in a cluster, else the kubeconfig context's, else 'default')"
        },
    )
    gpus: int = field(
        default=0, metadata={"help": "NVIDIA GPUs for the predictor (0: CPU); a GPU needs a model, not an ONNX export"}
    )
    cpu: str = field(default="2", metadata={"help": "CPU request and limit, a Kubernetes quantity"})
    memory: str = field(default="4Gi", metadata={"help": "memory request and limit, a Kubernetes quantity"})
    min_replicas: int = field(
        default=1, metadata={"help": "fewest predictor pods (0 lets a serverless install scale to zero)"}
    )
    max_replicas: int = field(default=1, metadata={"help": "most predictor pods"})
    image: str | None = field(
        default=None,
        metadata={"help": "container image (default: the project's CPU image, or its GPU image when gpus > 0)"},
    )
    service_account: str | None = field(
        default=None,
        metadata={
            "help": "service account whose secret holds the object store's credentials and endpoint (docs/serving.md)"
        },
    )
    tta: str = field(default="flip", metadata={"help": "test-time augmentation of `trashseg serve` (infer's default)"})

    def check(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name) or len(self.name) > NAME_MAX:
            raise ContractError(
                "name",
                f"{self.name!r} is not an InferenceService name: lowercase letters, digits and '-', "
                f"starting with a letter, at most {NAME_MAX} characters",
            )
        if self.namespace is not None and (not NAME_PATTERN.match(self.namespace) or len(self.namespace) > 63):
            raise ContractError("namespace", f"{self.namespace!r} is not a namespace name (a DNS label)")
        checks.number("gpus", self.gpus, low=0, high=16, integer=True)
        for name, value in (("cpu", self.cpu), ("memory", self.memory)):
            if not isinstance(value, str) or not QUANTITY_PATTERN.match(value):
                raise ContractError(name, f"{value!r} is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)")
        checks.number("min_replicas", self.min_replicas, low=0, high=100, integer=True)
        checks.number("max_replicas", self.max_replicas, low=max(1, self.min_replicas), high=100, integer=True)
        if self.service_account is not None and not NAME_PATTERN.match(self.service_account):
            raise ContractError("service_account", f"{self.service_account!r} is not a service account name")
        from trashseg.components.models.tta import TTA

        TTA.parse(self.tta)
