# The embedded synthetic "shapes" dataset for mmdet (COCO format, 128 x 128 images).
# Generate it with `python tools/generate_shapes_dataset.py --out data/shapes`.
dataset_type = 'mmdet.CocoDataset'
# Anchored at this file, so the config works from any working directory. To read
# other data, set `data_root` alone (in a derived config or with `--cfg-options
# data_root=DIR`): DataRootRunner rebases every loader and evaluator path under
# `default_data_root` onto it.
data_root = '{{ fileDirname }}/../../../data/shapes/'
default_data_root = data_root
runner_type = 'DataRootRunner'
custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)
metainfo = dict(classes=('ellipse', 'rectangle', 'triangle', 'cross'))
num_classes = len(metainfo['classes'])
image_scale = (128, 128)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    # `instances`: the ground truth CocoMetric scores against (see val_evaluator)
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                    'instances')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img=''),
        # the first 1024 of the 2048 validation images (all of them feed the
        # classification crops): about 2000 objects, 8x what the 128 images scored
        # before held, at half the evaluation time of all 2048
        indices=1024,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# No `ann_file`: CocoMetric scores the images evaluated against their own annotations
# (packed as `instances`). With the json it would count the 1024 images left out as
# missed objects.
val_evaluator = dict(type='mmdet.CocoMetric', metric='bbox', format_only=False)
test_evaluator = val_evaluator
