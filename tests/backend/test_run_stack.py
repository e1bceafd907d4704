"""The processes `make run` and docker-compose.yml start (docs/scaling.md, "Memory at rest"):
``make serve``'s stack is two processes (Daphne, and a Celery worker with a threads pool and beat
in a thread) that serve and run the periodic jobs; compose's light beat sends them without setting
Django up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import (
    RedisServer,
    ServeStack,
    app_env,
    descendants,
    django_database_url,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_make_serve_runs_daphne_and_one_worker_that_runs_beats_jobs(tmp_path):
    log = tmp_path / "celery.log"
    with RedisServer() as redis:
        env = app_env(
            database_url=django_database_url(),
            redis_url=redis.url,
            # The cut-off sweep every second: beat's thread sends it at once.
            POOLING_CUTOFF_SWEEP_SECONDS="1",
            CELERY_LOG=str(log),
            CELERY_SCHEDULE=str(tmp_path / "schedule"),
            LOG_LEVEL="WARNING",
        )
        for key in ("CELERY_POOL", "CELERY_CONCURRENCY", "MALLOC_ARENA_MAX"):
            env.pop(key, None)  # serve.sh's own defaults, as `make run` has them
        with ServeStack(env, log=tmp_path / "serve.log") as stack:

            def sweeps_ran() -> bool:
                assert stack.running, log.read_text(errors="replace")
                text = log.read_text(errors="replace") if log.exists() else ""
                return bool(re.search(r"pooling\.cutoff_sweep\[[^]]+\] succeeded", text))

            wait_until(sweeps_ran, timeout=60, interval=0.2, what="a job sent by beat run")
            text = log.read_text(errors="replace")
            # Beat is a thread of the worker's main process; the pool is threads.
            assert "INFO/MainProcess] beat: Starting..." in text
            assert re.search(r"concurrency: 2 \(thread\)", text), text[:2000]
            processes = {
                pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                for pid in descendants(stack.pid)
            }
            python = {pid: cmd for pid, cmd in processes.items() if "python" in cmd}
            kinds = sorted(Path(cmd.split()[1]).name for cmd in python.values())
            assert kinds == ["celery", "daphne"], processes
            for pid in python:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                assert b"MALLOC_ARENA_MAX=2" in environ
            # The stack's goal (docs/scaling.md): both processes at rest under 500 MB together.
            assert sum(rss_mb(pid) for pid in python) < 500

        def alive(pid: int) -> bool:  # a zombie waits for its reaper, but runs no more
            try:
                return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False

        wait_until(lambda: not any(map(alive, python)), timeout=10, what="the stack stopped")


def test_the_light_beat_reads_the_schedule_without_setting_django_up():
    code = """
import json, sys
from backend.beat import app
from django.apps import apps
from django.conf import settings
print(json.dumps({
    "schedule": sorted(app.conf.beat_schedule),
    "expected": sorted(settings.CELERY_BEAT_SCHEDULE),
    "broker": app.conf.broker_url == settings.CELERY_BROKER_URL,
    "apps_ready": apps.ready,
    "domains": sorted(m for m in ("sharing", "pooling", "geo", "accounts.models") if m in sys.modules),
}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=app_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["schedule"] == found["expected"] and found["broker"]
    assert found["apps_ready"] is False and found["domains"] == []


@pytest.mark.e2e
def test_the_light_beat_sends_the_periodic_jobs_by_name(tmp_path):
    with RedisServer() as redis:
        beat = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "backend.beat", "beat",
             "-l", "info", "--schedule", str(tmp_path / "schedule"), "--max-interval", "1"],
            cwd=ROOT,
            env=app_env(redis_url=redis.url, POOLING_CUTOFF_SWEEP_SECONDS="1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = redis.client()

            def sent() -> list[dict]:
                assert beat.poll() is None
                return [json.loads(m) for m in client.lrange("celery", 0, -1)]

            messages = wait_until(sent, timeout=60, interval=0.2, what="a message from beat")
            assert messages[0]["headers"]["task"] == "pooling.cutoff_sweep"
            # A loop that sends messages: a fraction of a Django process (about 200 MB).
            assert rss_mb(beat.pid) < 120
        finally:
            beat.terminate()
            beat.wait(timeout=20)


def test_make_run_and_serve_sh_agree_and_compose_runs_what_exists():
    makefile = (ROOT / "Makefile").read_text()
    serve = (ROOT / ".ci" / "serve.sh").read_text()
    for name in ("CELERY_POOL", "CELERY_CONCURRENCY", "MALLOC_ARENA_MAX"):
        made = re.search(rf"^export {name} \?= (\S+)$", makefile, re.MULTILINE)
        served = re.search(rf"{name}=\${{{name}:-(\S+)}}", serve)
        assert made and served and made.group(1) == served.group(1), name

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "backend.beat", "beat"]
    worker = " ".join(services["worker"]["command"])
    assert "-A backend worker" in worker and "CELERY_CONCURRENCY" in worker
    assert "CELERY_CONCURRENCY" in services["worker"]["environment"]
    for service in ("web", "worker", "beat"):
        environment = services[service].get("environment") or compose["x-app"]["environment"]
        assert environment["MALLOC_ARENA_MAX"] and environment["COMPRESS_RESPONSES"]
