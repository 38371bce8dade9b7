"""A moto S3 server on 127.0.0.1 for the demo and the tests, reached like any S3 endpoint.

Only the environment changes (AWS_ENDPOINT_URL and throwaway credentials), so the code under
test or demonstration uses boto3 exactly as it would against AWS. The previous environment is
restored on exit, so a user's real AWS settings are never touched beyond the block.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager


def moto_available() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def local_s3_server() -> Iterator[str]:
    """Start moto's threaded server on a free loopback port; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per HTTP request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto checks no signatures; any credentials do, as long as boto3 finds some.
    overrides = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
