"""`blueheart serve` over HTTP on 127.0.0.1: latency of each endpoint, a load of concurrent
clients, the same work through `blueheart batch -j 2`, and the server's peak memory; with the
photos' work on threads (the default) and on processes, for comparison.

    python -m benchmarks.web            # about three minutes on 2 cores
    python -m benchmarks.web --quick    # fewer repetitions

Loopback only, bounded loops. Uses the 12 MP phone JPEGs in /work/shared/photos/camera when
there, else the corpus's camera JPEGs (built under benchmarks/corpus/ if needed).
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import corpus

SHARED_PHOTOS = Path("/work/shared/photos/camera")
ROOT = Path(__file__).resolve().parent
AVATAR = "crop=square"  # a 1080 px square JPEG, the web default for crops
POOLS = ("threads", "processes")
ENDPOINTS = {
    "preview": "/api/preview",
    "1080 JPEG": f"/api/badge?{AVATAR}",
    "1080 circle PNG": "/api/badge?crop=circle",
    "1080 circle WebP": "/api/badge?crop=circle&format=webp",
}


def photos() -> list[bytes]:
    paths = sorted(SHARED_PHOTOS.glob("phone-12mp-*.jpg"))
    if not paths:
        paths = sorted(corpus.build(ROOT / "corpus")["camera"].glob("*.jpg"))[:8]
    return [path.read_bytes() for path in paths]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(pool: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A server on a free port; ``pool`` "threads" is `blueheart serve`, "processes" the same
    app with a process pool of as many workers."""
    port = free_port()
    if pool == "threads":
        command = [sys.executable, "-m", "blueheart", "serve", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "benchmarks.web", "--serve-processes", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield port, process
    finally:
        process.terminate()
        process.wait(10)


def serve_processes(port: int) -> None:
    """The service with its work on a process pool (for the comparison only)."""
    from concurrent.futures import ProcessPoolExecutor

    import uvicorn

    from blueheart.web import Campaign, ServiceSettings, create_app

    settings = ServiceSettings()
    with ProcessPoolExecutor(settings.workers) as processes:
        app = create_app(Campaign(), settings, executor=processes)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def post(connection: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, float]:
    """Status and Retry-After (0 if none) of one POST on a kept-alive connection."""
    connection.request("POST", path, body=body, headers={"Content-Type": "image/jpeg"})
    answer = connection.getresponse()
    answer.read()
    return answer.status, float(answer.getheader("Retry-After") or 0)


def latencies(port: int, path: str, data: list[bytes], repeat: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    post(connection, path, data[0])  # warm: first import and emblem render
    seconds = []
    for _ in range(repeat):
        for body in data:
            started = time.perf_counter()
            status, _ = post(connection, path, body)
            seconds.append(time.perf_counter() - started)
            assert status == 200, status
    connection.close()
    return seconds


@dataclass
class Load:
    seconds: float
    done: int
    busy: int
    errors: int


def load(port: int, data: list[bytes], clients: int, uploads: int) -> Load:
    """``clients`` threads, each posting ``uploads`` photos one after the other; a 503 waits
    its Retry-After and tries again."""
    counts = {"done": 0, "busy": 0, "errors": 0}
    lock = threading.Lock()

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for upload in range(uploads):
            body = data[(index + upload) % len(data)]
            while True:
                status, retry_after = post(connection, f"/api/badge?{AVATAR}", body)
                with lock:
                    key = "done" if status == 200 else "busy" if status == 503 else "errors"
                    counts[key] += 1
                if status != 503:
                    break
                time.sleep(retry_after)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(time.perf_counter() - started, counts["done"], counts["busy"], counts["errors"])


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def peak_rss_mb(process: subprocess.Popen[bytes]) -> float:
    """VmHWM of the server and of every process it started, in MB."""
    return sum(_status_kb(pid, "VmHWM:") for pid in _tree(process.pid)) / 1024


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU time of the server and the processes it started so far."""
    total = 0.0
    for pid in _tree(process.pid):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def batch_run(data: list[bytes], count: int) -> tuple[float, float]:
    """Wall and CPU seconds of `blueheart batch -j 2` on ``count`` photos (the same ones,
    hard-linked), with the web's options for a crop."""
    with tempfile.TemporaryDirectory() as folder:
        source, originals = Path(folder) / "in", Path(folder) / "originals"
        source.mkdir()
        originals.mkdir()
        for index, body in enumerate(data):
            (originals / f"{index}.jpg").write_bytes(body)
        for index in range(count):
            os.link(originals / f"{index % len(data)}.jpg", source / f"{index:04}.jpg")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "blueheart", "batch", str(source), str(Path(folder) / "out"),
             "-j", "2", "--crop", "square", "--output-size", "1080"],
            check=True, capture_output=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve-processes", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.serve_processes:
        serve_processes(arguments.serve_processes)
        return
    data = photos()
    rounds = 1 if arguments.quick else 3
    clients, uploads = 16, 10
    total = clients * uploads
    print(f"{len(data)} photos of 12 MP, {os.cpu_count()} cores, {rounds} round(s), alternated")
    seconds: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for pool in POOLS:
            with server(pool) as (port, _):
                for label, path in ENDPOINTS.items():
                    seconds.setdefault((pool, label), []).extend(latencies(port, path, data, 1))
    for (pool, label), values in seconds.items():
        print(
            f"{pool:>9} {label:>16}: p50 {percentile(values, 0.5) * 1000:4.0f} ms, "
            f"p95 {percentile(values, 0.95) * 1000:4.0f} ms ({len(values)} requests)"
        )
    print(f"\nload: {clients} clients x {uploads} uploads ({AVATAR}: 1080 px JPEG), "
          f"against blueheart batch -j 2 on the same {total} photos")  # fmt: skip
    for _ in range(rounds):
        elapsed, cpu = batch_run(data, total)
        print(f"{'batch -j 2':>24}: {elapsed:5.1f} s, {total / elapsed:4.1f} photos/s, "
              f"CPU {cpu / total * 1000:3.0f} ms a photo")  # fmt: skip
        for pool in POOLS:
            for count in (clients, 4) if _ == 0 else (clients,):
                with server(pool) as (port, process):
                    post(http.client.HTTPConnection("127.0.0.1", port), f"/api/badge?{AVATAR}",
                         data[0])  # fmt: skip
                    cpu_before = cpu_seconds(process)
                    outcome = load(port, data, count, uploads)
                    cpu = cpu_seconds(process) - cpu_before
                    rss = peak_rss_mb(process)
                print(
                    f"{pool:>9} {count:>2} clients x {uploads}: {outcome.seconds:5.1f} s, "
                    f"{outcome.done / outcome.seconds:4.1f} photos/s, "
                    f"CPU {cpu / outcome.done * 1000:3.0f} ms a photo, "
                    f"{outcome.busy} answered 503, {outcome.errors} errors, peak RSS {rss:.0f} MB"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
