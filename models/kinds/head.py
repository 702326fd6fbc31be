"""The arithmetic kinds (`add`, `multiply`, `compare`): a head over two images, trained on
the operation's results alone. One module serves the three; the kind names the operation.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from models.kinds.run import SAMPLES, Outcome, Run
from models.ops import draw_pairs, operation
from models.params import TrainingParams
from models.training import evaluation
from models.training.builders import head_reader
from models.training.fit import PairResults, as_float_images, limit, split_validation, train_head

VALIDATION_PAIRS = 10_000


def train(run: Run) -> Outcome:
    (x_train, y_train), (x_test, y_test) = run.dataset
    operation_name = run.kind.name
    reader, lineage = run.reader()
    params = run.params
    images = limit(x_train, params)
    fit, validation = pair_results(operation_name, params, limit(y_train, params))
    trained = train_head(operation_name, params, reader, images, fit, validation, run.monitor)
    accuracy = evaluation.head_scores(operation_name, trained.model, x_test, y_test).accuracy
    index = draw_pairs(SAMPLES, len(x_test), seed=1)
    return Outcome(
        trained, {"test_accuracy": accuracy}, {"predict": as_float_images(x_test[index])}, lineage
    )


def reader(model: keras.Model) -> keras.Model:
    """What another model reads with: the head's reader, fine-tuned from results alone."""
    return head_reader(model)


def endpoints(model: keras.Model) -> dict:
    return {
        "predict": (
            lambda images: dict(model(images, training=False)),
            tf.TensorSpec([None, 2, 28, 28], tf.float32, name="images"),
        )
    }


def pair_results(
    operation_name: str, params: TrainingParams, labels: np.ndarray
) -> tuple[PairResults, PairResults]:
    """Random training and validation pairs with the operation's result for each.

    The labels are used here only to state each pair's result, as a teacher who
    says "these two make 12" would; `train_head` receives the results, never the
    digits. Training pairs (fresh ones for every epoch) come from the training
    images and validation pairs from the held-out ones, so no image is in both.
    """
    op = operation(operation_name)
    fit_index, val_index = split_validation(len(labels), params)
    fit_pairs = fit_index[draw_pairs(params.epochs * params.pairs, len(fit_index), params.seed)]
    val_pairs = val_index[draw_pairs(VALIDATION_PAIRS, len(val_index), params.seed + 1)]

    def with_results(pairs: np.ndarray) -> PairResults:
        return PairResults(pairs, op.apply(labels[pairs[:, 0]], labels[pairs[:, 1]]))

    return with_results(fit_pairs), with_results(val_pairs)
