"""Whole handwritten numbers: cutting an image into digits, drawing numbers from digit
images, and exact long arithmetic on the digits' readings. No TensorFlow here."""
