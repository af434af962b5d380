# RCKA, ResNet-34 -> ResNet-18, on your own image-folder dataset (docs/own_data.md):
# one sub-folder per class, data/my_images/train/<class>/*.jpg and the same under val/.
# Edit the lines marked EDIT. Relative paths are relative to the directory you run
# tools/train.py from; absolute paths work from anywhere.
_base_ = ['../rcka/imagenet/rcka_resnet34_resnet18_8xb32_in1k.py']

data_root = 'data/my_images/'  # EDIT
# EDIT: the sub-folder names, sorted: label k is the k-th folder in alphabetical order
classes = ('cross', 'ellipse', 'rectangle', 'triangle')
num_classes = len(classes)

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    architecture=dict(head=dict(num_classes=num_classes)),
    teacher=dict(head=dict(num_classes=num_classes)),
    # EDIT: a ResNet-34 trained on your classes (docs/own_data.md)
    teacher_ckpt='work_dirs/my_teacher/epoch_100.pth')


def _image_folder(split: str, pipeline: list) -> dict:
    return dict(_delete_=True, type='mmpretrain.CustomDataset', data_root=data_root,
                data_prefix=split, classes=classes, pipeline=pipeline)


train_dataloader = dict(dataset=_image_folder('train', _base_.train_pipeline))
val_dataloader = dict(dataset=_image_folder('val', _base_.test_pipeline))
test_dataloader = val_dataloader  # EDIT: your test split, if you have one
# top-5 accuracy only means something with more than 5 classes
val_evaluator = dict(topk=(1, 5) if num_classes > 5 else (1, ))
test_evaluator = val_evaluator
