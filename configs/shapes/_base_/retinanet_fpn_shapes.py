# RetinaNet for the embedded "shapes" dataset (128 x 128 images, 4 classes), sized to
# train from scratch on a laptop CPU in minutes: FPN and head are 64 channels wide with
# two stacked convs, anchors start at 24 px. Defines the demo's two detectors as
# variables, `teacher_model` (ResNet-34) and `student_model` (ResNet-18 at half width,
# same 64-channel FPN so PCKA needs no connector), so that the teacher, student and
# distillation configs all take their models from this one file.
_base_ = [
    '../../_base_/datasets/shapes_detection.py',
    'mmdet::_base_/default_runtime.py',
]
teacher_model = dict(
    _scope_='mmdet',  # also when built inside an mmrazor distillation model
    type='RetinaNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=34,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=dict(
        type='FPN',
        in_channels=[64, 128, 256, 512],
        out_channels=64,
        start_level=1,
        add_extra_convs='on_input',
        num_outs=5),
    bbox_head=dict(
        type='RetinaHead',
        num_classes=_base_.num_classes,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=3,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
            ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    # score_thr 0 (mmdet's default is 0.05, for speed): the 100 best boxes per image
    # are kept even early in training, so validation always has detections to score.
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))

student_model = dict(
    teacher_model,
    backbone=dict(teacher_model['backbone'], depth=18, base_channels=32),
    neck=dict(teacher_model['neck'], in_channels=[32, 64, 128, 256]))

# one pass over the 3072 training images (384 iterations of 8): quick (the demo trains
# it on the first half of the images, tools/run_demo.py), but the student is still
# climbing fast after it. The benchmark suite
# (configs/benchmarks/shapes_detection.py) trains the same configs 4 epochs (the
# teacher 8), where the student's std over seeds is below 0.01 mAP.
max_epochs = 1
train_cfg = dict(
    type='ExactResumeEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs,
         eta_min=1e-5, convert_to_iter_based=True),
]
# check_invalid_grad: stop with an error, before the weights change, when a step is
# about to apply a NaN or inf gradient (with clip_grad an inf norm would otherwise
# scale every gradient to 0 and a NaN turn every weight NaN, without a word; it reads
# the norm clip_grad logs), and refuse the bfloat16 convolutions whose gradients
# oneDNN gets wrong on AVX-512 CPUs (a stride-2 convolution on a map 1 pixel wide)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1),
    visualization=dict(type='DetVisualizationHook', draw=False),
    check_invalid_grad=dict(type='CheckInvalidGradHook'))
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=8)
