# PCKA, RetinaNet R101 -> R50, on your own COCO-format dataset (docs/own_data.md).
# Edit the lines marked EDIT. Relative paths are relative to the directory you run
# tools/train.py from; absolute paths work from anywhere.
_base_ = ['../pcka/pcka_fpn_retina-r101_retina-r50_2x_coco.py']

data_root = 'data/my_coco/'  # EDIT: holds annotations/ and images/
# EDIT: category names in the order of the json's `categories` (others are left out)
classes = ('ellipse', 'rectangle', 'triangle', 'cross')
num_classes = len(classes)
metainfo = dict(classes=classes)

model = dict(
    architecture=dict(bbox_head=dict(num_classes=num_classes)),
    teacher=dict(bbox_head=dict(num_classes=num_classes)),
    # EDIT: a RetinaNet R101 trained on your classes (docs/own_data.md)
    teacher_ckpt='work_dirs/my_teacher/epoch_24.pth')

train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo,
    ann_file='annotations/instances_train.json', data_prefix=dict(img='images/train/')))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo,
    ann_file='annotations/instances_val.json', data_prefix=dict(img='images/val/')))
test_dataloader = val_dataloader  # EDIT: your test split, if you have one
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
