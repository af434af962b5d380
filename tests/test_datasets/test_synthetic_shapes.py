import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as MplPath
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


# Each class as the union of polygons in [-1, 1]^2 (y down), stretched to its box.
TEMPLATES = {
    'ellipse': [np.stack([np.cos(t), np.sin(t)], axis=1)
                for t in [np.linspace(0, 2 * np.pi, 96, endpoint=False)]],
    'rectangle': [np.array([[-1., -1.], [1., -1.], [1., 1.], [-1., 1.]])],
    'triangle': [np.array([[0., -1.], [1., 1.], [-1., 1.]])],  # apex at the top
    'cross': [np.array([[-1 / 3, -1.], [1 / 3, -1.], [1 / 3, 1.], [-1 / 3, 1.]]),
              np.array([[-1., -1 / 3], [1., -1 / 3], [1., 1 / 3], [-1., 1 / 3]])],
}
# the fraction of its box each class covers (the cross: two bars a third of the box
# thick, their overlap counted once)
FILL_RATIOS = dict(ellipse=np.pi / 4, rectangle=1.0, triangle=0.5, cross=1 - (2 / 3) ** 2)


def _template_mask(name: str, width: int, height: int) -> np.ndarray:
    """Class ``name`` stretched to a box whose corners are the pixels (0, 0) and
    (width, height): which of the (height + 1) x (width + 1) pixels it covers."""
    polygons = TEMPLATES[name]
    corners = np.concatenate(polygons)
    low, high = corners.min(axis=0), corners.max(axis=0)
    rows, cols = np.mgrid[0:height + 1, 0:width + 1]
    points = np.stack([cols / width, rows / height], -1).reshape(-1, 2) * (high - low) + low
    inside = np.zeros(len(points), dtype=bool)
    for polygon in polygons:
        inside |= MplPath(polygon).contains_points(points, radius=1e-9)
    return inside.reshape(height + 1, width + 1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.fixture(scope='module')
def drawn_shapes(tmp_path_factory) -> list:
    """``(class name, mask)`` of every shape whose box touches no other box, in 192 px
    images (boxes of 32-96 px): the pixels of the box (its corner pixels included) in
    the shape's fill or outline colour (the fill colour is the one at the box centre,
    which every class covers)."""
    root = generate_shapes_dataset(str(tmp_path_factory.mktemp('large_shapes')),
                                   num_train=40, num_val=0, image_size=192, seed=5)
    coco = COCO(str(root / 'annotations' / 'instances_train.json'))
    shapes = []
    for img_info in coco.loadImgs(coco.getImgIds()):
        img = np.asarray(Image.open(root / img_info['file_name'])).astype(int)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_info['id']))
        for ann in anns:
            if any(other is not ann and _boxes_touch(ann['bbox'], other['bbox'])
                   for other in anns):
                continue
            x, y, w, h = (int(v) for v in ann['bbox'])
            box = img[y:y + h + 1, x:x + w + 1]
            fill = box[h // 2, w // 2]
            mask = (box == fill).all(-1) | (box == 255 - fill).all(-1)
            shapes.append((CLASSES[ann['category_id'] - 1], mask))
    return shapes


def _boxes_touch(a: list, b: list) -> bool:
    """Whether two COCO boxes ``[x, y, w, h]`` (with their edge pixels) meet."""
    return (a[0] <= b[0] + b[2] + 1 and b[0] <= a[0] + a[2] + 1
            and a[1] <= b[1] + b[3] + 1 and b[1] <= a[1] + a[3] + 1)


def test_every_class_is_drawn(drawn_shapes):
    assert sorted(TEMPLATES) == sorted(CLASSES)
    counts = {name: sum(label == name for label, _ in drawn_shapes) for name in CLASSES}
    assert min(counts.values()) >= 4, counts


def test_each_drawn_shape_covers_the_fill_ratio_of_its_class(drawn_shapes):
    for label, mask in drawn_shapes:
        assert mask.mean() == pytest.approx(FILL_RATIOS[label], abs=0.03), label


def test_each_drawn_shape_matches_the_template_of_its_class_best(drawn_shapes):
    """IoU with each class's template: the labelled class is near 1 and wins by a
    margin (separates classes of close fill ratio: triangle and cross)."""
    for label, mask in drawn_shapes:
        height, width = mask.shape
        ious = {name: _iou(mask, _template_mask(name, width - 1, height - 1))
                for name in CLASSES}
        others = max(iou for name, iou in ious.items() if name != label)
        assert ious[label] > 0.9 and ious[label] > others + 0.15, (label, ious)


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
