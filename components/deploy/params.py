"""The knobs of deploy, in one plain dataclass (light imports)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trashseg.components.common import checks
from trashseg.components.models.tta import TTA
from trashseg.data_contracts.errors import ParameterError

# KServe's own rule for InferenceService names (IsvcNameFmt, pkg/apis/serving/v1beta1/inference_service_validation.go);
# 45 characters leave room for the "-predictor-00001" suffixes of the Services and revisions made from it (63 at most).
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAME_MAX = 45
# A Kubernetes quantity, e.g. 500m, 2, 1.5, 4Gi, 512Mi (apimachinery's resource.Quantity, the common forms).
QUANTITY_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


@dataclass
class DeployParams(TTA):
    """What the InferenceService asks of the cluster, and the TTA its `trashseg serve` applies (infer's knobs, the
    same class). ``None`` means: decided from the rest (see each help)."""

    service_name: str = field(
        default="trashseg", metadata={"help": "InferenceService name (lowercase letters, digits, '-'; at most 45)"}
    )
    service_namespace: str | None = field(
        default=None,
        metadata={
            "help": "the InferenceService's namespace (unset: the pod's own in a cluster, else the kubeconfig "
            "context's, else 'default')"
        },
    )
    service_gpus: int = field(
        default=0, metadata={"help": "NVIDIA GPUs for the predictor (0: CPU); a GPU needs a model, not an ONNX export"}
    )
    service_cpu: str = field(default="2", metadata={"help": "the predictor's CPU request and limit (a quantity)"})
    service_memory: str = field(
        default="4Gi", metadata={"help": "the predictor's memory request and limit (a quantity)"}
    )
    min_replicas: int = field(
        default=1, metadata={"help": "fewest predictor pods (0 lets a serverless install scale to zero)"}
    )
    max_replicas: int = field(default=1, metadata={"help": "most predictor pods"})
    service_image: str | None = field(
        default=None,
        metadata={"help": "the predictor's image (unset: the project's CPU image, or its GPU image with GPUs)"},
    )
    service_account: str | None = field(
        default=None,
        metadata={
            "help": "service account whose secret holds the object store's credentials and endpoint (docs/serving.md)"
        },
    )
    wait_seconds: int = field(
        default=600, metadata={"help": "wait this long for the InferenceService to become Ready (0: do not wait)"}
    )

    def check(self) -> None:
        if (
            not isinstance(self.service_name, str)
            or not NAME_PATTERN.match(self.service_name)
            or len(self.service_name) > NAME_MAX
        ):
            raise ParameterError(
                "--service-name",
                f"{self.service_name!r} is not an InferenceService name: lowercase letters, digits and '-', "
                f"starting with a letter, at most {NAME_MAX} characters",
            )
        if self.service_namespace is not None and (
            not NAME_PATTERN.match(self.service_namespace) or len(self.service_namespace) > 63
        ):
            raise ParameterError(
                "--service-namespace", f"{self.service_namespace!r} is not a namespace name (a DNS label)"
            )
        checks.number("--service-gpus", self.service_gpus, low=0, high=16, integer=True)
        for name, value in (("--service-cpu", self.service_cpu), ("--service-memory", self.service_memory)):
            if not isinstance(value, str) or not QUANTITY_PATTERN.match(value):
                raise ParameterError(name, f"{value!r} is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)")
        checks.number("--min-replicas", self.min_replicas, low=0, high=100, integer=True)
        checks.number("--max-replicas", self.max_replicas, low=max(1, self.min_replicas), high=100, integer=True)
        if self.service_account is not None and not NAME_PATTERN.match(self.service_account):
            raise ParameterError("--service-account", f"{self.service_account!r} is not a service account name")
        checks.number("--wait-seconds", self.wait_seconds, low=0, high=86400, integer=True)
        self.check_tta()
