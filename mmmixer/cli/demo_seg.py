"""``make demo-seg``: fine-tune the ``make demo`` Mixer as a UPerNet segmenter on digit canvases (background + 10
digits per pixel), print mIoU, draw image | truth | prediction for held-out canvases. The steps are
:mod:`mmmixer.cli.dense_demo`'s."""

from __future__ import annotations

import glob
import os.path as osp

from mmmixer.cli.dense_demo import PICTURE_CANVASES, DenseDemo, run_dense_demo


def data_overrides(data_dir: str) -> tuple[list[str], list[str]]:
    return [f'train_dataloader.dataset.data_root={data_dir}/'], [f'test_dataloader.dataset.data_root={data_dir}/']


def summary(metrics: dict, program: str) -> str:
    if 'mIoU' not in metrics or 'aAcc' not in metrics:  # e.g. --cfg-options test_evaluator.iou_metrics=[mDice]
        raise SystemExit(
            f'{program}: error: the test gave no mIoU and aAcc ({", ".join(metrics)}); keep the '
            "config's test_evaluator (mmseg's IoUMetric with iou_metrics=['mIoU'])"
        )
    # mmseg's IoUMetric reports percentages; the line gives fractions, as COCO's mAP.
    return f'mIoU {metrics["mIoU"] / 100:.3f}, aAcc {metrics["aAcc"] / 100:.3f}'


def draw(config: str, checkpoint: str, data_dir: str, cfg_options: dict, out_file: str) -> str:
    from mmmixer.visualization.dense_predictions import save_grid, segmentation_rows

    images = sorted(glob.glob(osp.join(data_dir, 'img_dir', 'val', '*.png')))[:PICTURE_CANVASES]
    labels = [osp.join(data_dir, 'ann_dir', 'val', osp.basename(image)) for image in images]
    return save_grid(segmentation_rows(config, checkpoint, images, labels, cfg_options), out_file)


SEGMENTATION_DEMO = DenseDemo(
    task='segmentation',
    default_config='segmentation/upernet_mixer-demo_pyramid_digits.py',
    default_work_dir='work_dirs/demo-seg',
    default_data_dir='data/digit_segmentation',
    prepare_command='prepare-digit-segmentation',
    data_overrides=data_overrides,
    summary=summary,
    draw=draw,
)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    return run_dense_demo(SEGMENTATION_DEMO, argv, prog)
