"""KDALandmarkHook in short real mmengine runs of an mmrazor distillation: landmark
updates equal the class means of the epoch, diagnostics, resume, errors."""
import os.path as osp
from typing import Dict, List, Optional

import pytest
import torch
from torch.utils.data import Dataset

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from mmrazor_relkd.engine.hooks.kda_landmark_hook import KDALandmarkHook
from mmrazor_relkd.models.losses.kda_loss import KDALoss

NUM_CLASSES = 3
STUDENT_WIDTH, TEACHER_WIDTH = 4, 8  # pooled features: 2 * width channels


class TinyImages(Dataset):
    """12 random 8 x 8 RGB images with labels, in mmpretrain's packed format."""

    def __init__(self, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (12, 3, 8, 8), generator=gen, dtype=torch.uint8)
        self.labels = torch.randint(0, NUM_CLASSES, (12, ), generator=gen)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.images[idx],
                    data_samples=DataSample().set_gt_label(self.labels[idx]))


def classifier(width: int) -> dict:
    """A two-stage ResNet_CIFAR classifier, a few thousand parameters."""
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(1, ), stem_channels=width,
                      base_channels=width),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=2 * width,
                  loss=dict(type='CrossEntropyLoss')))


def distill_model(loss_type: str = 'KDALoss') -> dict:
    """KDA before the FC layer, labels recorded at the student's loss module."""
    recorders = dict(fc_inputs=dict(type='ModuleInputs', source='head.fc'))
    return dict(
        type='SingleTeacherDistill',
        allow_random_teacher=True,
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES, mean=[128.0] * 3, std=[64.0] * 3),
        architecture=classifier(STUDENT_WIDTH),
        teacher=classifier(TEACHER_WIDTH),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(
                recorders, targets=dict(type='ModuleInputs', source='head.loss_module')),
            teacher_recorders=recorders,
            distill_losses=dict(loss_kda=dict(
                type=loss_type, num_classes=NUM_CLASSES,
                student_channels=2 * STUDENT_WIDTH, teacher_channels=2 * TEACHER_WIDTH,
                loss_weight=1.0, warmup_epochs=1)),
            loss_forward_mappings=dict(loss_kda=dict(
                preds_S=dict(from_student=True, recorder='fc_inputs', data_idx=0),
                preds_T=dict(from_student=False, recorder='fc_inputs', data_idx=0),
                gt_labels=dict(from_student=True, recorder='targets', data_idx=1)))))


class RecordTraining(Hook):
    """Records the KDA loss of every iteration and the recorded features and labels."""

    def __init__(self) -> None:
        self.losses: List[float] = []
        self.epoch_records: Dict[int, list] = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses.append(float(outputs['distill.loss_kda']))
        distiller = runner.model.distiller
        feats_s = distiller.get_record('fc_inputs', True, data_idx=0).detach().double()
        feats_t = distiller.get_record('fc_inputs', False, data_idx=0).detach().double()
        labels = distiller.get_record('targets', True, data_idx=1)
        self.epoch_records.setdefault(runner.epoch, []).append((feats_s, feats_t, labels))


def build_runner(work_dir: str, max_epochs: int = 2, hook: Optional[dict] = None,
                 model: Optional[dict] = None, recorder: Optional[Hook] = None,
                 resume_from: Optional[str] = None, by_epoch: bool = True,
                 with_val: bool = True) -> Runner:
    loader = dict(batch_size=4, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=100)
    else:
        train_cfg = dict(by_epoch=False, max_iters=3, val_interval=100)
    return Runner(
        model=model if model is not None else distill_model(),
        work_dir=work_dir,
        experiment_name=osp.basename(work_dir),
        train_dataloader=dict(dataset=TinyImages(0), **loader),
        val_dataloader=dict(dataset=TinyImages(1), **loader) if with_val else None,
        train_cfg=train_cfg,
        val_cfg=dict(type='SingleTeacherDistillValLoop') if with_val else None,
        val_evaluator=dict(type='mmpretrain.Accuracy', topk=(1, )) if with_val else None,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        custom_hooks=[hook or dict(type='KDALandmarkHook')] + ([recorder] if recorder else []),
        load_from=resume_from,
        resume=resume_from is not None,
        default_scope='mmrazor',
        randomness=dict(seed=0))


def _kda(runner: Runner) -> KDALoss:
    return runner.model.distiller.distill_losses['loss_kda']


def test_landmarks_are_the_class_means_of_each_epoch_and_diagnostics_are_logged(tmp_path):
    recorder = RecordTraining()
    runner = build_runner(str(tmp_path / 'run'), recorder=recorder)
    runner.train()
    kda = _kda(runner)
    assert int(kda.num_updates) == 2
    assert recorder.losses[:3] == [0.0, 0.0, 0.0]  # warm-up epoch
    assert all(value > 0 for value in recorder.losses[3:])

    # the last epoch's means, from the features the student produced at each step
    feats_s, feats_t, labels = (torch.cat(part) for part in zip(*recorder.epoch_records[1]))
    for c in range(NUM_CLASSES):
        rows = [i for i in range(len(labels)) if int(labels[i]) == c]
        torch.testing.assert_close(kda.landmarks_student[c].double(),
                                   sum(feats_s[i] for i in rows) / len(rows),
                                   rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(kda.landmarks_teacher[c].double(),
                                   sum(feats_t[i] for i in rows) / len(rows),
                                   rtol=1e-6, atol=1e-6)

    hub = runner.message_hub
    for side, landmarks in (('S', kda.landmarks_student), ('T', kda.landmarks_teacher)):
        expected = torch.linalg.eigvalsh(landmarks.double() @ landmarks.double().T)[0]
        assert hub.get_scalar(f'train/kda/loss_kda/min_eig_W_{side}').current() == \
            pytest.approx(expected.item(), rel=1e-5, abs=1e-8)

    # transfer errors on the first val batch, final models in eval mode
    algorithm = runner.model
    algorithm.eval()
    with torch.no_grad():
        data = algorithm.data_preprocessor(next(iter(runner.val_dataloader)), False)
        pooled = {name: model.neck(model.backbone(data['inputs']))[0].double()
                  for name, model in (('S', algorithm.student), ('T', algorithm.teacher))}
    gram_s, gram_t = pooled['S'] @ pooled['S'].T, pooled['T'] @ pooled['T'].T
    expected = ((gram_s - gram_t).norm() / gram_t.norm()).item()
    assert hub.get_scalar('train/kda/loss_kda/transfer_error').current() == \
        pytest.approx(expected, rel=1e-4)
    partial = pooled['S'] @ kda.landmarks_student.double().T - \
        pooled['T'] @ kda.landmarks_teacher.double().T
    assert hub.get_scalar('train/kda/loss_kda/landmark_transfer_error').current() == \
        pytest.approx((partial.norm() / gram_t.norm()).item(), rel=1e-4)


def test_resume_continues_with_the_same_landmarks_and_losses(tmp_path):
    full = RecordTraining()
    uninterrupted = build_runner(str(tmp_path / 'full'), recorder=full,
                                 hook=dict(type='KDALandmarkHook', diagnostic_batch=None))
    uninterrupted.train()
    checkpoint = str(tmp_path / 'full' / 'epoch_1.pth')
    saved = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
    assert int(saved['distiller.distill_losses.loss_kda.num_updates']) == 1
    assert saved['distiller.distill_losses.loss_kda.landmarks_student'].abs().sum() > 0

    second = RecordTraining()
    resumed = build_runner(str(tmp_path / 'resumed'), recorder=second, resume_from=checkpoint,
                           hook=dict(type='KDALandmarkHook', diagnostic_batch=None))
    resumed.train()
    assert len(second.losses) == 3  # only the second epoch ran
    assert second.losses == pytest.approx(full.losses[3:], rel=1e-6)
    for name in ('landmarks_student', 'landmarks_teacher', 'num_updates'):
        torch.testing.assert_close(getattr(_kda(resumed), name),
                                   getattr(_kda(uninterrupted), name))


def test_diagnostics_on_the_first_training_batch(tmp_path):
    hook = dict(type='KDALandmarkHook', diagnostic_batch='train')
    runner = build_runner(str(tmp_path / 'train_batch'), max_epochs=1, hook=hook,
                          with_val=False)
    runner.train()
    algorithm = runner.model
    algorithm.eval()
    with torch.no_grad():  # the first batch of the unshuffled training data
        data = algorithm.data_preprocessor(next(iter(runner.train_dataloader)), False)
        pooled = {name: model.neck(model.backbone(data['inputs']))[0].double()
                  for name, model in (('S', algorithm.student), ('T', algorithm.teacher))}
    gram_s, gram_t = pooled['S'] @ pooled['S'].T, pooled['T'] @ pooled['T'].T
    assert runner.message_hub.get_scalar('train/kda/loss_kda/transfer_error').current() == \
        pytest.approx(((gram_s - gram_t).norm() / gram_t.norm()).item(), rel=1e-4)


def test_val_diagnostics_without_val_loader_are_refused(tmp_path):
    runner = build_runner(str(tmp_path / 'no_val'), with_val=False)
    with pytest.raises(ValueError, match="diagnostic_batch='val' needs a val_dataloader"):
        runner.train()


def test_diagnostics_need_a_distiller(tmp_path):
    class PlainModel(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)
            self.kda = KDALoss(num_classes=NUM_CLASSES, student_channels=2,
                               teacher_channels=2)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return dict(loss=inputs[0].float().sum() * 0)

    runner = build_runner(str(tmp_path / 'plain'), model=PlainModel(), with_val=False,
                          hook=dict(type='KDALandmarkHook', diagnostic_batch='train'))
    with pytest.raises(TypeError, match='ConfigurableDistiller.*diagnostic_batch=None'):
        runner.train()


def test_iteration_based_training_is_refused(tmp_path):
    runner = build_runner(str(tmp_path / 'iters'), by_epoch=False)
    with pytest.raises(TypeError, match='end of each training epoch.*by_epoch=True'):
        runner.train()


def test_model_without_kda_loss_is_refused(tmp_path):
    model = distill_model()
    model['distiller'].update(distill_losses=dict(), loss_forward_mappings=dict())
    runner = build_runner(str(tmp_path / 'no_kda'), model=model)
    with pytest.raises(ValueError, match='found no KDALoss'):
        runner.train()


def test_unknown_diagnostic_batch_is_refused():
    with pytest.raises(ValueError, match="diagnostic_batch must be one of"):
        KDALandmarkHook(diagnostic_batch='test')
