"""``mmmixer test --dtype bf16|int8|auto``: the Runner's test loop predicts with :func:`mmmixer.apis.cpu_predictor`.

The predictor is built in ``before_test``, after the Runner has loaded the checkpoint (``load_or_resume`` runs
before the loop), from the model the Runner holds; for the loop, ``runner.model`` is a
:class:`~mmmixer.apis.cpu_predictor.PredictingClassifier` (the classifier's data preprocessor, the predictor's
logits, the head's softmax predictions), so the evaluator scores exactly what the predictor computes. ``after_test``
gives the Runner its model back.
"""

from __future__ import annotations

import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmmixer.apis.cpu_predictor import PredictingClassifier, cpu_predictor


class CpuPredictorHook(Hook):
    """Test with the model in ``dtype`` on the CPU (``calibration``: int8's batches of normalised images, or a
    callable that makes them from the Runner, called once the checkpoint is loaded)."""

    priority = 'LOWEST'  # after every other before_test hook has seen the model as it was built

    def __init__(self, dtype: str, calibration=None, compile: bool = False):
        self.dtype = dtype
        self.calibration = calibration
        self.compile = compile
        self._model = None

    def before_test(self, runner) -> None:
        model = runner.model
        calibration = self.calibration(runner) if callable(self.calibration) else self.calibration
        example = calibration[0] if calibration else None
        predictor = cpu_predictor(model, self.dtype, example, calibration, compile=self.compile)
        print_log(f'test: the model runs as {predictor.description}', logger='current', level=logging.INFO)
        self._model = model
        runner.model = PredictingClassifier(model, predictor)

    def after_test(self, runner) -> None:
        if self._model is not None:
            runner.model, self._model = self._model, None
