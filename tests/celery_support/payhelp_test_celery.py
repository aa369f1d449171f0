"""A platform's Celery app, as a test's workers run it: payhelp's tasks registered in one line.

Configured by the environment the test gives its workers: the broker (``PAYHELP_TEST_BROKER``),
the sandbox's address and rate limit, and the Redis prefix the caller uses.
"""

from __future__ import annotations

import os

from celery import Celery

from payhelp.api import Payhelp
from payhelp.workers import register

app = Celery("platform", broker=os.environ["PAYHELP_TEST_BROKER"])
app.conf.update(
    worker_prefetch_multiplier=1,
    # A dead worker's unacknowledged chunk goes back to the queue after this long.
    broker_transport_options={"visibility_timeout": 10},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def make_payhelp() -> Payhelp:
    settings = {
        "api_key": "test-key",
        "base_url": os.environ["PAYHELP_TEST_SANDBOX_URL"],
        "rate_limit": os.environ["PAYHELP_TEST_RATE_LIMIT"],
        "max_retries": 0,  # a 429 would show as an error line, never hidden by a retry
    }
    return Payhelp(
        load_plugins=["centrobill"],
        processors={"centrobill": {"settings": settings}},
        redis_url=os.environ["PAYHELP_TEST_REDIS_URL"],
        redis_prefix=os.environ["PAYHELP_TEST_REDIS_PREFIX"],
        store_url=os.environ["PAYHELP_TEST_STORE_URL"],
    )


payhelp_tasks = register(app, payhelp=make_payhelp, claim_seconds=5)
