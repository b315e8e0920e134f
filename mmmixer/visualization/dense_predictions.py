"""Pictures of what a dense model found: rows of image | truth | prediction, drawn by mmdet's or mmseg's own
visualizer, for the detection and segmentation demos.

The model is built from its config and checkpoint as mmdet's / mmseg's ``init_*`` APIs build it (no
``init_cfg`` weights are loaded: the checkpoint holds the trained model) and each image runs through the
config's test pipeline.
"""

from __future__ import annotations

import json
import os.path as osp
from collections.abc import Sequence

import numpy as np
from PIL import Image

from mmmixer.fileio import write_atomically

# Drawn at this many times the canvas size: the visualizers' labels need the room.
UPSCALE = 3


def _upscaled_rgb(path: str) -> np.ndarray:
    image = Image.open(path).convert('RGB')
    return np.asarray(image.resize((image.width * UPSCALE, image.height * UPSCALE), Image.NEAREST))


def save_grid(rows: Sequence[Sequence[np.ndarray]], out_file: str) -> str:
    """Write ``rows`` of same-sized RGB panels as one PNG (a white line between panels); returns its path."""
    gap = 4
    height, width = rows[0][0].shape[:2]
    columns = max(len(row) for row in rows)
    grid = np.full((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            grid[r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width] = (
                panel
            )
    return write_atomically(out_file, lambda tmp: Image.fromarray(grid).save(tmp, format='PNG'))


def segmentation_rows(
    config: str, checkpoint: str, image_paths: Sequence[str], label_paths: Sequence[str], cfg_options: dict
) -> list[list[np.ndarray]]:
    """image | truth | prediction for each image, the label maps blended over it by mmseg's ``SegLocalVisualizer``."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.apis import inference_model, init_model
    from mmseg.visualization import SegLocalVisualizer

    model = init_model(config, checkpoint, device='cpu', cfg_options=cfg_options)
    visualizer = SegLocalVisualizer(name='mmmixer_dense_predictions', alpha=0.6)
    # Set here, not through the constructor: mmseg 1.2.2's __init__ passes classes and palette swapped.
    visualizer.set_dataset_meta(classes=model.dataset_meta['classes'], palette=model.dataset_meta['palette'])
    rows = []
    for image_path, label_path in zip(image_paths, label_paths, strict=True):
        result = inference_model(model, image_path)
        image = _upscaled_rgb(image_path)
        size = image.shape[:2]
        truth = np.asarray(Image.open(label_path).resize(size[::-1], Image.NEAREST))
        prediction = result.pred_sem_seg.data[None].float()
        result.pred_sem_seg = PixelData(data=torch.nn.functional.interpolate(prediction, size=size)[0].long())
        result.gt_sem_seg = PixelData(data=torch.from_numpy(truth.astype(np.int64))[None])
        panels = [image]
        visualizer.add_datasample('canvas', image, result, draw_pred=False)
        panels.append(visualizer.get_image())
        visualizer.add_datasample('canvas', image, result, draw_gt=False)
        panels.append(visualizer.get_image())
        rows.append(panels)
    return rows


def detection_rows(
    config: str, checkpoint: str, image_paths: Sequence[str], ann_file: str, cfg_options: dict, score_thr: float = 0.3
) -> list[list[np.ndarray]]:
    """image | truth | prediction (boxes scoring >= ``score_thr``) for each image, drawn by mmdet's
    ``DetLocalVisualizer``. ``ann_file`` is the images' COCO json."""
    import torch
    from mmdet.apis import inference_detector, init_detector
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.structures import InstanceData

    model = init_detector(config, checkpoint, device='cpu', cfg_options=cfg_options)
    visualizer = DetLocalVisualizer(name='mmmixer_dense_predictions', line_width=2)
    visualizer.dataset_meta = model.dataset_meta
    with open(ann_file) as f:
        coco = json.load(f)
    ids = {image['file_name']: image['id'] for image in coco['images']}
    category_index = {category['id']: i for i, category in enumerate(coco['categories'])}
    rows = []
    for image_path in image_paths:
        result = inference_detector(model, image_path)
        image = _upscaled_rgb(image_path)
        annotations = [a for a in coco['annotations'] if a['image_id'] == ids[osp.basename(image_path)]]
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in annotations)])
        truth = InstanceData(
            bboxes=boxes.reshape(-1, 4).float() * UPSCALE,
            labels=torch.tensor([category_index[a['category_id']] for a in annotations], dtype=torch.long),
        )
        predicted = result.pred_instances
        predicted.bboxes = predicted.bboxes * UPSCALE
        if 'masks' in predicted:  # Mask R-CNN
            masks = torch.nn.functional.interpolate(predicted.masks[None].float(), scale_factor=UPSCALE)
            predicted.masks = masks[0].bool()
        panels = [image]
        result.gt_instances = truth
        visualizer.add_datasample('canvas', image, result, draw_pred=False)
        panels.append(visualizer.get_image())
        visualizer.add_datasample('canvas', image, result, draw_gt=False, pred_score_thr=score_thr)
        panels.append(visualizer.get_image())
        rows.append(panels)
    return rows
