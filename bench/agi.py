"""FastAGI throughput and latency: tvoxcc's AgiServer vs panoramisk's bare FastAGI Application.

Each server runs in its own process (so the client's CPU is not charged to it), on a free loopback port;
both run at once and the client loads them in turns, in five slices each, so a load spike falls on both.
The client opens N concurrent workers; each request = connect, the agi_* header block Asterisk sends, two
commands (SET VARIABLE, GET VARIABLE) answered like Asterisk, then waits for the server to close.
Prints requests/s and latency percentiles per server; the last line is the ratio tvoxcc/panoramisk req/s.

    .venv/bin/python bench/agi.py [--quick] [--concurrency 4] [--seconds 5]

Aim: tvoxcc serves >= 0.8x panoramisk's requests/s with a p99 <= 5 ms (--quick: 1 s per server instead
of 5); exit 1 when missed."""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from pathlib import Path

from _contract import Aim, arguments

ROOT = Path(__file__).resolve().parent.parent
HEADERS = (
    b"agi_network: yes\nagi_network_script: bench\nagi_request: agi://127.0.0.1/bench\n"
    b"agi_channel: PJSIP/bench-00000001\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1700000000.1\n"
    b"agi_version: 22.0.0\nagi_callerid: 0612345678\nagi_calleridname: Bench\nagi_callingpres: 0\n"
    b"agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: 800\nagi_rdnis: unknown\n"
    b"agi_context: tvoxcc-inbound\nagi_extension: 800\nagi_priority: 2\nagi_enhanced: 0.0\n"
    b"agi_accountcode: \nagi_threadid: 140000000000000\nagi_arg_1: acme\n\n"
)


# -- servers (run in a child process) ------------------------------------------------------
async def serve_ours(port: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tvoxcc.agi import AgiRequest, AgiServer

    async def bench(request: AgiRequest) -> None:
        await request.set_variable("X", "1")
        await request.get_variable("Y")

    server = AgiServer()
    server.add_route("bench", bench)
    await server.start("127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


async def serve_panoramisk(port: int) -> None:
    from panoramisk.fast_agi import Application

    async def bench(request: object) -> None:
        await request.send_command('SET VARIABLE X "1"')  # type: ignore[attr-defined]
        await request.send_command("GET VARIABLE Y")  # type: ignore[attr-defined]

    app = Application()
    app.add_route("bench", bench)
    server = await asyncio.start_server(app.handler, "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


# -- client ----------------------------------------------------------------------------------
async def one_request(port: int) -> float:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADERS)
    await reader.readline()
    writer.write(b"200 result=1\n")
    await reader.readline()
    writer.write(b"200 result=1 (value)\n")
    await reader.read()  # the server closes when the route returns
    writer.close()
    return time.perf_counter() - start


async def load(port: int, concurrency: int, seconds: float) -> tuple[float, list[float]]:
    """(seconds spent, each request's latency) of ``concurrency`` workers requesting for ``seconds``."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            latencies.append(await one_request(port))

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - begin, latencies


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000 if len(values) > 1 else 0.0


SLICES = 5  # the load alternates between the two servers in slices: a load spike falls on both alike


async def measure(concurrency: int, seconds: float) -> dict[str, tuple[float, float]]:
    """Both servers up at once, loaded in turns; (req/s, p99 ms) of each."""
    kinds = ("panoramisk", "tvoxcc")
    ports = {kind: free_port() for kind in kinds}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", kind, "--port", str(ports[kind]), stdout=asyncio.subprocess.PIPE
        )
        for kind in kinds
    ]
    done: dict[str, tuple[float, list[float]]] = {kind: (0.0, []) for kind in kinds}
    try:
        for proc in procs:
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), 10)  # "ready"
        for kind in kinds:
            await load(ports[kind], concurrency, 0.5)  # warm up
        for n in range(SLICES):
            for kind in kinds if n % 2 else kinds[::-1]:
                elapsed, lat = await load(ports[kind], concurrency, seconds / SLICES)
                spent, latencies = done[kind]
                done[kind] = (spent + elapsed, latencies + lat)
    finally:
        for proc in procs:
            proc.terminate()
            await proc.wait()
    figures: dict[str, tuple[float, float]] = {}
    for kind, (spent, lat) in done.items():
        rps, p50, p99 = len(lat) / spent, p(lat, 0.5), p(lat, 0.99)
        print(f"{kind:<11} {rps:9.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   ({len(lat)} requests)")
        figures[kind] = (rps, p99)
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main_async(aim: Aim, concurrency: int, seconds: float) -> None:
    print(f"FastAGI bench: {concurrency} concurrent clients, {seconds:g} s each, 2 commands per request")
    figures = await measure(concurrency, seconds)
    (base_rps, _), (ours_rps, ours_p99) = figures["panoramisk"], figures["tvoxcc"]
    aim.check(f"tvoxcc req/s {ours_rps / base_rps:.2f}x panoramisk's >= 0.80x", ours_rps >= 0.8 * base_rps)
    aim.check(f"tvoxcc p99 {ours_p99:.2f} ms <= 5 ms", ours_p99 <= 5.0)
    aim.finish("tvoxcc/panoramisk req/s", ours_rps / base_rps)


def main() -> None:
    parser = arguments(__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, help="load per server (default 5, --quick 1)")
    parser.add_argument("--serve", choices=["tvoxcc", "panoramisk"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "tvoxcc":
        asyncio.run(serve_ours(args.port))
    elif args.serve == "panoramisk":
        asyncio.run(serve_panoramisk(args.port))
    else:
        aim = Aim(__doc__, quick=args.quick)
        seconds = args.seconds if args.seconds is not None else 1.0 if args.quick else 5.0
        asyncio.run(main_async(aim, args.concurrency, seconds))


if __name__ == "__main__":
    main()
