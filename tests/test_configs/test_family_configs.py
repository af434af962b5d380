"""The FKD and mAKD configs (configs/fkd/, configs/makd/): every config builds and runs
one training step on a tiny synthetic batch; the settings are the seeds'."""
from functools import lru_cache
from pathlib import Path

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims, before mmrazor / mmpretrain)
import mmpretrain
from mmengine.config import Config

from config_smoke import run_one_train_step

ROOT = Path(__file__).resolve().parents[2]
FKD_CONFIGS = sorted((ROOT / 'configs' / 'fkd').glob('*.py'))
MAKD_CONFIGS = sorted((ROOT / 'configs' / 'makd').glob('*.py'))
TEACHER_CONFIGS = sorted((ROOT / 'configs' / 'fkd' / 'teachers').glob('*.py'))
ALL_CONFIGS = FKD_CONFIGS + MAKD_CONFIGS + TEACHER_CONFIGS
MMPRETRAIN_CONFIGS = Path(mmpretrain.__file__).parent / '.mim' / 'configs'
# the CRD / mAKD CIFAR-100 pairs the plugin's CIFAR backbones cover (Li & Maki, Tab. 1)
PAIRS = ['resnet110_resnet20', 'resnet110_resnet32', 'resnet32x4_resnet8x4',
         'resnet32x4_shufflenet-v1', 'vgg13_vgg8', 'vgg13_mobilenet-v2-half',
         'wrn-40-2_wrn-16-2', 'wrn-40-2_wrn-40-1', 'wrn-40-2_shufflenet-v1']


def _name(path: Path) -> str:
    return path.name


@lru_cache(maxsize=None)
def _config(path: Path) -> Config:
    """The parsed config (read-only use)."""
    return Config.fromfile(str(path))


pytestmark = pytest.mark.usefixtures('single_thread')


def _without_ensemble_checkpoints(cfg: Config) -> dict:
    """cfg_options that leave out a TeacherEnsemble's checkpoints (no download)."""
    teacher = cfg.model.get('teacher', {})
    if teacher.get('type') != 'TeacherEnsemble':
        return {}
    return {'model.teacher.checkpoints': [None] * len(teacher['teachers'])}


def test_every_pair_has_both_methods():
    assert len(FKD_CONFIGS) == len(PAIRS) + 3 and len(MAKD_CONFIGS) == len(PAIRS)
    for pair in PAIRS:
        assert (ROOT / 'configs' / 'fkd' / f'fkd-gnorp_{pair}_1xb64_cifar100.py').is_file()
        assert (ROOT / 'configs' / 'makd' / f'makd-gnorp_{pair}_1xb64_cifar100.py').is_file()


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=_name)
def test_config_runs_one_train_step(path):
    cfg = _config(path)
    losses = run_one_train_step(str(path), _without_ensemble_checkpoints(cfg))
    if path in TEACHER_CONFIGS:
        assert set(losses) == {'loss'}
        return
    kd_key = 'distill.loss_fkd' if path in FKD_CONFIGS else 'distill.loss_makd'
    assert kd_key in losses and 'student.loss' in losses
    # GNoRP starts from the lambda that solves Eq. 15 on the first batch
    assert losses['gnorp.lambda'] > 0
    assert losses['gnorp.ratio'] == pytest.approx(cfg.model.gnorp.ratio, rel=1e-3)


@pytest.mark.parametrize('path', MAKD_CONFIGS, ids=_name)
def test_makd_configs_follow_the_paper(path):
    """(CS, L2, SL1) on the penultimate features, GNoRP r = 3.5, batch 64, SGD lr 0.05
    (0.01 for ShuffleNet / MobileNet students), 240 epochs, steps at 150/180/210."""
    cfg = _config(path)
    model = cfg.model
    assert model.type == 'GNoRPDistill' and model.gnorp.ratio == 3.5
    loss = model.distiller.distill_losses.loss_makd
    assert (loss.type, loss.affinity, loss.normalize, loss.loss) == \
        ('AffinityLoss', 'cs', 'l2', 'sl1')
    assert model.distiller.student_recorders.feat.source == 'neck'
    assert model.gnorp.feature.recorder == 'feat'
    small_lr = 'shufflenet' in path.name or 'mobilenet' in path.name
    assert cfg.optim_wrapper.optimizer.lr == (0.01 if small_lr else 0.05)
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.train_cfg.max_epochs == 240
    assert cfg.param_scheduler.milestones == [150, 180, 210]


@pytest.mark.parametrize('path', [p for p in ALL_CONFIGS if p.name.endswith('cifar100.py')],
                         ids=_name)
def test_cifar100_configs_keep_crds_training_and_scale_the_lr_on_request(path):
    """CRD's CIFAR-100 training (the seeds' recipes), not the RCKA release's: plain
    SGD, lr / 10 at 150 / 180 / 210, random crop + flip, teacher BN frozen; the lr's
    base batch is recorded for --auto-scale-lr, which is off."""
    cfg = _config(path)
    assert 'nesterov' not in cfg.optim_wrapper.optimizer
    assert cfg.param_scheduler.type == 'MultiStepLR'
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'RandomCrop', 'RandomFlip', 'PackInputs']
    batch = cfg.train_dataloader.batch_size
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=batch)
    assert cfg.model.get('teacher_norm_eval', True) is True


@pytest.mark.parametrize('path', [p for p in FKD_CONFIGS + MAKD_CONFIGS
                                  if p.name.endswith('cifar100.py')], ids=_name)
def test_cifar100_teacher_checkpoints_come_from_shipped_teacher_configs(path):
    """Every teacher checkpoint is what a teacher config of the repo writes."""
    model = _config(path).model
    if model.teacher.get('type') == 'TeacherEnsemble':
        checkpoints = model.teacher.checkpoints
        teacher_config = ROOT / 'configs' / 'fkd' / 'teachers' / 'vgg8_1xb128_cifar100.py'
        assert teacher_config.is_file()
        assert checkpoints == [f'work_dirs/vgg8_1xb128_cifar100_seed{seed}/epoch_240.pth'
                               for seed in range(3)]
        return
    work_dir = Path(model.teacher_ckpt).parent.name
    assert (ROOT / 'configs' / 'rcka' / 'cifar100' / 'teachers' / f'{work_dir}.py').is_file()


def test_ensemble_config_averages_three_teacher_kernels():
    cfg = _config(ROOT / 'configs' / 'fkd' /
                  'fkd-gnorp_ensemble-3x-vgg8_vgg8_1xb64_cifar100.py')
    teacher = cfg.model.teacher
    assert teacher.type == 'TeacherEnsemble' and len(teacher.teachers) == 3
    assert all(t.backbone.type == 'VGGCIFAR' and t.backbone.depth == 8
               for t in teacher.teachers)
    assert cfg.model.distiller.teacher_recorders.feat.source == ''
    assert cfg.model.distiller.loss_forward_mappings.loss_fkd.preds_T == dict(
        from_student=False, recorder='feat')
    assert cfg.val_cfg.type == 'ValLoop'


@pytest.mark.parametrize('path', [p for p in FKD_CONFIGS if p.name.endswith('shapes.py')],
                         ids=_name)
def test_shapes_configs_distil_across_label_spaces(path):
    """CIFAR-10 teachers (10 classes, from mmpretrain configs that exist) -> a student
    on the shapes classes: logits cannot be compared (plain KD is impossible), feature
    kernels can."""
    cfg = _config(path)
    for teacher in cfg.model.teacher.teachers:
        package, relative = teacher.cfg_path.split('::')
        assert package == 'mmpretrain'
        teacher_cfg = Config.fromfile(str(MMPRETRAIN_CONFIGS / relative))
        assert teacher_cfg.model.head.num_classes == 10
    assert all(ckpt.startswith('https://download.openmmlab.com/')
               for ckpt in cfg.model.teacher.checkpoints)
    assert cfg.model.architecture.head.num_classes == len(cfg.classes) != 10
    assert cfg.model.gnorp.ratio == 1.0
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/cls_train.txt'
    assert cfg.val_cfg == dict()
