"""Strip training state from a checkpoint and add a sha256 prefix to its name (as mmpretrain does).

python tools/publish_model.py work_dirs/x/epoch_300.pth mixer-b16_in1k.pth
-> mixer-b16_in1k-1a2b3c4d.pth

Same as `mmmixer publish`; the logic lives in mmmixer.cli.publish.
"""

from mmmixer.cli.publish import main

if __name__ == '__main__':
    main()
