"""Search-quality benchmark: evotune's strategies against peer optimizers.

Run it from the repository root::

    python -m bench.quality --quick      # a few minutes
    python -m bench.quality              # the full run

See ``bench/quality/README.md`` for the problems, the peers and the scores.
"""
