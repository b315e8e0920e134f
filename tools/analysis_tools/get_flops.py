"""Print a model's parameters and FLOPs (mmengine's counter), as mmpretrain's get_flops.py does.

python tools/analysis_tools/get_flops.py configs/mixer-b16_in1k.py [--shape H W]

Same as `mmmixer get-flops`; the logic lives in mmmixer.cli.get_flops.
"""

from mmmixer.cli.get_flops import main

if __name__ == '__main__':
    main()
