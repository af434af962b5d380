"""Every config under configs/kda builds and runs one training step; the settings are the
paper's; a KDA config's loss acts once the landmarks exist."""
import glob
import os.path as osp

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample

from config_smoke import build_model, run_one_train_step

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

KDA_DIR = osp.join(REPO_ROOT, 'configs', 'kda')
CONFIGS = sorted(path for path in glob.glob(osp.join(KDA_DIR, '**', '*.py'), recursive=True)
                 if '_base_' not in path)
DISTILL_CONFIGS = [path for path in CONFIGS if osp.basename(path).startswith('kda_')]
PAPER_CONFIGS = [path for path in DISTILL_CONFIGS if 'shapes' not in path]
TOY_CONFIG = osp.join(KDA_DIR, 'shapes', 'kda_before-fc_resnet20_resnet8_1xb32_shapes.py')


def _name(path: str) -> str:
    return osp.relpath(path, KDA_DIR)


def test_the_expected_configs_are_shipped():
    assert len(PAPER_CONFIGS) == 18  # {CIFAR-100, Tiny-ImageNet} x 3 students x 3 places
    assert len(CONFIGS) == 18 + 2 + 1  # + two teachers + the toy pair
    assert TOY_CONFIG in CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_runs_one_train_step(path):
    losses = run_one_train_step(path)
    kda_losses = {key: value for key, value in losses.items() if 'loss_kda' in key}
    if path in DISTILL_CONFIGS:
        expected = {'combo': 2}.get(osp.basename(path).split('_')[1], 1)
        assert len(kda_losses) == expected
        assert set(kda_losses.values()) == {0.0}  # first epoch: warming up
        assert 'student.loss' in losses


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=_name)
def test_paper_settings(path):
    cfg = Config.fromfile(path)
    # idstcv/KDA main_kda.py = paper Sec. 4: 2 x 128 images, SGD 0.1 / 0.9 / 5e-4,
    # 120 epochs
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=256)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9,
                                               weight_decay=5e-4)
    assert cfg.train_cfg.max_epochs == 120
    # main_kda.py adjust_learning_rate: linear warm-up over 5 epochs, then cosine
    # over the remaining 115, both per iteration
    warmup, cosine = cfg.param_scheduler
    assert warmup == dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0,
                          end=5, convert_to_iter_based=True)
    assert cosine == dict(type='CosineAnnealingLR', T_max=115, eta_min=0.0,
                          by_epoch=True, begin=5, end=120, convert_to_iter_based=True)
    assert [hook.type for hook in cfg.custom_hooks] == ['KDALandmarkHook']
    assert cfg.model.teacher.backbone == dict(type='ResNet_CIFAR', depth=34)
    num_classes = 100 if 'cifar100' in path else 200
    assert cfg.model.architecture.head.num_classes == num_classes
    if 'shufflenet-v2' in path:  # pytorch-cifar100 family of the released networks
        assert cfg.model.architecture.backbone == dict(type='ShuffleNetV2CIFAR',
                                                       widen_factor=1.0)
    place = osp.basename(path).split('_')[1]
    losses = cfg.model.distiller.distill_losses
    expected = dict(before_fc=(cfg.model.architecture.head.in_channels, 512),
                    after_fc=(num_classes, num_classes))
    # documented keys: loss_kda (one position), loss_kda_<position> (Combo)
    keys = {'before-fc': {'loss_kda': 'before_fc'}, 'after-fc': {'loss_kda': 'after_fc'},
            'combo': {'loss_kda_before_fc': 'before_fc',
                      'loss_kda_after_fc': 'after_fc'}}[place]
    assert sorted(losses) == sorted(keys)
    assert sorted(cfg.model.distiller.loss_forward_mappings) == sorted(keys)
    for key, position in keys.items():
        loss = losses[key]
        # weight 0.04 (--alpha), KDA warm-up 5 epochs (--warm, Alg. 1 H = 5)
        assert (loss.type, loss.loss_weight, loss.warmup_epochs, loss.num_classes) == \
            ('KDALoss', 0.04, 5, num_classes)
        assert (loss.student_channels, loss.teacher_channels) == expected[position]


def test_the_documented_loss_key_changes_the_loss(tmp_path):
    """A derived config sets the KDA weight by `loss_kda` (the key a user tries)."""
    base = osp.join(KDA_DIR, 'cifar100', 'kda_before-fc_resnet34_resnet18_2xb128-120e_cifar100.py')
    user_config = tmp_path / 'my_kda.py'
    user_config.write_text(
        f'_base_ = [{base!r}]\n'
        'model = dict(distiller=dict(distill_losses=dict(loss_kda=dict(loss_weight=0.1))))\n')
    model = build_model(str(user_config))
    assert model.distiller.distill_losses['loss_kda'].loss_weight == 0.1


def test_shufflenet_v2_student_keeps_a_4x4_map_on_cifar():
    cfg = Config.fromfile(osp.join(
        KDA_DIR, 'cifar100', 'kda_before-fc_resnet34_shufflenet-v2_2xb128-120e_cifar100.py'))
    backbone = MMPRETRAIN_MODELS.build(cfg.model.architecture.backbone)
    backbone.eval()
    (out, ) = backbone(torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, cfg.model.architecture.head.in_channels, 4, 4)


def test_half_width_student_has_half_the_channels():
    cfg = Config.fromfile(osp.join(
        KDA_DIR, 'cifar100', 'kda_before-fc_resnet34_resnet18-half_2xb128-120e_cifar100.py'))
    backbone = MMPRETRAIN_MODELS.build(cfg.model.architecture.backbone)
    widths = [getattr(backbone, f'layer{i}')[0].conv1.out_channels for i in range(1, 5)]
    assert widths == [32, 64, 128, 256]
    assert backbone.conv1.stride == (1, 1)  # CIFAR stem
    assert cfg.model.architecture.head.in_channels == 256


def _toy_batch(num_classes: int) -> dict:
    """Every class of the toy data once, then the first two again."""
    labels = torch.cat([torch.arange(num_classes), torch.arange(2)])
    return dict(
        inputs=torch.randint(0, 256, (len(labels), 3, 64, 64), dtype=torch.uint8),
        data_samples=[DataSample().set_gt_label(label) for label in labels])


def test_toy_config_distils_once_the_landmarks_exist():
    """Warm-up of one epoch: step, close the epoch, step again with a non-zero KDA loss."""
    torch.manual_seed(0)
    model = build_model(TOY_CONFIG, {
        'model.distiller.distill_losses.loss_kda.warmup_epochs': 1})
    model.train()
    optim_wrapper = build_optim_wrapper(model, model.cfg.optim_wrapper)
    data = _toy_batch(model.architecture.head.num_classes)
    first = model.train_step(data, optim_wrapper)
    assert float(first['distill.loss_kda']) == 0.0
    kda = model.distiller.distill_losses['loss_kda']
    kda.update_landmarks()
    assert (kda.landmarks_student.abs().sum(1) > 0).all()  # every class was seen
    second = model.train_step(data, optim_wrapper)
    assert float(second['distill.loss_kda']) > 0


def test_toy_config_with_mixup_counts_soft_targets_for_their_argmax_class():
    """CutMix / Mixup turn the targets the recorder sees into (N, C) scores."""
    torch.manual_seed(0)
    model = build_model(TOY_CONFIG, {
        'model.data_preprocessor.batch_augments':
        dict(augments=[dict(type='Mixup', alpha=1.0)])})
    model.train()
    optim_wrapper = build_optim_wrapper(model, model.cfg.optim_wrapper)
    num_classes = model.architecture.head.num_classes
    data = _toy_batch(num_classes)
    model.train_step(data, optim_wrapper)
    targets = model.distiller.get_record('targets', True, data_idx=1)
    assert targets.shape == (num_classes + 2, num_classes)
    assert targets.is_floating_point()
    kda = model.distiller.distill_losses['loss_kda']
    feats = model.distiller.get_record('fc_inputs', True, data_idx=0).detach().double()
    counts = torch.bincount(targets.argmax(1), minlength=num_classes)
    torch.testing.assert_close(kda._accumulated.counts, counts.double())
    torch.testing.assert_close(
        kda._accumulated.sums[:, :64],
        torch.zeros(num_classes, 64, dtype=torch.float64).index_add_(
            0, targets.argmax(1), feats))
