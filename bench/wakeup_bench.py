"""What waking an idle core costs on this machine: loopback TCP round trips between a process on
core 0 and one on core 1, back to back and after pauses of 1, 5 and 50 ms.

A gateway whose upstream takes 50 ms sleeps through the wait, and so does the core it runs on;
this measures that platform cost apart from any gateway (see docs/performance.md, "One caller on
the 50 ms upstream"). Bounded: 300 round trips per pause (100 for 50 ms), loopback only.

    .venv/bin/python bench/wakeup_bench.py
"""

from __future__ import annotations

import os
import socket
import time

PAUSES_MS = (0, 1, 5, 50)


def _echo(listener: socket.socket) -> None:
    os.sched_setaffinity(0, {0})
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while data := conn.recv(64):
        conn.sendall(data)


def main() -> None:
    if len(os.sched_getaffinity(0)) < 2 and os.cpu_count() == 1:
        raise SystemExit("needs two cores")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    child = os.fork()
    if child == 0:
        _echo(listener)
        os._exit(0)
    os.sched_setaffinity(0, {1})
    conn = socket.create_connection(listener.getsockname())
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("pause    round trip p50   p90   (µs, core 1 -> core 0 -> core 1)")
    for pause_ms in PAUSES_MS:
        rtts: list[float] = []
        for _ in range(100 if pause_ms >= 50 else 300):
            if pause_ms:
                time.sleep(pause_ms / 1000)
            started = time.perf_counter()
            conn.sendall(b"x")
            conn.recv(64)
            rtts.append((time.perf_counter() - started) * 1e6)
        rtts.sort()
        p50, p90 = rtts[len(rtts) // 2], rtts[int(len(rtts) * 0.9)]
        print(f"{pause_ms:>3} ms   {p50:14.0f} {p90:5.0f}")
    conn.close()
    os.waitpid(child, 0)


if __name__ == "__main__":
    main()
