"""Install mmmixer into an existing OpenMMLab environment: ``pip install -e .[det]``.

For a complete, pinned environment built from nothing use ``make setup`` (see README).
"""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


# What a wheel carries in mmmixer/.mim, laid out as mmpretrain's own wheel: the configs (found by name from any
# directory), the tools (`mim train|test|run mmmixer ...` runs them from there) and the model index (mmpretrain's
# get_model / list_models and `mim search mmmixer` read it; its config paths are relative to it).
MIM_FILES = ['configs', 'tools', 'model-index.yml']


class BuildPyWithConfigs(build_py):
    """Also copy ``configs/``, ``tools/`` and ``model-index.yml`` into the built package under ``mmmixer/.mim``
    (where mmpretrain ships its own), so that a non-editable install finds a config by name from any directory
    and mim finds the tools. An editable install reads them in the checkout (see mmmixer/packaged_configs.py);
    the source tree is not touched."""

    def run(self) -> None:
        editable = getattr(self, 'editable_mode', False)  # the attribute exists from setuptools 64
        if not editable:  # a build folder left by an older version would ship its moved modules too
            shutil.rmtree(Path(self.build_lib) / 'mmmixer', ignore_errors=True)
        super().run()
        if not editable:
            mim = Path(self.build_lib) / 'mmmixer' / '.mim'
            for name in MIM_FILES:
                if (ROOT / name).is_dir():
                    ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
                    shutil.copytree(ROOT / name, mim / name, ignore=ignore, dirs_exist_ok=True)
                else:
                    mim.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / name, mim / name)


def read_version() -> str:
    namespace: dict = {}
    exec((ROOT / 'mmmixer' / 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='mmmixer',
    version=read_version(),
    description='MLP-Mixer backbones, configs and weight converters for OpenMMLab (mmpretrain, mmdet)',
    long_description=(ROOT / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['mmmixer', 'mmmixer.*']),
    cmdclass={'build_py': BuildPyWithConfigs},
    # `mmmixer COMMAND` (the same as `python -m mmmixer COMMAND`): train, test, convert, demo, ...
    entry_points={'console_scripts': ['mmmixer = mmmixer.cli.main:main']},
    install_requires=[
        # Safe loading needs torch.serialization.safe_globals (2.5) with (object, name) entries (2.6).
        'torch>=2.6',
        'numpy',
        'mmengine>=0.10.4,<1.0',
        # mmpretrain 1.2 accepts mmcv < 2.4; mmdet 3.3 (the `det` extra) needs < 2.2.
        'mmcv>=2.0.0,<2.4.0',
        'mmpretrain>=1.2.0,<1.3',
        # The ImageNet recipe decodes JPEGs as TensorFlow does (mmmixer.LoadImageTF): a wheel with libjpeg-turbo.
        'simplejpeg>=1.6',
        # mmengine resolves `mmpretrain::` / `mmdet::` config prefixes with pkg_resources (gone in setuptools 80).
        'setuptools<80',
    ],
    extras_require={
        'det': ['mmdet>=3.3.0,<3.4', 'mmcv>=2.0.0,<2.2.0', 'pycocotools'],
        # mmseg imports ftfy and regex without requiring them.
        'seg': ['mmsegmentation>=1.2.2,<1.3', 'mmcv>=2.0.0,<2.2.0', 'ftfy', 'regex'],
        'convert': ['timm>=1.0', 'safetensors>=0.4', 'tqdm'],
        # `mmmixer export`: torch.onnx's exporter (dynamo) needs onnxscript; --verify runs ONNX Runtime.
        # --dtype int8 (mmmixer/deploy/int8.py): torchao's PT2E static quantisation.
        'deploy': ['onnx>=1.17', 'onnxscript>=0.5', 'onnxruntime>=1.20', 'torchao>=0.18'],
        'tests': [
            'pytest>=8',
            'timm>=1.0',
            'safetensors>=0.4',
            'scikit-learn>=1.3',
            'scikit-image>=0.22',
            'matplotlib>=3.7',
            'ruff>=0.6',
            'hypothesis>=6.100',
            # `mim train|test|run|search mmmixer`. openmim -> opendatalab -> openxlab >= 0.1 pins setuptools 60.2
            # (no editable installs); the lower bound makes pip take an openxlab that pins nothing.
            'openmim>=0.3.9,<0.4',
            'onnx>=1.17',
            'onnxscript>=0.5',
            'onnxruntime>=1.20',
            'torchao>=0.18',
            'setuptools>=64,<80',
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'License :: OSI Approved :: Apache Software License',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
