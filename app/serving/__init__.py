"""The models this process serves: loading and hot-swapping versions (`server`), and
micro-batching concurrent calls to one model (`batching`)."""
