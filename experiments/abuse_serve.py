"""The HTTP API under abuse, on loopback only: are normal requests still served?

Starts ``python -m anonymizer.serve`` (``server.workers=2``, default pipeline) on a free
loopback port. Each phase lasts ``--seconds``; throughout it one normal client uploads
synthetic 850×1100 form pages (PNG) one after another, while:

* ``baseline``: nothing else;
* ``stalled``: 10 connections from 127.0.0.2 and 10 from 127.0.0.10–19 send an upload's
  headers and first bytes, then one byte every 5 s;
* ``idle``: 30 connections from 127.0.0.3 open and send nothing;
* ``pdf``: two clients (from 127.0.0.4) upload, again and again, a PDF whose one page
  strokes 400,000 thick lines (49 KB; rendering it at 200 dpi takes about a minute on 2
  cores).

For each phase it prints what the abusive connections got (statuses; ``closed`` when the
server closed the connection without an answer, ``open`` when it was still waiting at the
end of the phase) and the normal requests' successes and latencies, as a markdown table::

    python experiments/abuse_serve.py --override io.render_timeout_s=10 --override server.upload_timeout_s=15
    python experiments/abuse_serve.py --root /path/to/other/checkout      # another version, its defaults

Everything stays on 127.0.0.0/8; every phase is bounded (connections are closed at its
end, a normal request waits at most ``--timeout`` s), so the run takes about
``4 × --seconds`` plus the server's start.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from load_test_serve import started_server, synthetic_pages  # noqa: E402 - after the sys.path setup above

from tests.crafted_files import heavy_pdf, response_status, stalled_upload  # noqa: E402 - after the sys.path setup above


class Phase:
    """One normal client uploading pages until ``seconds`` have passed."""

    def __init__(self, url: str, pages: list[bytes], seconds: float, timeout: float) -> None:
        self.url, self.pages, self.seconds, self.timeout = url, pages, seconds, timeout
        self.end = time.monotonic() + seconds
        self.statuses: Counter = Counter()
        self.latencies: list[float] = []

    def normal_client(self) -> None:
        with httpx.Client(base_url=self.url, timeout=self.timeout) as client:
            i = 0
            while time.monotonic() < self.end:
                started = time.perf_counter()
                try:
                    status = client.post("/anonymize", files={"file": (f"p{i}.png", self.pages[i % len(self.pages)])}
                                         ).status_code
                except httpx.TimeoutException:
                    status = "timeout"
                self.statuses[status] += 1
                if status == 200:
                    self.latencies.append(time.perf_counter() - started)
                i += 1

    def row(self, name: str, abuse: str, outcomes: Counter) -> str:
        lat = np.asarray(self.latencies) if self.latencies else np.asarray([float("nan")])
        shown = ", ".join(f"{k}×{v}" for k, v in sorted(outcomes.items(), key=str)) or "-"
        normal = ", ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items(), key=str))
        return (f"| {name} | {abuse} | {shown} | {self.statuses[200]}/{sum(self.statuses.values())} ({normal}) | "
                f"{np.percentile(lat, 50):.2f} | {lat.max():.2f} |")


def stalled(host: str, port: int, source: str, end: float, outcomes: Counter, lock: threading.Lock) -> None:
    """An upload that sends one byte every 5 s until answered, closed or the phase ends."""
    try:
        sock = stalled_upload(host, port, source)
    except OSError as err:
        outcome = f"connect failed ({err.strerror})"
    else:
        outcome = "open"
        with sock:
            while time.monotonic() < end:
                try:
                    status = response_status(sock, min(5.0, max(0.1, end - time.monotonic())))
                except TimeoutError:
                    try:
                        sock.sendall(b"\x00")
                    except OSError:
                        outcome = "closed"
                        break
                    continue
                except OSError:
                    outcome = "closed"
                    break
                outcome = "closed" if status is None else status
                break
    with lock:
        outcomes[outcome] += 1


def idle(host: str, port: int, end: float, outcomes: Counter, lock: threading.Lock) -> None:
    """A connection that sends nothing."""
    with socket.create_connection((host, port), timeout=30, source_address=("127.0.0.3", 0)) as sock:
        try:
            status = response_status(sock, max(0.1, end - time.monotonic()))
            outcome = "closed" if status is None else status
        except TimeoutError:
            outcome = "open"
        except OSError:
            outcome = "closed"
    with lock:
        outcomes[outcome] += 1


def pdf_client(url: str, pdf: bytes, end: float, outcomes: Counter, lock: threading.Lock) -> None:
    """Uploads ``pdf`` again and again from 127.0.0.4 until the phase ends."""
    with httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.4")) as client:
        while time.monotonic() < end:
            try:
                status = client.post("/anonymize", files={"file": ("drawing.pdf", pdf)},
                                     timeout=max(1.0, end - time.monotonic())).status_code
            except httpx.TimeoutException:
                status = "no answer"
            with lock:
                outcomes[status] += 1


def run_phase(name: str, url: str, pages: list[bytes], seconds: float, timeout: float) -> str:
    host, port = urlsplit(url).hostname, urlsplit(url).port
    phase = Phase(url, pages, seconds, timeout)
    outcomes: Counter = Counter()
    lock = threading.Lock()
    tasks, abuse = [], "none"
    if name == "stalled":
        sources = ["127.0.0.2"] * 10 + [f"127.0.0.{i}" for i in range(10, 20)]
        tasks = [lambda s=s: stalled(host, port, s, phase.end, outcomes, lock) for s in sources]
        abuse = "20 uploads sending 1 byte / 5 s (10 from one address, 10 from 10 others)"
    elif name == "idle":
        tasks = [lambda: idle(host, port, phase.end, outcomes, lock) for _ in range(30)]
        abuse = "30 connections sending nothing"
    elif name == "pdf":
        pdf = heavy_pdf(400_000)
        tasks = [lambda: pdf_client(url, pdf, phase.end, outcomes, lock) for _ in range(2)]
        abuse = f"2 clients uploading a {len(pdf) // 1024} KB PDF that renders for minutes"
    with ThreadPoolExecutor(len(tasks) + 1) as pool:
        futures = [pool.submit(task) for task in tasks]
        time.sleep(0.5 if tasks else 0)  # the abuse first
        normal = pool.submit(phase.normal_client)
        for future in [*futures, normal]:
            future.result()
    return phase.row(name, abuse, outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--timeout", type=float, default=60.0, help="a normal request's client timeout (s)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server runs")
    parser.add_argument("--override", action="append", default=[], help="a Hydra override for the server")
    args = parser.parse_args()
    pages = synthetic_pages(4, 21)
    rows = []
    with started_server(2, 8, args.override, root=args.root.resolve()) as url:
        for name in ("baseline", "stalled", "idle", "pdf"):
            rows.append(run_phase(name, url, pages, args.seconds, args.timeout))
            print(rows[-1], flush=True)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; code: "
          f"{args.root}; server.workers=2, queue_size=8; overrides: {' '.join(args.override) or 'none'}; "
          f"{args.seconds:g} s per phase")
    print()
    print("| phase | abuse | abusive connections got | normal requests: 200 / sent | normal p50 s | normal max s |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
