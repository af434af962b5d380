import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from mmrazor_relkd.datasets import CLASSES, generate_shapes_dataset
from mmrazor_relkd.datasets.synthetic_shapes import crop_box


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob('*') if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=12,
                                   num_val=6, image_size=64, seed=3)


def test_deterministic(dataset, tmp_path):
    again = generate_shapes_dataset(str(tmp_path / 'again'), num_train=12, num_val=6,
                                    image_size=64, seed=3)
    other = generate_shapes_dataset(str(tmp_path / 'other'), num_train=12, num_val=6,
                                    image_size=64, seed=4)
    assert _digest(dataset) == _digest(again)
    assert _digest(dataset) != _digest(other)


@pytest.mark.parametrize('split,count', [('train', 12), ('val', 6)])
def test_coco_annotations_load_and_match_images(dataset, split, count):
    coco = COCO(str(dataset / 'annotations' / f'instances_{split}.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    assert len(coco.getImgIds()) == count
    for img_info in coco.loadImgs(coco.getImgIds()):
        image = Image.open(dataset / img_info['file_name'])
        assert image.size == (img_info['width'], img_info['height']) == (64, 64)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_info['id']))
        assert 1 <= len(anns) <= 3
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and x + w <= 64 and y + h <= 64 and w > 0 and h > 0
            assert ann['area'] == pytest.approx(w * h)
            assert ann['category_id'] in coco.getCatIds()


def test_shapes_are_drawn_inside_their_boxes(dataset):
    """Every shape (all four are convex or cross-shaped around their box centre) covers
    the centre of its box with one flat colour, unlike the noisy background."""
    coco = COCO(str(dataset / 'annotations' / 'instances_train.json'))
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = np.asarray(Image.open(dataset / coco.loadImgs(ann['image_id'])[0]['file_name']))
        x, y, w, h = (int(round(v)) for v in ann['bbox'])
        centre = img[y + h // 2, x + w // 2].astype(int)
        patch = img[y + h // 2 - 1:y + h // 2 + 2, x + w // 2 - 1:x + w // 2 + 2]
        assert np.abs(patch.astype(int) - centre).max() == 0, ann


@pytest.mark.parametrize('split', ['train', 'val'])
def test_classification_crops_are_the_annotated_shapes(dataset, split):
    """One square crop per annotation, labelled with its class, containing its box."""
    coco = COCO(str(dataset / 'annotations' / f'instances_{split}.json'))
    lines = (dataset / 'annotations' / f'cls_{split}.txt').read_text().splitlines()
    assert len(lines) == len(coco.getAnnIds())
    by_file = {img['file_name']: img['id'] for img in coco.loadImgs(coco.getImgIds())}
    for line in lines:
        crop_name, label = line.split()
        index, k = Path(crop_name).stem.split('_')
        anns = coco.loadAnns(coco.getAnnIds(imgIds=by_file[f'images/{split}/{index}.png']))
        ann = anns[int(k)]
        assert int(label) == ann['category_id'] - 1
        width, height = Image.open(dataset / crop_name).size
        assert width == height >= min(64, max(ann['bbox'][2:]))


def test_crop_box_is_a_square_inside_the_image_around_the_box():
    rng = np.random.default_rng(0)
    boxes = [(10.0, 20.0, 30.0, 28.0), (0.0, 0.0, 12.0, 40.0), (40.0, 50.0, 64.0, 64.0),
             (2.0, 1.0, 62.0, 63.0)]
    for box in boxes:
        for _ in range(20):
            left, top, right, bottom = crop_box(rng, box, 64)
            side = right - left
            assert bottom - top == side
            assert 0 <= left and 0 <= top and right <= 64 and bottom <= 64
            longer = max(box[2] - box[0], box[3] - box[1])
            assert min(64, round(1.2 * longer)) <= side <= min(64, round(1.8 * longer))
            assert left <= box[0] and top <= box[1] and box[2] <= right and box[3] <= bottom


def test_readable_by_mmdet_and_mmpretrain(dataset):
    from mmdet.datasets import CocoDataset
    from mmpretrain.datasets import CustomDataset
    det = CocoDataset(data_root=str(dataset), ann_file='annotations/instances_val.json',
                      data_prefix=dict(img=''), metainfo=dict(classes=CLASSES),
                      pipeline=[], test_mode=True)
    assert len(det) == 6
    assert det[0]['img_path'].startswith(str(dataset))
    cls = CustomDataset(data_root=str(dataset), ann_file='annotations/cls_val.txt',
                        data_prefix='', classes=CLASSES, pipeline=[], test_mode=True)
    labels = [int(line.split()[1]) for line in
              (dataset / 'annotations' / 'cls_val.txt').read_text().splitlines()]
    assert len(cls) == len(labels) >= 6
    assert [cls[i]['gt_label'] for i in range(len(cls))] == labels
    assert json.loads((dataset / 'annotations' / 'instances_val.json').read_text())
