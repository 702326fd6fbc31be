"""Training: Keras builders and layers, the fit loop, evaluation, LiteRT export, and the
pipeline that trains, checks and publishes a version. Imports TensorFlow."""
