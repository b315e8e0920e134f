"""Strip training state from a checkpoint and add a sha256 prefix to its name (as mmpretrain does).

python tools/publish_model.py work_dirs/x/epoch_300.pth mixer-b16_in1k.pth
-> mixer-b16_in1k-1a2b3c4d.pth
"""

import argparse

from mmmixer.checkpoint import publish_checkpoint


def main():
    parser = argparse.ArgumentParser(description='Publish a checkpoint: drop optimizer/scheduler/message hub')
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name; the first 8 hex digits of its sha256 are appended')
    args = parser.parse_args()
    try:
        final = publish_checkpoint(args.in_file, args.out_file)
    except (OSError, ValueError, RuntimeError) as error:
        raise SystemExit(f'publish_model: {error}') from None
    print(f'published {final}')


if __name__ == '__main__':
    main()
