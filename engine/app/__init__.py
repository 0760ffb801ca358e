"""The application layer: the ``flowbt`` command line and what it wires together.

Everything here sits on top of the core (:mod:`engine` without ``app``), :mod:`datasets` and
:mod:`strategies`; nothing below imports it (``lint-imports`` checks the contracts declared in
``pyproject.toml``). Modules: ``cli`` (the parser), ``config`` (TOML into typed objects),
``inputs`` (the causal signal builders that configs name), ``runner`` (prepare, decide,
simulate one config), ``backtest``, ``sweep``, ``scale`` (chunked, resumable execution in
process or on Dask), ``demo``, ``data_check`` and ``data_synth`` (the commands).
"""
