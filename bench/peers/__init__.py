"""The servers a user could pick instead of handcalc, serving the same model the same way.

    make bench-peers     (or: python -m bench.peers --duration 10 --samples 5)

Each peer is a small app written the way its framework's guide shows: plain FastAPI
(a sync route, no batching), LitServe, BentoML and Ray Serve (each with its own
batching). All of them load the same LiteRT export of the active `classifier` (and
`add`) from the artifact store and run handcalc's own preprocessing
(`models.preprocess.preprocess`) on the same multipart upload, so the comparison is of
the servers, not of the models. They run from their own virtual environment
(`var/peers-venv`, made from `requirements.txt` here on first use), never from the
serving install; `bench.peers.shared` is the only handcalc code they import.
"""
