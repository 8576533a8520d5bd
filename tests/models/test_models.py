"""Model presets, pretrained loading, optimizer groups, Mask2Former targets and matcher precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trashseg.components.models.build import build_model
from trashseg.components.models.family import get_family
from trashseg.components.models.forward import class_scores, keep_matcher_in_fp32, mask2former_targets, training_loss
from trashseg.components.models.presets import PRESETS, get_preset
from trashseg.components.train.optim import make_optimizer, parameter_groups
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError

TINY = [name for name in PRESETS if name.endswith("-tiny")]


@pytest.mark.parametrize("name", TINY)
def test_every_tiny_preset_trains_saves_and_loads(name, tmp_path):
    """One contract for every model: forward, backward, probabilities, save, load, same output."""
    preset = get_preset(name)
    model = build_model(preset, ClassTable(), seed=0)
    size = preset.image_size if preset.model_family.fixed_input_size else 64
    pixels = torch.randn(2, 3, size, size)
    labels = torch.randint(0, 11, (2, size, size))
    labels[0, :4] = 255
    loss = training_loss(model, preset.family, pixels, labels)
    assert torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()
    with torch.no_grad():
        scores = class_scores(model, preset.family, pixels)
    assert scores.shape[:2] == (2, 11)
    assert torch.allclose(scores.sum(1), torch.ones_like(scores.sum(1)), atol=1e-4)
    model.save_pretrained(tmp_path / "saved")
    reloaded = type(model).from_pretrained(tmp_path / "saved", local_files_only=True).eval()
    with torch.no_grad():
        assert torch.allclose(class_scores(reloaded, preset.family, pixels), scores, atol=1e-5)
    assert reloaded.config.id2label[9] == "Battery"


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ContractError, match="unknown model preset 'unet'.*upernet-convnext-tiny"):
        get_preset("unet")


@pytest.mark.parametrize("name", TINY)
def test_backbone_and_head_parameter_groups(name):
    preset = get_preset(name)
    model = build_model(preset, ClassTable())
    groups = parameter_groups(model, preset.family, 4e-6, 4e-5, 0.01)
    assert [g["name"] for g in groups] == ["backbone", "head"]
    assert [g["lr"] for g in groups] == [4e-6, 4e-5]
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == sum(1 for _ in model.parameters())
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(names[id(p)].startswith(get_family(preset.family).backbone_prefixes) for p in groups[0]["params"])
    classifier_ids = {id(p) for m in get_family(preset.family).classifiers(model) for p in m.parameters()}
    assert classifier_ids <= {id(p) for p in groups[1]["params"]}


@pytest.mark.parametrize("schedule", ["poly", "cosine", "constant"])
def test_learning_rate_schedule_warms_up_then_decays(schedule):
    """Both groups follow the written-out formula: linear warmup from 0 over 10 steps, then the decay, over 100
    steps."""
    import math

    def expected(step: int) -> float:
        if step < 10:
            return step / 10
        progress = (step - 10) / 90
        return {"poly": 1 - progress, "cosine": 0.5 * (1 + math.cos(math.pi * progress)), "constant": 1.0}[schedule]

    model = build_model(get_preset("upernet-convnext-tiny"), ClassTable())
    optimizer, scheduler = make_optimizer(model, "upernet", 4e-6, 4e-5, 0.01, 100, 10, schedule)
    seen = []
    for _ in range(100):
        seen.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    for step in (0, 5, 10, 55, 99):
        assert seen[step] == pytest.approx([4e-6 * expected(step), 4e-5 * expected(step)], abs=1e-15), step
    with pytest.raises(ValueError, match="unknown schedule"):
        make_optimizer(model, "upernet", 4e-6, 4e-5, 0.01, 100, 10, "step")


@pytest.mark.parametrize("name", ["upernet-convnext-tiny", "mask2former-swin-tiny"])
def test_pretrained_keeps_backbone_and_replaces_classifier(name, tmp_path):
    preset = get_preset(name)
    other = ClassTable.from_names(["bg", "a", "b", "c", "d"])
    donor = build_model(preset, other, seed=123)
    donor.save_pretrained(tmp_path / "ade")
    model = build_model(preset, ClassTable(), pretrained=tmp_path / "ade", seed=0)
    donor_state = donor.state_dict()
    classifier_names = {
        f"{prefix}.{n}"
        for prefix, module in model.named_modules()
        for m in get_family(preset.family).classifiers(model)
        if module is m
        for n, _ in m.named_parameters()
    }
    kept = 0
    for key, value in model.state_dict().items():
        if key in classifier_names:
            assert value.shape[0] in (11, 12) and value.shape != donor_state[key].shape
        elif key in donor_state and donor_state[key].shape == value.shape:  # class-sized buffers differ
            assert torch.equal(value, donor_state[key]), key
            kept += 1
    assert kept > 20 and classifier_names
    assert model.config.num_labels == 11 and model.config.id2label[10] == "Clothing"


def test_pretrained_errors(tmp_path):
    preset = get_preset("upernet-convnext-tiny")
    with pytest.raises(ContractError, match="is neither an existing folder nor a Hugging Face Hub id"):
        build_model(preset, ClassTable(), pretrained=tmp_path / "missing")
    build_model(get_preset("mask2former-swin-tiny"), ClassTable()).save_pretrained(tmp_path / "m2f")
    with pytest.raises(
        ContractError, match="is a 'mask2former' checkpoint but preset upernet-convnext-tiny needs 'upernet'"
    ):
        build_model(preset, ClassTable(), pretrained=tmp_path / "m2f")


def test_mask2former_targets_match_the_image_processor():
    from transformers import Mask2FormerImageProcessorPil

    rng = np.random.default_rng(0)
    label = rng.integers(0, 4, (32, 32)).astype(np.uint8)
    label[:3] = 255
    masks, classes = mask2former_targets(torch.from_numpy(label).long()[None])
    processor = Mask2FormerImageProcessorPil(
        do_resize=False, ignore_index=255, do_reduce_labels=False, do_normalize=False, do_rescale=False
    )
    expected = processor(images=[np.zeros((32, 32, 3), np.uint8)], segmentation_maps=[label], return_tensors="pt")
    order = torch.argsort(expected["class_labels"][0])
    assert torch.equal(classes[0], expected["class_labels"][0][order])
    assert torch.equal(masks[0], expected["mask_labels"][0][order].float())


def test_mask2former_matcher_runs_in_fp32_under_autocast():
    preset = get_preset("mask2former-swin-tiny")
    model = build_model(preset, ClassTable())
    seen = []
    original = model.criterion.matcher.forward

    def spy(masks_queries_logits, class_queries_logits, mask_labels, class_labels):
        seen.append((masks_queries_logits.dtype, class_queries_logits.dtype, torch.is_autocast_enabled("cpu")))
        return original(masks_queries_logits, class_queries_logits, mask_labels, class_labels)

    model.criterion.matcher.forward = spy
    keep_matcher_in_fp32(model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = training_loss(model, "mask2former", torch.randn(1, 3, 64, 64), torch.randint(0, 11, (1, 64, 64)))
    assert torch.isfinite(loss)
    assert seen and all(s == (torch.float32, torch.float32, False) for s in seen)


@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if p.family == "mask2former"])
def test_mask2former_presets_need_no_input_projection(name):
    """A projection conv in the transformer module fails under CUDA autocast (seen on an H100): keep widths equal."""
    config = get_preset(name).make_config(11)
    assert config.feature_size == config.hidden_dim == config.mask_feature_size


@pytest.mark.parametrize("name", TINY)
def test_each_family_finds_its_backbone_and_classifiers_in_the_built_model(name):
    """The family object's paths point at real modules: classifiers sized by the class count, backbone parameters
    exactly those under its prefixes."""
    preset = get_preset(name)
    family = preset.model_family
    classes = ClassTable()
    model = build_model(preset, classes)
    assert isinstance(model, family.model_class())
    outputs = {m.out_channels if hasattr(m, "out_channels") else m.out_features for m in family.classifiers(model)}
    assert outputs == {classes.num_classes + (1 if family.set_prediction else 0)}  # Mask2Former adds "no object"
    by_prefix = {id(p) for n, p in model.named_parameters() if n.startswith(family.backbone_prefixes)}
    heads = {id(p) for m in family.classifiers(model) for p in m.parameters()}
    assert by_prefix and not by_prefix & heads  # the small learning rate never reaches a classifier
    if family.takes_backbone_start:  # a separate backbone module, which a backbone checkpoint loads into
        assert {id(p) for p in family.backbone(model).parameters()} == by_prefix
    expected_target = None if family.compile_path is None else model.model if family.set_prediction else model
    assert family.compile_target(model) is expected_target


def test_an_unknown_family_is_one_clear_error():
    from trashseg.components.models.family import get_family
    from trashseg.data_contracts.errors import ContractError

    with pytest.raises(ContractError, match="unknown model family 'segformer'"):
        get_family("segformer")


def test_eomt_anneals_its_attention_masks_block_by_block():
    """Block k of N drops its mask during the k-th N-th of training (power 0.9): checked against the formula by hand."""
    from trashseg.components.models.forward import anneal_attention_masks

    model = build_model(get_preset("eomt-tiny"), ClassTable(), seed=0)
    assert model.attn_mask_probs.tolist() == [1.0, 1.0]  # masked attention at the start
    for progress, expected in (
        (0.0, [1.0, 1.0]),
        (0.25, [0.5**0.9, 1.0]),
        (0.5, [0.0, 1.0]),
        (0.75, [0.0, 0.5**0.9]),
        (1.0, [0.0, 0.0]),
    ):
        anneal_attention_masks(model, progress)
        assert model.attn_mask_probs.tolist() == pytest.approx(expected), progress
    # at the end the model predicts as a plain ViT: the masked path is skipped in eval mode
    model.eval()
    with torch.no_grad():
        outputs = model(pixel_values=torch.randn(1, 3, 128, 128))
    assert outputs.masks_queries_logits.shape[:2] == (1, 16)


@pytest.mark.slow
def test_eomt_trains_and_refuses_sizes_its_position_embeddings_do_not_fit(sample_dataset, sample_split, tmp_path):
    from trashseg.components.infer.logic import InferParams, run_infer
    from trashseg.components.train.logic import TrainParams, run_train

    with pytest.raises(ContractError, match="--image-size.*eomt-tiny takes only 128 px"):
        TrainParams(preset="eomt-tiny", image_size=96).check()
    TrainParams(preset="upernet-convnext-tiny", image_size=96).check()  # the others take any size
    run_train(
        [sample_dataset],
        sample_split,
        tmp_path / "model",
        TrainParams(preset="eomt-tiny", epochs=2, max_steps_per_epoch=2),
    )
    from trashseg.data_contracts.model import ModelArtifact

    card = ModelArtifact(tmp_path / "model").card
    assert card["family"] == "eomt" and card["epochs_run"] == 2
    with pytest.raises(ContractError, match="--tta.*only at its training size 128 px"):
        run_infer(tmp_path / "model", sample_dataset, tmp_path / "pred", InferParams(tta_scales=[0.75, 1.0]))
    assert not (tmp_path / "pred").exists()
    run_infer(tmp_path / "model", sample_dataset, tmp_path / "pred", InferParams())
    assert (tmp_path / "pred").is_dir()
