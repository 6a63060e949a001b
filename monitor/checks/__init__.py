"""`check`: the config and an installation in, one ok / warn / FAIL result per part out.

Reads the config, seeds, database and schema, the model and secrets (and, when asked, feeds, the
SMTP server and the listen port) and writes nothing.
"""

from monitor.checks.installation import CheckOptions, run_checks
from monitor.checks.result import Result

__all__ = ["CheckOptions", "Result", "run_checks"]
