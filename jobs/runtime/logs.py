"""Where Spark's own words go: the workspace's log file, scrubbed of the values it quotes.

Spark's messages quote data (a cast's input, a malformed line), so none reaches the terminal
as Spark wrote it. The JVM writes warnings and errors to `<workspace>/logs/spark.log`
(log4j2.properties beside this module; on the terminal too with --debug), and a Spark error a
command meets is shown as one sentence naming its error class, with the detail, scrubbed,
in the same file. `scrub` is the Python twin of the log4j pattern and is tested to agree.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import traceback
from pathlib import Path
from typing import IO

from jobs.config import Workspace

LOG_ENV = "PARTNERKIT_SPARK_LOG"
FILE_LEVEL_ENV = "PARTNERKIT_SPARK_LOG_LEVEL"
CONSOLE_LEVEL_ENV = "PARTNERKIT_SPARK_CONSOLE_LEVEL"
LOG_FILE = "logs/spark.log"
# Set by `route_spark_logs` unless --debug: the log the JVM's own stderr is relayed to.
JVM_STDERR_ENV = "PARTNERKIT_JVM_STDERR"

QUOTED = re.compile(r"'[^'\r\n]*'")
EMAIL = re.compile(r"[^\s'\"<>@,;:()\[\]]+@[^\s'\"<>@,;:()\[\]]+")
NUMBER = re.compile(r"\+?\(?[0-9][0-9 ().-]{5,}[0-9]")
ERROR_CLASS = re.compile(r"\[([A-Z][A-Z0-9_]+(?:\.[A-Z0-9_]+)*)\]")
logger = logging.getLogger(__name__)


def scrub(text: str) -> str:
    """Quoted values, emails and phone-like numbers replaced, as log4j2.properties does."""
    text = QUOTED.sub("'<value>'", text)
    text = EMAIL.sub("<email>", text)
    return NUMBER.sub("<number>", text)


def spark_log_path(workspace: Workspace) -> Path:
    return workspace.root / LOG_FILE


def route_spark_logs(workspace: Workspace, *, debug: bool) -> Path:
    """Send the JVM's log lines to the workspace's log file (and the terminal only with
    --debug). Read once, when this process starts its JVM."""
    path = spark_log_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ[LOG_ENV] = str(path)
    os.environ[FILE_LEVEL_ENV] = "warn"
    os.environ[CONSOLE_LEVEL_ENV] = "warn" if debug else "off"
    if debug:
        os.environ.pop(JVM_STDERR_ENV, None)
    else:
        os.environ[JVM_STDERR_ENV] = str(path)
    return path


def relay_scrubbed(stream: IO[bytes], path: str) -> threading.Thread:
    """Append what the JVM writes to its stderr (notices such as the vector module's, a
    thread's uncaught exception) to the log, each line scrubbed, until the JVM exits."""

    def pump() -> None:
        with stream, open(path, "a", encoding="utf-8") as log:
            for raw in iter(stream.readline, b""):
                log.write(scrub(raw.decode("utf-8", "replace")))
                log.flush()

    relay = threading.Thread(target=pump, name="jvm-stderr", daemon=True)
    relay.start()
    return relay


def error_class(error: BaseException) -> str | None:
    """Spark's error class (`CAST_INVALID_INPUT`), from the exception or its text."""
    getter = getattr(error, "getCondition", None) or getattr(error, "getErrorClass", None)
    if getter is not None:
        try:
            found = getter()
        except Exception:  # a py4j error whose JVM side is gone
            found = None
        if found:
            return str(found)
    match = ERROR_CLASS.search(str(error))
    return match.group(1) if match else None


def record_spark_failure(log_file: Path | None, error: BaseException) -> str:
    """Append the scrubbed traceback to the log file; return one sentence for the terminal."""
    detail = scrub("".join(traceback.format_exception(error)))
    where = ""
    if log_file is not None:
        try:
            with log_file.open("a", encoding="utf-8") as out:
                out.write(detail)
            where = f"; the details are in {log_file}"
        except OSError as failure:
            logger.debug("could not write %s: %s", log_file, failure)
    found = error_class(error)
    named = f" ({found})" if found else ""
    return f"Spark could not run the command{named}{where}"
