"""`check` of [service] listen: free, held by the running `run`, or taken by something else."""

from __future__ import annotations

import errno
import http.client
import socketserver

from sqlalchemy.exc import SQLAlchemyError

from monitor.checks.result import Result, fail, ok, warn
from monitor.config import Config
from monitor.db import Database
from monitor.errors import DatabaseError
from monitor.service import SERVER_NAME, scheduler_holder


class _BindProbe(socketserver.TCPServer):
    allow_reuse_address = True  # as run's listener (http.server) binds


def check_service(config: Config, db: Database | None) -> Result:
    listen = config.service.listen
    if listen is None:
        return ok("service", "no [service] listen: no /healthz, /metrics or web view")
    host, _, port = listen.rpartition(":")
    if int(port) == 0:
        return ok("service", f"listen {listen}: `run` picks a free port")
    try:
        _BindProbe((host.strip("[]"), int(port)), socketserver.BaseRequestHandler).server_close()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            return fail("service", f"service.listen: cannot listen on {listen}: {exc}")
        return _port_taken(listen, db)
    return ok("service", f"listen {listen}: free")


def _port_taken(listen: str, db: Database | None) -> Result:
    holder = None
    if db is not None:
        try:
            holder = scheduler_holder(db)
        except (DatabaseError, SQLAlchemyError, OSError):
            holder = None
    ours = _answers_as_monitor(listen)
    # The running `run` may listen elsewhere (the config's port was changed since it started):
    # only a listener that answers as ours is the one a restart frees.
    if holder is not None and ours:
        return ok("service", f"listen {listen}: in use by the running `run` ({holder})")
    if ours:
        whose = (
            "not this database's running `run`"
            if db is not None
            else "the failed database check cannot tell whose"
        )
        taker = f"a rumour-monitor listener ({whose})"
    elif holder is not None:
        taker = f"another process, not the running `run` ({holder}), which listens elsewhere"
    else:
        taker = "another process"
    return warn(
        "service",
        f"listen {listen}: in use by {taker}; `run` cannot start while it is"
        " (stop that process, or choose another port in [service] listen)",
    )


_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
PROBE_TIMEOUT = 2.0


def _answers_as_monitor(listen: str) -> bool:
    """Whether the listener on `listen` answers /healthz as `run`'s status listener does."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    connection = http.client.HTTPConnection(
        _WILDCARDS.get(host, host), int(port), timeout=PROBE_TIMEOUT
    )
    try:
        connection.request("GET", "/healthz")
        server = connection.getresponse().getheader("Server") or ""
    except (OSError, http.client.HTTPException):
        return False  # not HTTP, or too slow to be ours
    finally:
        connection.close()
    return server.startswith(SERVER_NAME)
