"""``make bench``: Ordo's speed next to the physical limits of the same machine, in the same run.

Run with ``python -m benchmarks`` (``--help`` for options). Never part of ``make test``.
"""
