"""The `classifier` kind: ten digits from labelled images, as a CNN or a dense network."""

from __future__ import annotations

import keras
import tensorflow as tf

from models.kinds.run import SAMPLES, Outcome, Run
from models.training import evaluation
from models.training.fit import as_float_images, train_classifier


def train(run: Run) -> Outcome:
    (x_train, y_train), (x_test, y_test) = run.dataset
    trained = train_classifier(run.params, x_train, y_train, run.monitor)
    accuracy = evaluation.classifier_accuracy(trained.model, x_test, y_test)
    return Outcome(
        trained, {"test_accuracy": accuracy}, {"classify": as_float_images(x_test[:SAMPLES])}
    )


def endpoints(model: keras.Model) -> dict:
    return {
        "classify": (
            lambda image: {"probabilities": model(image, training=False)},
            tf.TensorSpec([None, 28, 28], tf.float32, name="image"),
        )
    }
