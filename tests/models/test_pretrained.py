"""Pretrained weights by name: Hugging Face Hub ids through the HF cache (offline), folders, backbones, and clear
refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from trashseg.components.models.build import build_model
from trashseg.components.models.presets import SCRATCH_LR, get_preset
from trashseg.components.models.pretrained import resolve_start
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.model import ModelArtifact

REVISION = "0123456789abcdef0123456789abcdef01234567"


def put_in_hub_cache(hf_home, hub_id: str, model) -> object:
    """Write ``model`` where huggingface_hub looks for ``hub_id`` (models--ORG--NAME/snapshots/REV + refs/main)."""
    repo = hf_home / "hub" / f"models--{hub_id.replace('/', '--')}"
    model.save_pretrained(repo / "snapshots" / REVISION)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    return repo / "snapshots" / REVISION


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf"


def test_a_hub_id_loads_from_the_cache_offline(hf_home):
    preset = get_preset("upernet-convnext-tiny")
    donor = build_model(preset, ClassTable.from_names(["bg", "a", "b"]), seed=7)
    put_in_hub_cache(hf_home, "someorg/tiny-upernet", donor)
    start = resolve_start("someorg/tiny-upernet", None, "whole", False)
    assert (start.kind, start.source, start.revision) == ("hub", "someorg/tiny-upernet", REVISION)
    model = build_model(preset, ClassTable(), start, seed=0)
    kept = donor.state_dict()
    assert torch.equal(
        model.state_dict()["backbone.embeddings.patch_embeddings.weight"],
        kept["backbone.embeddings.patch_embeddings.weight"],
    )
    assert model.config.num_labels == 11


def test_the_eomt_preset_loads_its_checkpoint_by_id_offline(hf_home):
    """A tiny EoMT written under the real preset's hub id stands in for the DINOv2-L ADE20K model: found offline, its
    architecture wins, everything but the classifier is kept."""
    preset = get_preset("eomt-dinov2-large")
    assert preset.checkpoint == "tue-mps/ade20k_semantic_eomt_large_512"
    donor = build_model(get_preset("eomt-tiny"), ClassTable.from_names([f"ade{k}" for k in range(150)]), seed=3)
    put_in_hub_cache(hf_home, preset.checkpoint, donor)
    start = resolve_start(None, preset.checkpoint, preset.checkpoint_weights, False)
    model = build_model(preset, ClassTable(), start, seed=0)
    assert model.config.hidden_size == 48 and model.config.num_labels == 11
    assert model.class_predictor.out_features == 12  # 11 classes + "no object"
    kept = donor.state_dict()
    assert torch.equal(
        model.state_dict()["embeddings.patch_embeddings.projection.weight"],
        kept["embeddings.patch_embeddings.projection.weight"],
    )
    assert torch.equal(model.state_dict()["query.weight"], kept["query.weight"])


def test_an_uncached_hub_id_is_one_clear_error(hf_home):
    with pytest.raises(
        ContractError,
        match=r"'someorg/absent' is not in the Hugging Face cache .*HF_HUB_OFFLINE is set.*hf download someorg/absent",
    ):
        resolve_start("someorg/absent", None, "whole", False)
    with pytest.raises(ContractError, match="neither an existing folder nor a Hugging Face Hub id"):
        resolve_start("not a name", None, "whole", False)
    with pytest.raises(ContractError, match="excludes --pretrained"):
        resolve_start("someorg/x", None, "whole", True)


def test_real_presets_name_their_checkpoint_and_scratch_switches_learning_rates():
    from trashseg.components.train.logic import TrainParams

    assert get_preset("upernet-convnext").checkpoint == "openmmlab/upernet-convnext-base"
    assert get_preset("mask2former-swin").checkpoint == "facebook/mask2former-swin-base-IN21k-ade-semantic"
    assert get_preset("upernet-convnext-in22k").checkpoint_weights == "backbone"
    assert get_preset("upernet-convnext-tiny").checkpoint is None
    assert resolve_start(None, None, "whole", False).kind == "scratch"
    tuned = TrainParams(preset="upernet-convnext").resolved()
    scratch = TrainParams(preset="upernet-convnext", from_scratch=True).resolved()
    assert (tuned.lr_backbone, tuned.lr_head) == (4e-6, 4e-5)
    assert (scratch.lr_backbone, scratch.lr_head) == (SCRATCH_LR["lr_backbone"], SCRATCH_LR["lr_head"])
    tiny_preset = get_preset("upernet-convnext-tiny")
    tiny = TrainParams(preset="upernet-convnext-tiny", from_scratch=True).resolved()
    # tiny presets always start from scratch: nothing switches, the preset's own rates stay
    assert (
        (tiny.lr_backbone, tiny.lr_head) == (tiny_preset.lr_backbone, tiny_preset.lr_head) != tuple(SCRATCH_LR.values())
    )


def test_incomplete_and_wrong_checkpoints_fail_clearly(tmp_path):
    preset = get_preset("upernet-convnext-tiny")
    donor = build_model(preset, ClassTable(), seed=1)
    donor.save_pretrained(tmp_path / "full")
    weights = load_file(str(tmp_path / "full" / "model.safetensors"))
    dropped = sorted(k for k in weights if k.startswith("backbone.encoder.stages.2"))
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "config.json").write_text((tmp_path / "full" / "config.json").read_text())
    save_file(
        {k: v for k, v in weights.items() if k not in dropped},
        str(tmp_path / "partial" / "model.safetensors"),
        metadata={"format": "pt"},
    )
    with pytest.raises(ContractError, match=rf"lacks {len(dropped)} weights the model needs"):
        build_model(preset, ClassTable(), tmp_path / "partial")
    (tmp_path / "partial" / "model.safetensors").unlink()
    with pytest.raises(ContractError, match="no .safetensors weights"):
        build_model(preset, ClassTable(), tmp_path / "partial")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContractError, match="no pretrained checkpoint here"):
        build_model(preset, ClassTable(), tmp_path / "empty")
    build_model(get_preset("beit-upernet-tiny"), ClassTable()).save_pretrained(tmp_path / "beit")
    with pytest.raises(ContractError, match="is a 'beit' checkpoint but preset upernet-convnext-tiny needs 'upernet'"):
        build_model(preset, ClassTable(), tmp_path / "beit")


def test_a_backbone_checkpoint_goes_under_a_fresh_head(tmp_path):
    from transformers import ConvNextConfig, ConvNextForImageClassification

    torch.manual_seed(3)
    classifier = ConvNextForImageClassification(
        ConvNextConfig(depths=[1, 1, 2, 1], hidden_sizes=[24, 48, 96, 192], num_labels=5)
    )
    classifier.save_pretrained(tmp_path / "in22k")
    model = build_model(get_preset("upernet-convnext-tiny"), ClassTable(), tmp_path / "in22k", seed=0)
    source = classifier.state_dict()
    for key, value in model.backbone.state_dict().items():
        if key.startswith(("embeddings.", "encoder.")):
            assert torch.equal(value, source[f"convnext.{key}"]), key
    assert model.config.num_labels == 11


@pytest.mark.slow
def test_train_by_hub_id_records_where_it_started(hf_home, sample_dataset, sample_split, tmp_path):
    preset = get_preset("upernet-convnext-tiny")
    put_in_hub_cache(hf_home, "someorg/tiny-upernet", build_model(preset, ClassTable(), seed=7))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = [
        sys.executable,
        "-m",
        "trashseg.components.cli",
        "train",
        "--dataset",
        str(sample_dataset),
        "--split",
        str(sample_split),
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--max-steps-per-epoch",
        "1",
    ]
    done = subprocess.run(
        [*base, "--pretrained", "someorg/tiny-upernet", "--out", str(tmp_path / "m")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    started = ModelArtifact(tmp_path / "m").card["training"]["pretrained"]
    assert started == {"kind": "hub", "source": "someorg/tiny-upernet", "revision": REVISION, "weights": "whole"}
    refused = subprocess.run(
        [*base, "--pretrained", "someorg/absent", "--out", str(tmp_path / "n")], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "'someorg/absent' is not in the Hugging Face cache" in refused.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "n").exists()
    card = json.loads((tmp_path / "m" / "trashseg_model.json").read_text())
    assert card["training"]["from_scratch"] is False
