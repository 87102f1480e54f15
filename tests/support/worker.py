"""A real Celery worker process on the Redis broker, as production runs one.

conftest.py starts one for the session (the ``celery_worker`` fixture), the first time a test asks
for it. It listens to a queue of its own, so no other worker on this Redis takes its tasks, and it
reads and writes the test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    queue: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        """What the worker printed so far (its warnings and errors), for failure messages."""
        return self.log.read_text(errors="replace")

    def wait_until(self, condition, *, timeout: float = 60, what: str = "the worker") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"{what}: the worker died\n{self.output()}"
            assert time.monotonic() < deadline, f"{what} did not happen\n{self.output()}"
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def database_url() -> str:
    """The test database (test_tracker, or test_tracker_gw0 under pytest-xdist) as a URL."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker() -> Worker:
    queue = f"test-{uuid.uuid4().hex[:8]}"  # only this worker listens to it
    log = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
    env = {**os.environ, "DATABASE_URL": database_url()}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tracker",
                "worker",
                "--pool=solo",
                "--queues",
                queue,
                "--hostname",
                f"{queue}@localhost",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Worker(queue=queue, process=process, log=log)
