"""CKAMonitorHook in a short real distillation run, and its errors."""
import glob
import itertools
import json
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.registry import HOOKS, MODEL_WRAPPERS, MODELS
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from mmrazor_relkd.engine.hooks.cka_monitor_hook import CKAMonitorHook

NUM_CLASSES = 4


class TinyImages(Dataset):
    """``size`` random 8 x 8 RGB images with labels, in mmpretrain's packed format."""

    def __init__(self, size: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (size, 3, 8, 8), generator=gen,
                                    dtype=torch.uint8)
        self.labels = torch.randint(0, NUM_CLASSES, (size,), generator=gen)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.images[idx],
                    data_samples=DataSample().set_gt_label(self.labels[idx]))


def classifier(base_channels: int) -> dict:
    """A two-stage ResNet_CIFAR classifier, a few thousand parameters."""
    return dict(
        _scope_='mmpretrain',  # nested types resolve there, whatever the default scope
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES),
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, num_stages=2,
                      strides=(1, 2), dilations=(1, 1), out_indices=(1,),
                      stem_channels=base_channels, base_channels=base_channels),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=2 * base_channels,
                  loss=dict(type='mmpretrain.CrossEntropyLoss')))


def teacher_checkpoint(work_dir: str) -> str:
    """A randomly initialised teacher, saved as the checkpoint the distillation loads."""
    path = osp.join(work_dir, 'teacher.pth')
    torch.save(dict(state_dict=MODELS.build(classifier(8)).state_dict()), path)
    return path


def distill_model(teacher_ckpt: str) -> dict:
    """Student and teacher of different widths; LCKA (plain CKA: no row_norm) on logits."""
    recorders = dict(fc=dict(type='ModuleOutputs', source='head.fc'),
                     gap=dict(type='ModuleOutputs', source='neck'))
    return dict(
        type='SingleTeacherDistill',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES, mean=[128.0] * 3, std=[64.0] * 3),
        architecture=classifier(4),
        teacher=classifier(8),
        teacher_ckpt=teacher_ckpt,
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=recorders, teacher_recorders=recorders,
            distill_losses=dict(loss_lcka=dict(type='LCKALoss', row_norm=False)),
            loss_forward_mappings=dict(loss_lcka=dict(
                preds_S=dict(recorder='fc', from_student=True),
                preds_T=dict(recorder='fc', from_student=False)))))


# mmengine names a runner built from dicts by its start second, and its logger and message
# hub are global instances by that name: two runners started in the same second (in any
# test order) would share them, and the second would log into the first one's file.
_RUN_NUMBERS = itertools.count()


def build_runner(work_dir: str, hook: dict, model=None, max_iters: int = 4) -> Runner:
    loader = dict(batch_size=4, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    return Runner(
        model=model if model is not None else distill_model(teacher_checkpoint(work_dir)),
        work_dir=work_dir,
        train_dataloader=dict(dataset=TinyImages(16, seed=0), **loader),
        val_dataloader=dict(dataset=TinyImages(8, seed=1), **loader),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=max_iters),
        val_cfg=dict(type='SingleTeacherDistillValLoop'),
        val_evaluator=dict(type='mmpretrain.Accuracy', topk=(1,)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=2,
                                       log_metric_by_epoch=False),
                           checkpoint=dict(type='CheckpointHook', interval=-1)),
        log_processor=dict(window_size=1, by_epoch=False),
        custom_hooks=[hook],
        visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')],
                        name=osp.basename(work_dir)),
        default_scope='mmrazor',
        experiment_name=f'test_cka_monitor_hook_{next(_RUN_NUMBERS)}',
        randomness=dict(seed=0))


def _scalars(work_dir: str) -> list:
    (path,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as file:
        return [json.loads(line) for line in file]


def _gram_cosine(x: torch.Tensor, y: torch.Tensor) -> float:
    """Uncentered CKA in float64: cosine similarity of the sample Gram matrices."""
    k_x, k_y = x.double() @ x.double().T, y.double() @ y.double().T
    return ((k_x * k_y).sum() / (k_x.norm() * k_y.norm())).item()


def _val_reference(runner: Runner) -> dict:
    """Mean float64 CKA over the val batches of the final models, computed directly."""
    algorithm = runner.model
    sums = {'logits': 0.0, 'pooled': 0.0}
    batches = 0
    with torch.no_grad():
        for data_batch in runner.val_dataloader:
            data = algorithm.data_preprocessor(data_batch, False)
            outputs = {}
            for name, model in (('student', algorithm.student),
                                ('teacher', algorithm.teacher)):
                pooled = model.neck(model.backbone(data['inputs']))[0]
                outputs[name] = (model.head.fc(pooled), pooled)
            for idx, key in enumerate(sums):
                sums[key] += _gram_cosine(outputs['teacher'][idx], outputs['student'][idx])
            batches += 1
    return {key: value / batches for key, value in sums.items()}


def test_logs_train_and_val_cka_to_the_scalars_and_text_log(tmp_path):
    hook = dict(type='CKAMonitorHook', interval=2,
                pairs=dict(logits=('fc', 'fc'),
                           pooled=(dict(recorder='gap', data_idx=0),
                                   dict(recorder='gap', record_idx=0, data_idx=0))))
    runner = build_runner(str(tmp_path), hook)
    runner.train()

    lines = _scalars(str(tmp_path))
    train = [line for line in lines if 'iter' in line]
    (val,) = [line for line in lines if 'iter' not in line]
    assert [line['iter'] for line in train] == [2, 4]
    for line in train:
        # the hook's CKA of the recorded logits is what LCKA (row_norm=False) optimises
        assert line['cka/logits'] == pytest.approx(1 - line['distill.loss_lcka'], abs=1e-6)
        assert 0.0 < line['cka/pooled'] <= 1.0
    expected = _val_reference(runner)
    assert val['step'] == 4
    assert val['cka/logits'] == pytest.approx(expected['logits'], abs=1e-5)
    assert val['cka/pooled'] == pytest.approx(expected['pooled'], abs=1e-5)
    assert 'accuracy/top1' in val and 'teacher.accuracy/top1' in val

    (log_file,) = glob.glob(osp.join(str(tmp_path), '*', '*.log'))
    with open(log_file) as file:
        log = file.read()
    assert 'cka/logits: ' in log and 'cka/pooled: ' in log


def test_unknown_recorder_fails_before_training(tmp_path):
    hook = dict(type='CKAMonitorHook', pairs=dict(logits=('fc', 'fc_teacher')))
    runner = build_runner(str(tmp_path), hook)
    with pytest.raises(ValueError, match=r"'fc_teacher' is not one of the distiller's "
                                         r"teacher_recorders \['fc', 'gap'\]"):
        runner.train()
    assert runner.iter == 0


@pytest.mark.parametrize('pair,error,match', [
    (('gap', 'gap'), TypeError, r"'gap' holds a tuple of 1 items.*data_idx=0"),
    ((dict(recorder='fc', record_idx=1), 'fc'), RuntimeError,
     r"'fc' holds 1 records after the training forward, but record_idx=1"),
])
def test_unusable_record_raises_at_the_first_logged_iteration(tmp_path, pair, error, match):
    hook = dict(type='CKAMonitorHook', interval=1, pairs=dict(bad=pair))
    runner = build_runner(str(tmp_path), hook, max_iters=1)
    with pytest.raises(error, match=match):
        runner.train()


def test_model_without_recorders_fails_before_training(tmp_path):
    model = classifier(4)
    hook = dict(type='CKAMonitorHook', pairs=dict(logits=('fc', 'fc')))
    runner = build_runner(str(tmp_path), hook, model=model)
    with pytest.raises(TypeError, match='SingleTeacherDistill.*ImageClassifier'):
        runner.call_hook('before_train')


@MODEL_WRAPPERS.register_module(force=True)
class _FakeWrapper(nn.Module):
    """Stands in for MMDistributedDataParallel: the algorithm is ``.module``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module


def test_unwraps_model_wrappers():
    algorithm = nn.Module()
    algorithm.distiller = SimpleNamespace(student_recorders=None, teacher_recorders=None)
    runner = SimpleNamespace(model=_FakeWrapper(algorithm))
    assert CKAMonitorHook._algorithm(runner) is algorithm


def test_registered_in_mmengine_hooks():
    hook = HOOKS.build(dict(type='CKAMonitorHook', pairs=dict(logits=('fc_s', 'fc_t'))))
    assert isinstance(hook, CKAMonitorHook)
    assert hook.pairs['logits'][0].recorder == 'fc_s'
    assert hook.pairs['logits'][1] == ('fc_t', 0, None)


@pytest.mark.parametrize('pairs,match', [
    ({}, 'needs pairs=dict'),
    (dict(logits='fc'), r"pair 'logits' must be \(student_spec, teacher_spec\)"),
    (dict(logits=('fc', 'fc', 'fc')), r"pair 'logits' must be"),
    (dict(logits=('fc', dict(source='head.fc'))), 'the teacher entry must be'),
])
def test_bad_pairs_raise(pairs, match):
    with pytest.raises(ValueError, match=match):
        CKAMonitorHook(pairs=pairs)


def _reference_cka(x: torch.Tensor, y: torch.Tensor, centered: bool,
                   row_norm: bool) -> float:
    """CKA in float64 from its definition: (centred) Gram matrices, row ``i`` divided
    by ``sqrt(K_ii)`` for ``row_norm``, then their cosine similarity."""
    grams = []
    for z in (x, y):
        z = z.double().reshape(z.shape[0], -1)
        if centered:
            z = z - z.mean(dim=0)
        gram = z @ z.T
        if row_norm:
            gram = gram / gram.diagonal().sqrt()[:, None]
        grams.append(gram)
    return ((grams[0] * grams[1]).sum() / (grams[0].norm() * grams[1].norm())).item()


def _toy_distill(tmp_path):
    """A ToyClassifier pair; the teacher comes from a checkpoint."""
    from mmrazor.registry import MODELS
    from toy_classifier import ToyClassifier
    torch.manual_seed(1)
    teacher_ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=ToyClassifier(feat_dim=7, hidden=16).state_dict()),
               teacher_ckpt)
    torch.manual_seed(0)
    recorders = dict(feat=dict(type='ModuleOutputs', source='neck'))
    return MODELS.build(dict(
        type='SingleTeacherDistill',
        architecture=ToyClassifier(feat_dim=4, hidden=16),
        teacher=ToyClassifier(feat_dim=7, hidden=16),
        teacher_ckpt=teacher_ckpt,
        distiller=dict(type='ConfigurableDistiller', student_recorders=recorders,
                       teacher_recorders=recorders)))


@pytest.mark.parametrize('centered', [False, True])
@pytest.mark.parametrize('row_norm', [False, True])
def test_centered_and_row_norm_change_the_logged_value(tmp_path, centered, row_norm):
    """The logged training CKA is the reference CKA with exactly these options; each
    option changes the value on this batch (so an ignored option fails)."""
    from mmengine.logging import MessageHub
    algorithm = _toy_distill(tmp_path)
    gen = torch.Generator().manual_seed(2)
    inputs = torch.randn(9, 6, generator=gen) + 0.5  # off-centre: centring matters
    algorithm.loss(inputs, torch.randint(0, 3, (9, ), generator=gen))
    hook = CKAMonitorHook(pairs=dict(feat=('feat', 'feat')), interval=1,
                          centered=centered, row_norm=row_norm)
    runner = SimpleNamespace(model=algorithm, iter=0, message_hub=MessageHub.get_instance(
        f'cka_options_{centered}_{row_norm}'))
    hook.after_train_iter(runner, 0)
    logged = runner.message_hub.get_scalar('train/cka/feat').current()

    with torch.no_grad():
        x_s, x_t = (model.extract_feat(inputs)[-1]
                    for model in (algorithm.student, algorithm.teacher))
    assert logged == pytest.approx(_reference_cka(x_t, x_s, centered, row_norm), abs=1e-6)
    others = [_reference_cka(x_t, x_s, c, r) for c in (False, True) for r in (False, True)
              if (c, r) != (centered, row_norm)]
    assert min(abs(logged - other) for other in others) > 1e-3
