"""Throughput and peak memory of mmmixer vs timm vs mmpretrain Mixers (inference and training step).

python tools/analysis_tools/benchmark.py --variant b16 --batch-size 8 --threads 2 [--json out.json]
python tools/analysis_tools/benchmark.py --variant b16 --batch-size 256 --device cuda --dtype bf16 [--compile]
python tools/analysis_tools/benchmark.py --smoke        # seconds-long check of the tool itself

Same as `mmmixer benchmark`; the logic lives in mmmixer.cli.benchmark.
"""

from mmmixer.cli.benchmark import main

if __name__ == '__main__':
    main()
