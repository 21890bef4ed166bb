"""The engine: plans, stages, links and the runner. Everything here is private.

Every front (``AsyncStream``, ``SyncStream``, ``StreamPipe.stream``, the CLI) builds a
:class:`~rivusio.runtime._plan.Plan` and hands it to the one
:class:`~rivusio.runtime._runner.Runner`, the only code that starts tasks.
"""
