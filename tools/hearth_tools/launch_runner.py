"""Run a launch file's nodes as processes, as ``ros2 launch`` would, on a machine without ROS.

    python -m hearth_tools.launch_runner launch/hearth.launch.xml sim:=false [--duration 30]

Each ``<node>`` becomes ``<prefix>/lib/<pkg>/<exec> [args] --ros-args -r __node:=NAME
[-r __ns:=NS] --params-file F -p k:=v -r from:=to``, the package prefix found through
AMENT_PREFIX_PATH. Every process runs in its own process group with its output prefixed by a
label (``[fusion-3] ...``). Ctrl-C or SIGTERM stops them all (SIGINT to each, then SIGTERM,
then SIGKILL for one that will not stop; a second Ctrl-C kills at once).

Every node is required: when one exits on its own, the others are stopped and the runner
exits non-zero if that node's exit code was non-zero. (``ros2 launch`` keeps the others
running; for a navigation stack a missing node means a broken stack.)

Exit status: 0 when everything ran and stopped cleanly, 1 when a node failed, 2 when the
launch file or arguments are wrong.

Python API: :func:`launch` runs to the end and returns that exit status; :func:`launched`
is a context manager yielding a started :class:`LaunchSession` (tests and the demo use it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hearth_tools.launch_xml import (
    LaunchArgument,
    LaunchError,
    NodeSpec,
    find_package_prefix,
    parse_launch_file,
)

__all__ = [
    "LaunchError",
    "LaunchSession",
    "NodeProcess",
    "launch",
    "launched",
    "node_command",
    "resolve_executable",
]

# Exit codes a node may give once we asked it to stop: 0, or death by the signal we sent.
_STOPPED_CODES = (0, 128 + signal.SIGINT, 128 + signal.SIGTERM)


def resolve_executable(spec: NodeSpec) -> Path:
    """``<prefix>/lib/<pkg>/<exec>`` for the prefix that holds ``spec.package``."""
    try:
        prefix = find_package_prefix(spec.package)
    except LaunchError as exc:
        raise LaunchError(f"{spec.source}: {exc}") from None
    exe = prefix / "lib" / spec.package / spec.executable
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        raise LaunchError(
            f"{spec.source}: executable '{spec.executable}' of package '{spec.package}' "
            f"not found (or not executable) at {exe}"
        )
    return exe


def node_command(spec: NodeSpec, executable: str | os.PathLike[str]) -> list[str]:
    """The command line ``ros2 launch`` would give this node."""
    ros: list[str] = []
    if spec.name:
        ros += ["-r", f"__node:={spec.name}"]
    if spec.namespace:
        ros += ["-r", f"__ns:={spec.namespace}"]
    for path in spec.params_files:
        ros += ["--params-file", path]
    for key, value in spec.inline_params.items():
        ros += ["-p", f"{key}:={value}"]
    for src, dst in spec.remaps:
        ros += ["-r", f"{src}:={dst}"]
    return [str(executable), *spec.extra_args, *(["--ros-args", *ros] if ros else [])]


def _die_with_parent_fn():
    """A preexec_fn asking Linux to SIGTERM the child if the runner dies without stopping it.

    Linux ties this to the thread that started the child: start a session from a thread that
    outlives it (the main thread, as the CLI and tests do).
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # loaded before fork, only called after

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


@dataclass
class NodeProcess:
    """A started node: its spec, label (``fusion-3``), command line and process."""

    spec: NodeSpec
    label: str
    cmd: list[str]
    popen: subprocess.Popen | None = None
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=2000))  # recent output
    reader: threading.Thread | None = None

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                os.killpg(self.popen.pid, sig)


class LaunchSession:
    """The processes of one launch: :meth:`start`, :meth:`wait`, :meth:`stop`.

    Every executable and params file is checked before anything starts.
    """

    def __init__(
        self,
        nodes: list[NodeSpec],
        *,
        env: Mapping[str, str] | None = None,
        stream: TextIO | None = None,
        sigint_timeout_s: float = 10.0,
        sigterm_timeout_s: float = 5.0,
    ):
        self.stream = stream
        self.timeouts = (sigint_timeout_s, sigterm_timeout_s)
        self.env = dict(os.environ)
        self.env.setdefault("PYTHONUNBUFFERED", "1")  # line-by-line output through the pipe
        self.env.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "1")
        self.env.update(env or {})
        self.processes: list[NodeProcess] = []
        for i, spec in enumerate(nodes, start=1):
            exe = resolve_executable(spec)
            for path in spec.params_files:
                if not Path(path).is_file():
                    raise LaunchError(f"{spec.source}: params file not found: {path}")
            label = f"{spec.name or spec.executable}-{i}"
            self.processes.append(NodeProcess(spec, label, node_command(spec, exe)))
        self.failures: list[str] = []
        self.stopping = False
        self._stop_requested = threading.Event()
        self._result: int | None = None
        self._lock = threading.Lock()

    def log(self, message: str) -> None:
        with self._lock:
            out = self.stream or sys.stdout
            out.write(message + "\n")
            out.flush()

    # ---- start

    def start(self) -> LaunchSession:
        preexec = _die_with_parent_fn()
        for proc in self.processes:
            try:
                proc.popen = subprocess.Popen(
                    proc.cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    bufsize=1,
                    env=self.env,
                    process_group=0,
                    preexec_fn=preexec,
                )
            except OSError as exc:
                self.stop()
                raise LaunchError(f"{proc.spec.source}: cannot start {proc.cmd[0]}: {exc}") from exc
            self.log(f"[launch] {proc.label}: started, pid {proc.popen.pid}")
        # Reader threads only after every fork (preexec_fn and threads do not mix well).
        for proc in self.processes:
            proc.reader = threading.Thread(target=self._pump, args=(proc,), daemon=True)
            proc.reader.start()
        return self

    def _pump(self, proc: NodeProcess) -> None:
        assert proc.popen is not None and proc.popen.stdout is not None
        for line in proc.popen.stdout:
            line = line.rstrip("\n")
            proc.lines.append(line)
            self.log(f"[{proc.label}] {line}")

    # ---- wait and stop

    def request_stop(self) -> None:
        """Ask :meth:`wait` to return (safe from a signal handler or another thread)."""
        self._stop_requested.set()

    def wait(self, duration_s: float | None = None) -> int:
        """Run until ``duration_s`` passes, a stop is requested, or a node exits; then stop.

        Returns the exit status (0 clean, 1 a node failed).
        """
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not self._stop_requested.is_set():
            dead = [p for p in self.processes if p.returncode is not None]
            if dead:
                for p in dead:
                    self._report_unexpected_exit(p)
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.log(f"[launch] {duration_s:g} s elapsed; stopping")
                break
            self._stop_requested.wait(0.1)
        return self.stop()

    def _report_unexpected_exit(self, p: NodeProcess) -> None:
        code = p.returncode
        assert p.popen is not None
        if code == 0:
            self.log(f"[launch] {p.label} exited on its own (code 0); stopping the others")
        else:
            self.failures.append(f"{p.label} died with exit code {code}")
            self.log(
                f"[launch] {p.label} died with exit code {code} (pid {p.popen.pid}, "
                f"cmd: {' '.join(p.cmd)}); stopping the others"
            )

    def kill(self) -> None:
        """SIGKILL every process group at once."""
        for p in self.processes:
            p.signal(signal.SIGKILL)

    def stop(self) -> int:
        """Stop every process (SIGINT, then SIGTERM, then SIGKILL); returns the exit status."""
        if self._result is not None:
            return self._result
        self.stopping = True
        self._stop_requested.set()
        already_dead = {id(p) for p in self.processes if p.returncode is not None}
        steps = (
            (signal.SIGINT, self.timeouts[0]),
            (signal.SIGTERM, self.timeouts[1]),
            (signal.SIGKILL, 5.0),
        )
        for sig, timeout_s in steps:
            alive = [p for p in self.processes if p.popen is not None and p.returncode is None]
            if not alive:
                break
            if sig != signal.SIGINT:
                labels = ", ".join(p.label for p in alive)
                self.log(f"[launch] {labels} still running; sending {sig.name}")
            for p in alive:
                p.signal(sig)
            end = time.monotonic() + timeout_s
            while time.monotonic() < end and any(p.returncode is None for p in alive):
                time.sleep(0.02)
        for p in self.processes:
            if p.reader is not None:
                p.reader.join(timeout=2.0)
            code = p.returncode
            if id(p) in already_dead or p.popen is None:
                continue
            if code is None or (code > 0 and code not in _STOPPED_CODES):
                self.failures.append(f"{p.label} exited with code {code} when stopped")
        if self.failures:
            self.log("[launch] failed: " + "; ".join(self.failures))
        else:
            self.log(f"[launch] all {len(self.processes)} processes stopped cleanly")
        self._result = 1 if self.failures else 0
        return self._result

    def __enter__(self) -> LaunchSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def launched(
    file: str | os.PathLike[str],
    args: Mapping[str, str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> Iterator[LaunchSession]:
    """Start the nodes of ``file`` and yield the session; everything is stopped on exit.

    ``env`` adds to the environment of the nodes (e.g. ``{"ROS_DOMAIN_ID": "42"}``).
    """
    with LaunchSession(parse_launch_file(file, args), env=env, stream=stream) as session:
        yield session


def launch(
    file: str | os.PathLike[str],
    args: Mapping[str, str] | None = None,
    duration_s: float | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Run ``file`` until Ctrl-C/SIGTERM, ``duration_s``, or a node exits; returns 0, 1 or 2."""
    declared: dict[str, LaunchArgument] = {}
    log = stream or sys.stdout
    try:
        nodes = parse_launch_file(file, args, declared=declared)
        session = LaunchSession(nodes, env=env, stream=stream)
    except LaunchError as exc:
        print(f"[launch] error: {exc}", file=sys.stderr, flush=True)
        return 2
    for name in sorted(set(args or {}) - set(declared)):
        print(f"[launch] warning: argument '{name}' is not declared by {file} or its includes",
              file=log, flush=True)
    if not nodes:
        print("[launch] nothing to launch", file=log, flush=True)
        return 0

    def on_signal(signum: int, _frame: object) -> None:
        if session.stopping:
            session.log("[launch] second signal: killing every process")
            session.kill()
        else:
            session.log(f"[launch] {signal.Signals(signum).name} received; stopping")
            session.request_stop()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if main_thread:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        session.start()
        return session.wait(duration_s)
    except LaunchError as exc:
        print(f"[launch] error: {exc}", file=sys.stderr, flush=True)
        return 2
    finally:
        session.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _parse_assignments(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise ValueError(f"launch arguments are written name:=value, got '{item}'")
        out[name] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hearth_tools.launch_runner",
        description="Run a ROS 2 launch XML file without ROS 2 installed.",
    )
    parser.add_argument("file", help="the .launch.xml file")
    parser.add_argument("args", nargs="*", metavar="name:=value", help="launch arguments")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop everything cleanly after this many seconds")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each node's command line and exit")
    parser.add_argument("--show-args", action="store_true",
                        help="list the launch arguments the file declares and exit")
    ns = parser.parse_intermixed_args(argv)
    try:
        args = _parse_assignments(ns.args)
    except ValueError as exc:
        parser.error(str(exc))
    if ns.show_args or ns.dry_run:
        declared: dict[str, LaunchArgument] = {}
        try:
            nodes = parse_launch_file(ns.file, args, declared=declared)
            if ns.dry_run:
                for spec in nodes:
                    print(" ".join(node_command(spec, resolve_executable(spec))))
        except LaunchError as exc:
            print(f"[launch] error: {exc}", file=sys.stderr)
            return 2
        if ns.show_args:
            for a in declared.values():
                default = "(required)" if a.default is None else f"default: '{a.default}'"
                print(f"'{a.name}': {a.description}\n    {default}")
        return 0
    return launch(ns.file, args, ns.duration)


if __name__ == "__main__":
    sys.exit(main())
