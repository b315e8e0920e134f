"""Export a config's model to ONNX and verify it with ONNX Runtime (mmpretrain's tool name).

python tools/deployment/pytorch2onnx.py configs/mixer-b16_in1k.py CHECKPOINT mixer-b16.onnx [--dynamic-batch]

Same as `mmmixer export`; the logic lives in mmmixer.cli.export.
"""

from mmmixer.cli.export import main

if __name__ == '__main__':
    main()
