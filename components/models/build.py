"""Build a model from a preset, optionally from a user's whole pretrained checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from trashseg.components.common.log import get_logger
from trashseg.components.models.family import get_family
from trashseg.components.models.presets import Preset
from trashseg.components.models.pretrained import BACKBONE_MODEL_TYPES, Start, resolve_start
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError

log = get_logger("trashseg.models")


def label_maps(classes: ClassTable) -> tuple[dict[int, str], dict[str, int]]:
    id2label = {i: n for i, n in enumerate(classes.names)}
    return id2label, {n: i for i, n in id2label.items()}


def build_model(
    preset: Preset, classes: ClassTable, pretrained: Start | str | Path | None = None, seed: int = 0
) -> torch.nn.Module:
    """A model for ``classes``: from scratch, from a whole pretrained model (all but the classifiers), or a pretrained
    backbone.

    ``pretrained`` is a resolved :class:`Start` or, for convenience, a folder or hub id.
    A whole model's architecture wins over the preset's (its weights only fit it);
    a backbone checkpoint brings its backbone architecture under the preset's head.
    """
    torch.manual_seed(seed)
    start = pretrained if isinstance(pretrained, Start) else resolve_start(pretrained, None, "whole", False)
    id2label, label2id = label_maps(classes)
    cls = get_family(preset.family).model_class()
    if start.kind == "scratch":
        config = preset.make_config(classes.num_classes)
        config.id2label, config.label2id = id2label, label2id
        return cls(config)
    from transformers import AutoConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    directory = start.directory
    config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    weights = start.weights
    family = get_family(preset.family)
    if weights == "backbone" and not family.takes_backbone_start:
        raise ContractError(
            directory / "config.json",
            f"is a '{config.model_type}' backbone; preset {preset.name} takes a whole '{family.model_type}' model",
            field="model_type",
        )
    if weights == "whole" and config.model_type != family.model_type:
        raise ContractError(
            directory / "config.json",
            f"is a '{config.model_type}' checkpoint but preset {preset.name} needs "
            f"'{family.model_type}' (a whole model) or a backbone "
            f"({', '.join(sorted(BACKBONE_MODEL_TYPES))})",
            field="model_type",
        )
    if not any(directory.glob("*.safetensors")):
        raise ContractError(directory, "has a config.json but no .safetensors weights", field="pretrained")
    if weights == "backbone":
        return _with_pretrained_backbone(preset, classes, directory, config, seed)
    same_classes = getattr(config, "id2label", None) and {int(k): v for k, v in config.id2label.items()} == id2label
    model, info = cls.from_pretrained(
        str(directory),
        local_files_only=True,
        id2label=id2label,
        label2id=label2id,
        ignore_mismatched_sizes=True,
        output_loading_info=True,
    )
    classifier_keys = {
        name
        for name, _ in model.named_parameters()
        if any(name.startswith(prefix) for prefix in _classifier_prefixes(model, preset.family))
    }
    missing = sorted(k for k in info.get("missing_keys", []) if k not in classifier_keys)
    if missing:
        raise ContractError(
            directory,
            f"lacks {len(missing)} weights the model needs (first: {missing[0]}); "
            "the checkpoint is incomplete or of another architecture",
            field="pretrained",
        )
    if not same_classes:
        for module in get_family(preset.family).classifiers(model):
            module.reset_parameters()
        log.info("loaded %s; classification layers re-initialised for %d classes", start.source, classes.num_classes)
    return model


def _classifier_prefixes(model: torch.nn.Module, family: str) -> list[str]:
    wanted = {id(m) for m in get_family(family).classifiers(model)}
    return [f"{name}." for name, module in model.named_modules() if id(module) in wanted]


def _with_pretrained_backbone(
    preset: Preset, classes: ClassTable, directory: Path, backbone_config, seed: int
) -> torch.nn.Module:
    """The preset's head on the checkpoint's backbone (architecture and weights), e.g. an ImageNet-22k ConvNeXt."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_BACKBONE_MAPPING

    torch.manual_seed(seed)
    config = preset.make_config(classes.num_classes)
    backbone_config.out_features = list(config.backbone_config.out_features)
    config.backbone_config = backbone_config
    config.id2label, config.label2id = label_maps(classes)
    model = get_family(preset.family).model_class()(config)
    # The concrete backbone class: AutoBackbone.from_pretrained asks the hub whether a folder path is a repo.
    backbone_class = MODEL_FOR_BACKBONE_MAPPING[type(backbone_config)]
    backbone, info = backbone_class.from_pretrained(
        str(directory), local_files_only=True, out_features=backbone_config.out_features, output_loading_info=True
    )
    # The per-stage output norms exist only in backbone classes: they start fresh, as in transformers' own backbones.
    missing = sorted(k for k in info.get("missing_keys", []) if not k.startswith("hidden_states_norms."))
    if missing:
        raise ContractError(
            directory, f"lacks {len(missing)} backbone weights (first: {missing[0]})", field="pretrained"
        )
    get_family(preset.family).backbone(model).load_state_dict(backbone.state_dict())
    log.info("backbone from %s under a fresh %s head", directory, preset.family)
    return model


def load_model(artifact, device: str = "cpu"):
    """A model artifact's transformers model, in eval mode, from its local directory only.

    Loading needs the model classes, so it lives here with them; the artifact
    contract (``data_contracts.model``) only reads and checks the files.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = get_family(artifact.family).model_class().from_pretrained(artifact.path, local_files_only=True)
    return model.to(device).eval()
