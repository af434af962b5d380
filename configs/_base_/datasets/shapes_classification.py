# The embedded synthetic "shapes" dataset for mmpretrain: a square crop around each
# shape of the detection images (neighbouring shapes and background show at the
# borders), labelled with the shape's class. Generate it with
# `python tools/generate_shapes_dataset.py --out data/shapes`.
dataset_type = 'mmpretrain.CustomDataset'
# Anchored at this file, so the config works from any working directory. To read
# other data, set `data_root` alone (in a derived config or with `--cfg-options
# data_root=DIR`): DataRootRunner rebases every loader and evaluator path under
# `default_data_root` onto it.
data_root = '{{ fileDirname }}/../../../data/shapes/'
default_data_root = data_root
runner_type = 'DataRootRunner'
custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)
classes = ('ellipse', 'rectangle', 'triangle', 'cross')
num_classes = len(classes)

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5, 127.5, 127.5],
    std=[64.0, 64.0, 64.0],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=64),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=64),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cls_train.txt',
        data_prefix='',
        classes=classes,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/cls_val.txt',
        data_prefix='',
        classes=classes,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator
