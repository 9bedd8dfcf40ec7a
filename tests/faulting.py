"""The fault-injection harness: runs a blueheart command with its Nth file-system operation
failing (or the power going after its Nth change), then checks every promise the contract
makes about what is left: messages, exit codes, inputs, outputs, the report, a clean re-run.

The layer itself is ``tests/faults/blueheart_faults.py``, loaded into the command's
processes by ``tests/faults/sitecustomize.py``. Each run is a process in its own session
(a crash kills its whole group), under a time limit, in a folder rebuilt from a pristine
copy; the checks return problems as sentences, so that a sweep reports all it found.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from faults.blueheart_faults import CHANGING  # (importing it installs nothing)
from helpers import decodes_fully

from blueheart.core.formats import TEMP_SUFFIX

FAULTS = Path(__file__).parent / "faults"
TIMEOUT_S = 120
HUNG = -999
"""The exit code the fork server gives a command it killed after ``TIMEOUT_S``."""
ERRNOS = ("EIO", "ENOSPC", "EACCES", "ENAMETOOLONG")
"""The errors an operation may fail with; ``EINTR`` (a Ctrl-C during the call) apart."""
MESSAGE_STARTS = ("Error: ", "failed: ", "unreadable: ", "Interrupted.")
"""How every line a command writes on stderr starts (the contract: one line per error)."""
REPORT_FIELDS = {"source", "output", "status", "error"}
LIBRARY = ("call_library",)
CLI = ("blueheart",)
"""The modules a command runs (as ``python -m``), followed by its arguments."""

POINTS: dict[str, dict[str, int]] = {}
"""Per command: its fault points (all operations, changing ones) and how many were visited;
the session's summary prints it (``conftest.pytest_terminal_summary``)."""


@dataclasses.dataclass(frozen=True)
class Command:
    """A command under test: its arguments (run in the work folder), for a re-run too."""

    name: str
    argv: tuple[str, ...]
    rerun: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    """The inputs each output comes from, named by its stem (none: outputs are not per input)."""
    report: str | None = None
    cleans_up: bool = False
    parallel: bool = False
    """Whether its workers run in parallel (fault points are then per path)."""
    """Whether a run removes the temporary files a killed run left (a batch does)."""

    def source_of(self, output: str) -> str | None:
        """The input ``output`` was made from, if outputs are per input."""
        stem = Path(output).name
        return next((source for source in self.inputs if stem.startswith(Path(source).stem)), None)


@dataclasses.dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    log: list[dict[str, object]]

    @property
    def acted(self) -> bool:
        """Whether the fault (or the crash) happened in this run."""
        return any(entry["op"] in ("FAULT", "CRASH") for entry in self.log)

    def all_published(self, outputs: list[str]) -> bool:
        """Whether every one of ``outputs`` had its name (a link or rename from its temporary
        file) before the fault: nothing was left to do but the report."""
        fault = next(int(str(e["n"])) for e in self.log if e["op"] in ("FAULT", "CRASH"))
        named = {
            e["to"] for e in self.log if e["op"] in ("link", "rename") and int(str(e["n"])) < fault
        }
        return set(outputs) <= named

    def point(self) -> str:
        """The operation acted on, in words."""
        for entry in self.log:
            if entry["op"] in ("FAULT", "CRASH"):
                chosen = next(e for e in self.log if e["n"] == entry["n"] and e is not entry)
                return f"{chosen['op']} {chosen['path']}"
        return "none"


class Workspace:
    """A work folder rebuilt before each run from a pristine copy (inputs only)."""

    def __init__(self, base: Path, build: dict[str, bytes], server: ForkServer) -> None:
        self.pristine, self.root, self.state = base / "pristine", base / "work", base / "state"
        self.server = server
        for name, data in build.items():
            (self.pristine / name).parent.mkdir(parents=True, exist_ok=True)
            (self.pristine / name).write_bytes(data)
        self.digests = tree_digests(self.pristine)
        self.reset()

    def reset(self) -> None:
        """The work folder as it was before any run."""
        if self.root.exists():
            shutil.rmtree(self.root)
        shutil.copytree(self.pristine, self.root, symlinks=True)

    def run(
        self, argv: tuple[str, ...], at: int = 0, action: str = "EIO", path: str | None = None
    ) -> Run:
        """``argv`` under the layer: the ``at``th operation (on ``path``, if given) meets
        ``action`` (0: none)."""
        self.reset_state()
        done = self.server.run(argv, self.root, fault_environment(self, at, action, path))
        return self.read_log(done)

    def run_as_process(self, argv: tuple[str, ...]) -> Run:
        """``argv`` as a fresh ``python -m`` under the layer (loaded by ``sitecustomize``),
        counting only: what the fork server's runs are measured against."""
        self.reset_state()
        done = subprocess.run(
            [sys.executable, "-m", *argv], cwd=self.root, capture_output=True, text=True,
            env={**clean_environment(), **fault_environment(self, 0, "EIO")}, timeout=TIMEOUT_S,
            check=False, start_new_session=True,
        )  # fmt: skip
        return self.read_log((done.returncode, done.stdout, done.stderr))

    def reset_state(self) -> None:
        """An empty state folder for the layer's counter and log."""
        if self.state.exists():
            shutil.rmtree(self.state)
        self.state.mkdir()

    def read_log(self, done: tuple[int, str, str]) -> Run:
        """The run that ended as ``done`` (exit code, stdout, stderr), with its log."""
        log_path = self.state / "log"
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        entries = [json.loads(line) for line in lines]
        for entry in entries:  # names as the command shows them: relative to the work folder
            for key in ("path", "to"):
                if entry.get(key) == str(self.root):
                    entry[key] = "."
                elif isinstance(entry.get(key), str):
                    entry[key] = entry[key].removeprefix(f"{self.root}{os.sep}")
        return Run(done[0], done[1], done[2], entries)

    def run_clean(self, argv: tuple[str, ...]) -> tuple[int, str, str]:
        """``argv`` without the layer, in the work folder: exit code, stdout, stderr."""
        return self.server.run(argv, self.root, {})


def fault_environment(
    workspace: Workspace, at: int, action: str, path: str | None = None
) -> dict[str, str]:
    """What tells the layer where to count and what to do (``blueheart_faults``)."""
    return {
        "BLUEHEART_FAULT_PATH": path or "",
        "BLUEHEART_FAULT_STATE": str(workspace.state),
        "BLUEHEART_FAULT_ROOT": str(workspace.root),
        "BLUEHEART_FAULT_AT": str(at),
        "BLUEHEART_FAULT_ERRNO": action,
    }


def clean_environment() -> dict[str, str]:
    """This environment, with the layer's folder on ``PYTHONPATH`` (inactive until told)."""
    paths = [str(FAULTS), os.environ.get("PYTHONPATH", "")]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("BLUEHEART_FAULT")
    }
    return {**environment, "PYTHONPATH": os.pathsep.join(filter(None, paths))}


class ForkServer:
    """``faults/forkserver.py``: commands run as forks of one process that imported blueheart
    once (a tenth of the time of a fresh ``python -m``), each in its own session."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.process = subprocess.Popen(
            [sys.executable, "-m", "forkserver", str(TIMEOUT_S)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_environment(),
        )  # fmt: skip

    def run(self, argv: tuple[str, ...], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
        """Run ``argv`` (a module, then its arguments) in ``cwd`` with ``env`` added."""
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {"module": argv[0], "argv": list(argv[1:]), "cwd": str(cwd), "env": env,
                   "out": str(out), "err": str(err)}  # fmt: skip
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()  # the server's own time limit bounds this
        assert answer, "the fork server died"
        returncode = json.loads(answer)["returncode"]
        stderr = err.read_text(errors="replace")
        if returncode == HUNG:
            stderr += f"\n(harness: killed after {TIMEOUT_S} s)"
        return returncode, out.read_text(errors="replace"), stderr

    def close(self) -> None:
        """End the server."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tree_digests(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every regular file under ``root``."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def new_images(workspace: Workspace, report: str | None) -> list[str]:
    """Files a clean run made: the outputs (hidden files and the report left out)."""
    return sorted(
        name
        for name in tree_digests(workspace.root)
        if name not in workspace.digests and not Path(name).name.startswith(".") and name != report
    )


# -- the checks ------------------------------------------------------------------------------


def check_messages(run: Run) -> list[str]:
    """No traceback; every line on stderr is one of the contract's one-line messages."""
    problems = []
    if "Traceback" in run.stderr:
        last = run.stderr.strip().splitlines()[-1]
        problems.append(f"traceback on stderr: {last}")
    else:
        problems += [
            f"stray stderr line: {line!r}"
            for line in run.stderr.splitlines()
            if line.strip() and not line.startswith(MESSAGE_STARTS)
        ]
    return problems


def check_exit(run: Run, action: str, outputs: list[str], *, refused: bool = False) -> list[str]:
    """The documented exit code: 130 after a Ctrl-C, else 0 or 1 (an I/O error is 1); 2 for
    a run ``refused`` before any work (a DEST that cannot be made or locked, say: one
    "Error: " line, nothing written)."""
    if run.returncode == HUNG:
        return ["hung: killed by the harness"]
    if not run.acted:
        return [] if run.returncode == 0 else [f"exit {run.returncode} without a fault"]
    allowed = {130} if action == "EINTR" else {0, 1}
    if refused and action != "EINTR":
        allowed.add(2)
    if action == "EINTR" and run.all_published(outputs):
        allowed.add(0)  # a Ctrl-C once every photo is written interrupts nothing
    if run.returncode in allowed:
        return []
    return [f"exit {run.returncode}, expected {' or '.join(map(str, sorted(allowed)))}"]


def check_inputs(workspace: Workspace) -> list[str]:
    """Every input byte for byte as it was."""
    now = tree_digests(workspace.root)
    return [
        f"input changed or gone: {name}"
        for name, digest in workspace.digests.items()
        if now.get(name) != digest
    ]


def temp_files(root: Path) -> list[str]:
    """Hidden temporary files under ``root``."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob(f".*{TEMP_SUFFIX}")
        if path.name.startswith(".")
    )


def check_outputs(
    workspace: Workspace, outputs: list[str], run: Run, command: Command, *, refused: bool = False
) -> list[str]:
    """Outputs that exist decode fully; a failed input is named on stderr, unless the run was
    ``refused`` before any work (its one line says why: no input was tried); exit 0: all
    there."""
    problems = []
    for name in outputs:
        path = workspace.root / name
        if path.exists() and not decodes_fully(path):
            problems.append(
                f"output exists but does not decode: {name} ({path.stat().st_size} bytes)"
            )
        if not path.exists() and run.returncode == 0:
            problems.append(f"exit 0 but output missing: {name}")
        source = command.source_of(name)
        # (after a traceback, which names nothing, this would only repeat it)
        named = source is None or source in run.stderr or name in run.stderr
        # A folder that could not be read is named; the files in it were never seen.
        named = named or any(f"{folder}: cannot read" in run.stderr for folder in _folders(source))
        named = named or "Traceback" in run.stderr
        if not named and not refused and not path.exists() and run.returncode == 1:
            problems.append(f"failed input not named on stderr: {source}")
    if run.returncode == 1 and not run.stderr.strip():
        problems.append("exit 1 with nothing on stderr")
    return problems


def _folders(path: str | None) -> list[str]:
    """The folders holding ``path`` (relative), innermost first."""
    return [str(folder) for folder in Path(path).parents if str(folder) != "."] if path else []


def refused_before_work(workspace: Workspace, run: Run) -> bool:
    """Whether ``run`` stopped before any work: one "Error: " line, and nothing written (every
    name in the work folder as it was before the run)."""
    lines = run.stderr.splitlines()
    unchanged = names_in(workspace.root) == names_in(workspace.pristine)
    return len(lines) == 1 and lines[0].startswith("Error: ") and unchanged


def check_report(workspace: Workspace, command: Command, *, required: bool) -> list[str]:
    """The report, where asked for: valid JSON of the contract's shape, or absent (not if
    ``required``); each "ok" output in it decodes."""
    if command.report is None:
        return []
    path = workspace.root / command.report
    if not path.exists():
        return ["report missing after exit 0"] if required else []
    try:
        report = json.loads(path.read_bytes())
        results, counts = report["results"], report["counts"]
        assert all(set(result) >= REPORT_FIELDS for result in results), "fields missing"
        tally = {status: 0 for status in ("ok", "skipped", "failed")}
        for result in results:
            tally[result["status"]] += 1
        assert {key: counts[key] for key in tally} == tally, f"counts {counts}, results {tally}"
    except (ValueError, KeyError, TypeError, AssertionError) as error:
        return [f"report invalid ({path.stat().st_size} bytes): {error}"]
    return [
        f"report says ok but the output does not decode: {result['output']}"
        for result in results
        if result["status"] == "ok" and not decodes_fully(workspace.root / result["output"])
    ]


def check_after(workspace: Workspace, command: Command, outputs: list[str], run: Run,
                action: str) -> list[str]:  # fmt: skip
    """Everything a faulted run must leave true."""
    refused = refused_before_work(workspace, run)
    problems = check_messages(run) + check_exit(run, action, outputs, refused=refused)
    problems += check_inputs(workspace)
    problems += [f"temporary file left: {name}" for name in temp_files(workspace.root)]
    problems += check_outputs(workspace, outputs, run, command, refused=refused)
    return problems + check_report(workspace, command, required=run.returncode == 0)


def check_rerun(workspace: Workspace, command: Command, outputs: list[str]) -> list[str]:
    """A re-run without faults completes, and leaves every output whole."""
    returncode, _, stderr = workspace.run_clean(command.rerun)
    problems = []
    if returncode != 0:
        last = (stderr.strip().splitlines() or [""])[-1]
        problems.append(f"re-run exit {returncode}: {last}")
    problems += [
        f"after the re-run, output {'invalid' if (workspace.root / name).exists() else 'missing'}: {name}"
        for name in outputs
        if not decodes_fully(workspace.root / name)
    ]
    if command.cleans_up:
        problems += [f"re-run left a temporary file: {n}" for n in temp_files(workspace.root)]
    return problems + check_report(workspace, command, required=True)


# -- sweeps ----------------------------------------------------------------------------------


Point = tuple[int, "str | None"]
"""Where a fault lands: the Nth operation of the run, or (with a path) the Nth on that path."""


def baseline(workspace: Workspace, command: Command) -> tuple[list[str], list[Point], int]:
    """A run without faults: its outputs, its fault points, and how many changing operations
    it makes. A command whose workers run in parallel gets points by path (the Nth
    operation on each file): the same whatever order the workers take."""
    workspace.reset()
    run = workspace.run(command.argv)
    assert run.returncode == 0, f"{command.name}: the clean run failed: {run.stderr}"
    outputs = new_images(workspace, command.report)
    changing = max((int(str(entry["m"])) for entry in run.log if "m" in entry), default=0)
    if not command.parallel:
        return outputs, [(at, None) for at in range(1, len(run.log) + 2)], changing
    seen: dict[str, int] = {}
    points: list[Point] = []
    for entry in run.log:
        key = str(entry["key"])
        seen[key] = seen.get(key, 0) + 1
        points.append((seen[key], key))
    return outputs, points, changing


def fault_run(workspace: Workspace, command: Command, outputs: list[str], point: Point,
              action: str) -> tuple[bool, list[str]]:  # fmt: skip
    """Whether the fault at ``point`` was reached, and the problems found after it."""
    workspace.reset()
    at, path = point
    run = workspace.run(command.argv, at, action, path)
    problems = check_after(workspace, command, outputs, run, action)
    if run.acted or problems:
        problems += check_rerun(workspace, command, outputs)
    where = (
        f"{command.name} {action} at {at if path is None else f'{at} on {path}'} ({run.point()})"
    )
    return run.acted, [f"{where}: {problem}" for problem in problems]


def sweep(workspace: Workspace, command: Command,
          choose: Callable[[list[Point]], Iterable[tuple[Point, str]]]) -> list[str]:  # fmt: skip
    """Fault each point ``choose`` picks from the command's, in turn (a run that no longer
    reaches its point has completed: the sweep ends); every problem found."""
    outputs, points, changing = baseline(workspace, command)
    problems, visited = [], 0
    for point, action in choose(points):
        reached, found = fault_run(workspace, command, outputs, point, action)
        visited += reached
        problems += found
        if not reached and point[1] is None:
            break
    record(
        command.name, points=len(points) - (point[1] is None), changing=changing, visited=visited
    )
    return problems


def every_point(
    actions: tuple[str, ...], stride: int = 1
) -> Callable[[list[Point]], Iterator[tuple[Point, str]]]:
    """Every ``stride``th point, each failing with the next of ``actions`` in turn."""

    def choose(points: list[Point]) -> Iterator[tuple[Point, str]]:
        for index in range(0, len(points), stride):
            yield points[index], actions[index % len(actions)]

    return choose


def some_points(
    count: int, actions: tuple[str, ...]
) -> Callable[[list[Point]], list[tuple[Point, str]]]:
    """``count`` points spread evenly over the run, the same ones every time."""

    def choose(points: list[Point]) -> list[tuple[Point, str]]:
        spread = sorted({len(points) * (i + 1) // (count + 1) for i in range(count)})
        return [(points[index], actions[i % len(actions)]) for i, index in enumerate(spread)]

    return choose


def record(name: str, **figures: int) -> None:
    """Add ``figures`` to the session's summary of fault points."""
    entry = POINTS.setdefault(name, {})
    for key, value in figures.items():
        added = key.endswith("visited")
        entry[key] = entry.get(key, 0) + value if added else max(entry.get(key, 0), value)


# -- crash points and power cuts -------------------------------------------------------------


@dataclasses.dataclass
class Disk:
    """What a run's log says about the folder: the names now (``current``), the names a power
    cut keeps (``durable``: made durable by an fsync of their folder), and which files' data
    was fsynced after its last write. Names map to a file's identity, or ``DIR``."""

    current: dict[str, str]
    durable: dict[str, str]
    pending: dict[str, list[tuple[str, str | None]]] = dataclasses.field(default_factory=dict)
    synced: set[str] = dataclasses.field(default_factory=set)
    made: int = 0
    keep_names: bool = False
    """The journal committed every name change (ext4 does, within seconds), fsync or not."""

    def enter(self, name: str, identity: str | None) -> None:
        """A name made (or, with None, removed): now at once, durable at its folder's fsync."""
        if identity is None:
            self.current.pop(name, None)
        else:
            self.current[name] = identity
        self.pending.setdefault(str(Path(name).parent), []).append((name, identity))
        if self.keep_names:
            self.sync_folder(str(Path(name).parent))

    def sync_folder(self, folder: str) -> None:
        """The folder's name changes so far become durable."""
        for entered, identity in self.pending.pop(folder, []):
            if identity is None:
                self.durable.pop(entered, None)
            else:
                self.durable[entered] = identity

    def replay(self, entry: dict[str, object]) -> None:
        """Apply one logged operation."""
        op, name, to = entry["op"], str(entry["path"]), entry.get("to")
        if op in ("create", "mkdir") and name not in self.current:
            self.made += 1
            self.enter(name, "DIR" if op == "mkdir" else f"new{self.made}")
        elif op in ("write", "truncate") and name in self.current:
            self.synced.discard(self.current[name])
        elif op == "fsync" and self.current.get(name) == "DIR":
            self.sync_folder(name)
        elif op == "fsync" and name in self.current:
            self.synced.add(self.current[name])
        elif op in ("link", "rename") and name in self.current:
            self.enter(str(to), self.current[name])
            if op == "rename":
                self.enter(name, None)
        elif op in ("unlink", "rmdir"):
            self.enter(name, None)


def names_in(root: Path) -> dict[str, str]:
    """Every name under ``root`` (relative; "." is ``root``) -> its identity before the run
    (``DIR`` for folders)."""
    found = {".": "DIR"}
    for path in root.rglob("*"):
        name = str(path.relative_to(root))
        found[name] = "DIR" if path.is_dir() and not path.is_symlink() else f"old:{name}"
    return found


def power_cut(root: Path, before: dict[str, str], log: list[dict[str, object]],
              *, keep_names: bool) -> None:  # fmt: skip
    """Make ``root`` what a power cut at the end of ``log`` would have left: files whose data
    was not fsynced empty (as ext4's delayed allocation left them); names not made durable by
    an fsync of their folder gone, unless ``keep_names``."""
    disk = Disk(current=dict(before), durable=dict(before), keep_names=keep_names)
    for entry in log:
        if "m" in entry:
            disk.replay(entry)
    # Where each file's data is now: an operation is logged just before it is made, so a
    # process killed in between logged a link it never made (the data is under the old name).
    where: dict[str, str] = {}
    for name, identity in disk.current.items():
        if (root / name).exists():
            where.setdefault(identity, name)
    kept: dict[str, bytes | None] = {}
    for name, identity in sorted(disk.durable.items()):
        if str(Path(name).parent) not in kept and name != ".":
            continue  # its folder itself was lost
        if identity == "DIR":
            kept[name] = None
        elif identity.startswith("old:") or identity in disk.synced:
            source = root / where.get(identity, identity.removeprefix("old:"))
            kept[name] = source.read_bytes() if source.exists() else b""
        else:
            kept[name] = b""
    shutil.rmtree(root)
    for name, data in sorted(kept.items()):
        if data is None:
            (root / name).mkdir(exist_ok=True)
        else:
            (root / name).write_bytes(data)


def crash_run(workspace: Workspace, command: Command, outputs: list[str],
              point: Point) -> tuple[bool, list[str]]:  # fmt: skip
    """Kill the run after its ``at``th changing operation (on ``path``, if given: the same
    point whatever the order of parallel workers); check what a killed run leaves, then what
    a power cut at that moment leaves. Whether the point was reached; problems."""
    at, path = point
    workspace.reset()
    before = names_in(workspace.root)
    run = workspace.run(command.argv, at, "CRASH", path)
    if not run.acted:
        return False, check_messages(run) + check_exit(run, "CRASH", outputs)
    snapshot = workspace.root.parent / "killed"
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(workspace.root, snapshot, symlinks=True)
    problems = [f"killed: {p}" for p in check_crashed(workspace, command, outputs)]
    for keep_names, cut in ((True, "power cut, names kept"), (False, "power cut, names lost")):
        shutil.rmtree(workspace.root)
        shutil.copytree(snapshot, workspace.root, symlinks=True)
        power_cut(workspace.root, before, run.log, keep_names=keep_names)
        problems += [f"{cut}: {p}" for p in check_crashed(workspace, command, outputs)]
    on = "" if path is None else f" on {path}"
    where = f"{command.name} crash after change {at}{on} ({run.point()})"
    return True, [f"{where}: {problem}" for problem in problems]


def check_crashed(workspace: Workspace, command: Command, outputs: list[str]) -> list[str]:
    """After a crash: inputs intact, outputs that exist decode, the report valid or absent,
    and a re-run completes with every output whole."""
    problems = check_inputs(workspace)
    problems += [
        f"output exists but does not decode: {name} ({(workspace.root / name).stat().st_size} bytes)"
        for name in outputs
        if (workspace.root / name).exists() and not decodes_fully(workspace.root / name)
    ]
    problems += check_report(workspace, command, required=False)
    return problems + check_rerun(workspace, command, outputs)


def crash_sweep(
    workspace: Workspace, command: Command, points: Callable[[int], Iterable[int]]
) -> list[str]:
    """Crash at each of ``points(changing operations)`` until one is past the run's end. A
    command whose workers run in parallel is crashed by path: the Nth change on one file, the
    changes ordered by file, not by time (the same points whatever the workers' order)."""
    outputs, _, changing = baseline(workspace, command)
    by_path = changes_by_path(workspace, command) if command.parallel else []
    problems, visited = [], 0
    for at in points(changing):
        if command.parallel and at > len(by_path):
            break
        point = by_path[at - 1] if command.parallel else (at, None)
        reached, found = crash_run(workspace, command, outputs, point)
        visited += reached
        problems += found
        if not reached:
            break
    record(command.name, changing=changing, crash_visited=visited)
    return problems


def changes_by_path(workspace: Workspace, command: Command) -> list[Point]:
    """The changing operations of a clean run of ``command``, each as (its number among the
    changes on its path, the path), sorted by path."""
    workspace.reset()
    run = workspace.run(command.argv)
    seen: dict[str, int] = {}
    points: list[Point] = []
    for entry in run.log:
        if entry["op"] in CHANGING:
            key = str(entry["key"])
            seen[key] = seen.get(key, 0) + 1
            points.append((seen[key], key))
    return sorted(points, key=lambda point: (str(point[1]), point[0]))


def point_of(workspace: Workspace, command: Command, op: str, path: str, nth: int = 1) -> int:
    """The number of the ``nth`` ``op`` on ``path`` in a clean run of ``command``."""
    workspace.reset()
    run = workspace.run(command.argv)
    workspace.reset()
    found = [int(str(e["n"])) for e in run.log if e["op"] == op and e["path"] == path]
    return found[nth - 1]
