"""The PCKA COCO configs of ``configs/pcka/`` (Zhou et al., IJCAI 2024, Tab. 3, 4, 9
and App. B): every config has the authors' settings, names exactly the OpenMMLab
model-zoo teacher it loads, and runs one training step on a tiny synthetic batch."""
import functools
from pathlib import Path

import pytest
import yaml

import mmrazor_relkd  # noqa: F401  (compat shims, before mmrazor / mmdet)
import mmdet
from mmengine.config import Config

from config_smoke import run_one_train_step

PCKA_CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'pcka'
PCKA_CONFIGS = sorted(PCKA_CONFIG_DIR.glob('*.py'))
MMDET_CONFIG_DIR = Path(mmdet.__file__).parent / '.mim' / 'configs'
LEVELS = range(4)

# The paper's pairs and what App. B / Sec. 3.4 say about each: the inter term on
# the two-stage and GFL pairs (weight = intra weight), lr 0.02 on the Cascade Mask
# R-CNN pair and 0.01 elsewhere, FCOS trained with its own recipe (constant warm-up,
# multi-scale 640-800, bias lr x 2), "+ mimic" where Tab. 3 reports it.
PAPER_PAIRS = {
    'pcka_fpn_retina-x101_retina-r50_2x_coco.py':
    dict(inter_weight=0.0, lr=0.01, fcos_recipe=False, mimic=False),
    'pcka_fpn_retina-r101_retina-r50_2x_coco.py':
    dict(inter_weight=0.0, lr=0.01, fcos_recipe=False, mimic=False),
    'pcka_fpn_faster-rcnn-r101_faster-rcnn-r50_2x_coco.py':
    dict(inter_weight=10.0, lr=0.01, fcos_recipe=False, mimic=False),
    'pcka_fpn_cascade-mask-rcnn-x101_faster-rcnn-r50_2x_coco.py':
    dict(inter_weight=10.0, lr=0.02, fcos_recipe=False, mimic=False),
    'pcka_fpn_fcos-r101_fcos-r50_2x_coco.py':
    dict(inter_weight=0.0, lr=0.01, fcos_recipe=True, mimic=False),
    'pcka_fpn_gfl-r101_gfl-r50_2x_coco.py':
    dict(inter_weight=10.0, lr=0.01, fcos_recipe=False, mimic=False),
    'pcka_fpn_reppoints-x101-dcn_reppoints-r50_2x_coco.py':
    dict(inter_weight=0.0, lr=0.01, fcos_recipe=False, mimic=False),
    'pcka-mimic_fpn_retina-x101_retina-r50_2x_coco.py':
    dict(inter_weight=0.0, lr=0.01, fcos_recipe=False, mimic=True),
    'pcka-mimic_fpn_cascade-mask-rcnn-x101_faster-rcnn-r50_2x_coco.py':
    dict(inter_weight=10.0, lr=0.02, fcos_recipe=False, mimic=True),
    'pcka-mimic_fpn_fcos-r101_fcos-r50_2x_coco.py':
    dict(inter_weight=0.0, lr=0.01, fcos_recipe=True, mimic=True),
}


@functools.lru_cache(maxsize=None)
def _load(config: Path) -> Config:
    """The parsed config (read-only use; parsed once per test session)."""
    return Config.fromfile(config)


def _mmdet_config_path(cfg_path: str) -> Path:
    """The installed file behind an ``mmdet::`` config path."""
    assert cfg_path.startswith('mmdet::'), cfg_path
    return MMDET_CONFIG_DIR / cfg_path[len('mmdet::'):]


def _model_zoo_weights(config: str) -> str:
    """The checkpoint URL that mmdet's metafile lists for ``config``
    (e.g. ``'retinanet/retinanet_r50_fpn_2x_coco.py'``)."""
    metafile = MMDET_CONFIG_DIR / config.split('/')[0] / 'metafile.yml'
    entries = yaml.safe_load(metafile.read_text())['Models']
    urls = [entry['Weights'] for entry in entries
            if entry.get('Config') == f'configs/{config}']
    assert len(urls) == 1, f'{config}: {len(urls)} model-zoo entries'
    return urls[0]


def test_every_paper_pair_has_exactly_one_config():
    assert sorted(p.name for p in PCKA_CONFIGS) == sorted(PAPER_PAIRS)


@pytest.mark.parametrize('config', PCKA_CONFIGS, ids=lambda p: p.stem)
def test_config_has_the_authors_settings(config: Path):
    expected = PAPER_PAIRS[config.name]
    cfg = _load(config)

    assert cfg.custom_imports == dict(
        imports=['mmrazor_relkd'], allow_failed_imports=False)
    assert cfg.model.type == 'FpnTeacherDistill'
    assert cfg.val_cfg.type == 'mmrazor.SingleTeacherDistillValLoop'
    distiller = cfg.model.distiller
    assert distiller.student_recorders.fpn == dict(
        type='ModuleOutputs', source='neck')
    assert distiller.teacher_recorders.fpn == dict(
        type='ModuleOutputs', source='neck')

    pcka_names = {f'loss_pcka_fpn{level}' for level in LEVELS}
    mimic_names = {f'loss_mimic_fpn{level}' for level in LEVELS}
    assert set(distiller.distill_losses) == (
        pcka_names | mimic_names if expected['mimic'] else pcka_names)
    assert set(distiller.loss_forward_mappings) == set(distiller.distill_losses)
    for level in LEVELS:
        name = f'loss_pcka_fpn{level}'
        assert distiller.distill_losses[name] == dict(
            type='PCKALoss',
            loss_weight=10.0,
            inter_weight=expected['inter_weight'],
            patch_size=16,
            reduce='channel')
        assert distiller.loss_forward_mappings[name] == dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx=level),
            preds_T=dict(from_student=False, recorder='fpn', data_idx=level))

    if expected['mimic']:
        assert set(distiller.connectors) == {
            f'fpn{level}_mimic_connector' for level in LEVELS}
        for level in LEVELS:
            connector = f'fpn{level}_mimic_connector'
            assert distiller.connectors[connector] == dict(
                type='ConvModuleConnector', in_channel=256, out_channel=256,
                kernel_size=1, norm_cfg=None, act_cfg=None)
            name = f'loss_mimic_fpn{level}'
            assert distiller.distill_losses[name] == dict(
                type='L2Loss', loss_weight=1.0, normalize=False,
                div_element=True)
            assert distiller.loss_forward_mappings[name] == dict(
                s_feature=dict(from_student=True, recorder='fpn',
                               data_idx=level, connector=connector),
                t_feature=dict(from_student=False, recorder='fpn',
                               data_idx=level))
    else:
        assert 'connectors' not in distiller

    # 2x schedule, 4 GPUs x 3 images, lr per App. B.
    assert cfg.train_cfg.max_epochs == 24
    warmup, steps = cfg.param_scheduler
    assert warmup.type == ('ConstantLR' if expected['fcos_recipe'] else 'LinearLR')
    assert (warmup.by_epoch, warmup.begin, warmup.end) == (False, 0, 500)
    assert steps.type == 'MultiStepLR'
    assert (steps.milestones, steps.gamma, steps.end) == ([16, 22], 0.1, 24)
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.auto_scale_lr.base_batch_size == 12
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.lr == expected['lr']
    resize = cfg.train_dataloader.dataset.pipeline[2]
    if expected['fcos_recipe']:
        assert warmup.factor == pytest.approx(1 / 3)
        assert resize == dict(type='RandomChoiceResize',
                              scales=[(1333, 640), (1333, 800)], keep_ratio=True)
        assert cfg.optim_wrapper.paramwise_cfg == dict(bias_lr_mult=2.0,
                                                       bias_decay_mult=0.0)
        assert cfg.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    else:
        assert warmup.start_factor == 0.001
        assert resize == dict(type='Resize', scale=(1333, 800), keep_ratio=True)
        assert 'paramwise_cfg' not in cfg.optim_wrapper


@pytest.mark.parametrize('config', PCKA_CONFIGS, ids=lambda p: p.stem)
def test_teacher_checkpoint_is_the_model_zoo_one_of_the_teacher_config(
        config: Path):
    cfg = _load(config)
    for role in ('architecture', 'teacher'):
        assert _mmdet_config_path(cfg.model[role].cfg_path).is_file(), role
        assert cfg.model[role].pretrained is False
    teacher = cfg.model.teacher.cfg_path[len('mmdet::'):]
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab.com/')
    assert cfg.model.teacher_ckpt == _model_zoo_weights(teacher)


def test_config_loads_from_another_workspace(tmp_path, monkeypatch):
    """A user config elsewhere inherits a PCKA config by path and overrides it."""
    base = PCKA_CONFIG_DIR / 'pcka_fpn_retina-x101_retina-r50_2x_coco.py'
    user_config = tmp_path / 'my_pcka_retina.py'
    user_config.write_text(
        f'_base_ = [{str(base)!r}]\n'
        "train_dataloader = dict(dataset=dict(data_root='my_data/coco/'))\n")
    monkeypatch.chdir(tmp_path)

    cfg = Config.fromfile(user_config)

    assert cfg.train_dataloader.dataset.data_root == 'my_data/coco/'
    assert cfg.model.distiller.distill_losses.loss_pcka_fpn3.loss_weight == 10.0
    assert cfg.custom_imports.imports == ['mmrazor_relkd']


# The smoke batch has 128 x 128 images, so every FPN level 0-3 (16 x 16 at most) is a
# single 16 x 16 patch and PCKA would be 0 whatever it compared. One-pixel patches
# keep several patches on every level, so a positive loss shows that the student's
# level is aligned with the teacher's (a student-student mapping would give 0).
ONE_PIXEL_PATCHES = {
    f'model.distiller.distill_losses.loss_pcka_fpn{level}.patch_size': 1
    for level in LEVELS
}


@pytest.mark.parametrize('config', PCKA_CONFIGS, ids=lambda p: p.stem)
def test_config_runs_one_train_step(config: Path):
    expected = PAPER_PAIRS[config.name]
    losses = run_one_train_step(str(config), ONE_PIXEL_PATCHES)

    for level in LEVELS:
        pcka = losses[f'distill.loss_pcka_fpn{level}']
        # 10 * (1 - intra) + inter_weight * (1 - inter), both alignments of
        # positive semi-definite Gram matrices lie in [0, 1].
        assert 0.0 < pcka <= 10.0 + expected['inter_weight']
        if expected['mimic']:
            assert losses[f'distill.loss_mimic_fpn{level}'] > 0.0
        else:
            assert f'distill.loss_mimic_fpn{level}' not in losses
    assert any(key.startswith('student.') for key in losses)
