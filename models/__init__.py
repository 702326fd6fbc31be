"""The ML core shared by the API and the workers.

Nothing imported here may pull in TensorFlow or Keras: the API imports
`models.preprocess`, `models.artifacts.registry` and `models.runtime` in a process that has
no TensorFlow installed. Keras is imported only by the builder, training,
export and evaluation modules.
"""
