"""moto's server for the test suite, with DynamoDB requests handled one at a time.

moto runs requests on threads without isolating them. Its TransactWriteItems snapshots whole
tables and restores the snapshot when a condition fails, so under concurrent requests a
cancelled transaction can undo another request's committed write or show its own half-applied
state. Real DynamoDB serializes transactions and conditional writes per item, which taking
DynamoDB calls one at a time reproduces. Other services keep running concurrently (SQS long
polls must not stall the server).

Usage: moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

moto = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb:
            # The whole response is produced inside the lock.
            return list(moto(environ, start_response))
    return moto(environ, start_response)


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    # As moto_server does: some responses (SNS certificate URLs) name the port.
    os.environ.setdefault("MOTO_PORT", str(port))
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)
