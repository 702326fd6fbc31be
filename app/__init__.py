"""The handcalc REST API. It serves LiteRT exports and never imports TensorFlow."""
