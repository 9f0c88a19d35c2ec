"""Ray for the length of a command: a live station with its actors in Ray, a sweep, the optimiser.

A local Ray is sized to the machine with the dashboard off and its logs kept from the
terminal; an address joins an existing cluster instead, which this command then does
not shut down.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


@contextmanager
def ray_session(address: str | None = None, forward: Iterable[str] = ()) -> Iterator[float]:
    """Yields how long Ray took to start; ``forward`` names environment variables Ray's workers get too, if set here."""
    import ray

    started = time.perf_counter()
    ours = not ray.is_initialized()
    if ours:
        env_vars = {name: os.environ[name] for name in forward if name in os.environ}
        runtime_env = {"env_vars": env_vars} if env_vars else None
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, runtime_env=runtime_env)
        else:
            ray.init(
                num_cpus=os.cpu_count(),
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
                runtime_env=runtime_env,
            )
    try:
        yield time.perf_counter() - started
    finally:
        if ours:
            ray.shutdown()
