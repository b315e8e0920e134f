"""``make demo-det``: fine-tune the ``make demo`` Mixer as a detector on digit canvases, print COCO mAP, draw the
detections on held-out canvases. The steps are :mod:`mmmixer.cli.dense_demo`'s."""

from __future__ import annotations

import glob
import os.path as osp

from mmmixer.cli.dense_demo import PICTURE_CANVASES, DenseDemo, run_dense_demo


def data_overrides(data_dir: str) -> tuple[list[str], list[str]]:
    train = [f'train_dataloader.dataset.data_root={data_dir}/']
    test = [
        f'test_dataloader.dataset.data_root={data_dir}/',
        f'test_evaluator.ann_file={data_dir}/annotations/instances_val.json',
    ]
    return train, test


def summary(metrics: dict, program: str) -> str:
    if 'coco/bbox_mAP' not in metrics:  # mmdet's CocoMetric returns nothing when no box passed the score threshold
        raise SystemExit(
            f'{program}: error: the detector found no object on the held-out canvases, so there is no mAP; '
            'train longer (the default schedule reaches bbox mAP@0.5 0.82)'
        )
    results = f'bbox mAP@0.5 {metrics["coco/bbox_mAP_50"]:.3f}, mAP {metrics["coco/bbox_mAP"]:.3f}'
    if 'coco/segm_mAP' in metrics:
        results += f'; mask mAP@0.5 {metrics["coco/segm_mAP_50"]:.3f}, mAP {metrics["coco/segm_mAP"]:.3f}'
    return results


def draw(config: str, checkpoint: str, data_dir: str, cfg_options: dict, out_file: str) -> str:
    from mmmixer.visualization.dense_predictions import detection_rows, save_grid

    images = sorted(glob.glob(osp.join(data_dir, 'val', '*.png')))[:PICTURE_CANVASES]
    ann_file = osp.join(data_dir, 'annotations', 'instances_val.json')
    return save_grid(detection_rows(config, checkpoint, images, ann_file, cfg_options), out_file)


DETECTION_DEMO = DenseDemo(
    task='detection',
    default_config='detection/retinanet_mixer-demo_pyramid_digits.py',
    default_work_dir='work_dirs/demo-det',
    default_data_dir='data/digit_detection',
    prepare_command='prepare-digit-detection',
    data_overrides=data_overrides,
    summary=summary,
    draw=draw,
)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    return run_dense_demo(DETECTION_DEMO, argv, prog)
