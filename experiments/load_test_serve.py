"""Load test of the HTTP API: requests/s and latency percentiles per concurrency and workers.

By default it starts ``python -m anonymizer.serve`` as a subprocess on a free loopback port
for every ``--workers`` value (so the clients here do not share the server's GIL), sends
``--requests`` uploads of synthetic form pages with 1, 2, 4... concurrent clients
(``--concurrency``), and prints a markdown table. ``--url`` targets a running server
instead (its workers setting is read from ``/health``)::

    python experiments/load_test_serve.py                          # workers 1 and 2, concurrency 1,2,4
    python experiments/load_test_serve.py --workers 2 --concurrency 1,4,8 --requests 40
    python experiments/load_test_serve.py --override renderer=redact --override verify.enabled=false
    python experiments/load_test_serve.py --url http://127.0.0.1:8000 --api-key "$KEY"

Each level starts with one warm-up request (not counted). Latency is the client's time
from sending the upload to the full response; p99 of a few dozen requests is close to the
maximum. 503s (queue full) and other statuses are counted as errors.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Level:
    """The outcome of one (workers, concurrency) level."""

    workers: int
    concurrency: int
    requests: int
    ok: int
    errors: Counter
    seconds: float
    latencies: list[float]
    pages: int

    def row(self) -> str:
        lat = np.asarray(self.latencies) if self.latencies else np.asarray([float("nan")])
        p50, p90, p99 = (float(np.percentile(lat, q)) for q in (50, 90, 99))
        errors = ", ".join(f"{k}×{v}" for k, v in sorted(self.errors.items())) or "0"
        return (f"| {self.workers} | {self.concurrency} | {self.requests} | {self.ok} | {errors} | "
                f"{self.ok / self.seconds:.2f} | {self.pages / self.seconds:.2f} | {p50:.2f} | {p90:.2f} | {p99:.2f} |")


HEADER = ("| workers | concurrency | requests | ok | errors | requests/s | pages/s | p50 s | p90 s | p99 s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def synthetic_pages(n: int, seed: int) -> list[bytes]:
    """``n`` clean synthetic form pages (850×1100, US letter at 100 dpi) as PNG bytes."""
    from anonymizer.data.synth_pages import PageConfig, generate_page

    config = PageConfig(kinds={"form": 1.0, "invoice": 0.0, "letter": 0.0, "receipt": 0.0},
                        scan=PageConfig().scan.__class__(enabled=False))
    out = []
    for index in range(n):
        image, _ = generate_page(index, seed, config)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started_server(workers: int, queue_size: int, overrides: list[str], root: Path = ROOT) -> Iterator[str]:
    """``python -m anonymizer.serve`` of the checkout ``root`` on a free loopback port; yields its URL."""
    port = free_port()
    args = [sys.executable, "-m", "anonymizer.serve", f"server.port={port}", f"server.workers={workers}",
            f"server.queue_size={queue_size}", "server.access_log=false", "server.log_level=warning", *overrides]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read()[-2000:]}")
            try:
                httpx.get(f"{url}/health", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start within 180 s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_level(url: str, workers: int, concurrency: int, requests: int, pages: list[bytes],
              headers: dict[str, str], timeout: float) -> Level:
    """Send ``requests`` uploads with ``concurrency`` clients (after one warm-up request)."""
    with httpx.Client(base_url=url, timeout=timeout, headers=headers,
                      limits=httpx.Limits(max_connections=concurrency + 1)) as client:
        def post(i: int) -> tuple[int, float, int]:
            started = time.perf_counter()
            response = client.post("/anonymize", files={"file": (f"page{i}.png", pages[i % len(pages)])})
            n = response.json().get("pages", 0) if response.status_code == 200 else 0
            return response.status_code, time.perf_counter() - started, n

        warm = post(0)
        if warm[0] != 200:
            raise SystemExit(f"warm-up request failed with {warm[0]}")
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(post, range(requests)))
        seconds = time.perf_counter() - started
    ok = [r for r in results if r[0] == 200]
    return Level(workers, concurrency, requests, len(ok), Counter(r[0] for r in results if r[0] != 200),
                 seconds, [r[1] for r in ok], sum(r[2] for r in ok))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one per --workers value)")
    parser.add_argument("--workers", default="1,2", help="server.workers values to start servers with")
    parser.add_argument("--queue-size", type=int, default=16, help="server.queue_size of started servers")
    parser.add_argument("--concurrency", default="1,2,4", help="concurrent clients per level")
    parser.add_argument("--requests", type=int, default=12, help="requests per level (after one warm-up)")
    parser.add_argument("--pages", type=int, default=4, help="distinct synthetic pages sent in turn")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--override", action="append", default=[], help="a Hydra override for started servers")
    parser.add_argument("--api-key", default=None, help="sent as X-API-Key")
    parser.add_argument("--timeout", type=float, default=600.0, help="client timeout per request (s)")
    args = parser.parse_args(argv)

    concurrency = [int(c) for c in args.concurrency.split(",")]
    pages = synthetic_pages(args.pages, args.seed)
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    levels: list[Level] = []
    if args.url:
        workers = httpx.get(f"{args.url}/health", timeout=10).json()["queue"]["workers"]
        levels = [run_level(args.url, workers, c, args.requests, pages, headers, args.timeout) for c in concurrency]
        for level in levels:
            print(level.row(), flush=True)
    else:
        for workers in (int(w) for w in args.workers.split(",")):
            with started_server(workers, args.queue_size, args.override) as url:
                for c in concurrency:
                    level = run_level(url, workers, c, args.requests, pages, headers, args.timeout)
                    levels.append(level)
                    print(level.row(), flush=True)
    print()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{args.requests} requests per level, {args.pages} synthetic 850×1100 form pages (PNG) in turn; "
          f"overrides: {' '.join(args.override) or 'none'}")
    print()
    print(HEADER)
    for level in levels:
        print(level.row())


if __name__ == "__main__":
    main()
