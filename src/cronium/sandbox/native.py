"""``native``: each script in its own Linux namespaces and cgroup, with no daemon.

bubblewrap builds the sandbox: new user, PID, mount, network, IPC, UTS and cgroup namespaces;
a root file system made of the host's ``/usr`` bound read-only, a minimal ``/etc`` with the
sandbox user, tmpfs ``/tmp`` (100 MB) and ``/workspace`` (500 MB), the rest read-only; uid and
gid 1000 inside, and outside a uid and gid of the run's own (see cronium.sandbox.host), no
capabilities, no-new-privileges and a seccomp filter. Nothing of ``/root``, ``/home``,
``/var``, the worker's files or its environment is visible; what Docker masks in ``/proc`` is
masked here too, and bubblewrap takes its arguments from a pipe, so that the sandbox's first
process shows no host path in its command line.

The worker prepares a fresh cgroup for the run (memory without swap, CPU quota, process limit),
and the sandbox's first process joins it before the script starts: bubblewrap reports its pid
on ``--info-fd`` and waits on ``--block-fd`` until the worker has moved it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cronium.domain.event import Language
from cronium.errors import SandboxError, SandboxStartError, SandboxUnavailableError
from cronium.images import NOT_SHIPPED, helpers_source
from cronium.sandbox import cgroups
from cronium.sandbox.host import StateDir, UidRange
from cronium.sandbox.process import (
    Outcome,
    OutputPump,
    OwnedPipes,
    owner_gone,
    process_key,
    supervise,
)
from cronium.sandbox.seccomp import filter_for_this_machine
from cronium.sandbox.spec import (
    BASH_HELPERS_LINK,
    HELPERS_DIR,
    NODE_MODULES,
    RUNTIME_SOCKET,
    SANDBOX_GID,
    SANDBOX_UID,
    SECRETS_DIR,
    TOKEN_FILE,
    IsolatedBackend,
    OutputLine,
    OutputSink,
    SandboxResult,
    SandboxSpec,
    group_of,
    passwd_of,
)

log = logging.getLogger(__name__)

INTERPRETERS = {
    Language.BASH: Path("/usr/bin/bash"),
    Language.PYTHON: Path("/usr/bin/python3"),
    Language.NODE: Path("/usr/bin/node"),
}
INSTALL_HINTS = {Language.BASH: "bash", Language.PYTHON: "python3", Language.NODE: "nodejs"}
SCRIPT_DIR = "/run/cronium"
INPUT_FILE = f"{SCRIPT_DIR}/input.json"
TMP_SIZE = 100 * 1024 * 1024
WORKSPACE_SIZE = 500 * 1024 * 1024
MERGED_USR = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
# What the sandbox's /etc holds of the host's: dynamic linker cache, alternatives' symlinks,
# time zone, name service switch, public CA certificates. Never /etc/ssl/private and the like.
HOST_ETC = ("ld.so.cache", "alternatives", "localtime", "nsswitch.conf", "ssl/certs",
            "ssl/openssl.cnf", "ca-certificates.conf")  # fmt: skip
EGRESS_ETC = ("resolv.conf", "gai.conf", "host.conf")
HOSTNAME = "sandbox"
# What Docker masks in /proc: files read as nothing, directories empty (those this kernel has).
MASKED_PROC_FILES = ("asound", "config.gz", "interrupts", "iomem", "kcore", "keys", "kallsyms",
                     "kmsg", "latency_stats", "partitions", "sched_debug", "sysrq-trigger",
                     "timer_list", "timer_stats")  # fmt: skip
MASKED_PROC_DIRS = ("acpi", "scsi", "asound", "driver", "fs", "irq", "bus", "tty")
DEV_SIZE = 64 * 1024 * 1024
SECRETS_SIZE = 64 * 1024  # holds only the files' mount points: their data is bound in
# A minimal /dev, cheaper than bubblewrap's --dev (no pseudo-terminals: scripts get no tty).
DEVICES = (
    "--size", str(DEV_SIZE), "--perms", "0755", "--tmpfs", "/dev",
    *(arg for node in ("null", "zero", "full", "random", "urandom")
      for arg in ("--dev-bind", f"/dev/{node}", f"/dev/{node}")),
    "--perms", "1777", "--dir", "/dev/shm",
    "--symlink", "/proc/self/fd", "/dev/fd",
    "--symlink", "/proc/self/fd/0", "/dev/stdin",
    "--symlink", "/proc/self/fd/1", "/dev/stdout",
    "--symlink", "/proc/self/fd/2", "/dev/stderr",
)  # fmt: skip


class Descriptors:
    """The file descriptors of one sandbox's start, each closed exactly once.

    Closing a number twice would close whatever the process opened under it in between: the
    database's file in another thread, say.
    """

    def __init__(self) -> None:
        self._open: set[int] = set()

    def keep(self, descriptor: int) -> int:
        self._open.add(descriptor)
        return descriptor

    def close(self, descriptor: int) -> None:
        if descriptor in self._open:
            self._open.discard(descriptor)
            os.close(descriptor)

    def close_all(self) -> None:
        for descriptor in list(self._open):
            self.close(descriptor)


@dataclass(frozen=True, slots=True)
class DataFiles:
    """File descriptors whose content bubblewrap copies into the sandbox."""

    script: int
    seccomp: int
    input: int | None = None
    token: int | None = None
    secrets: tuple[tuple[str, int], ...] = ()  # (key, descriptor) of each file-mapped secret

    def descriptors(self) -> list[int]:
        """Every descriptor bubblewrap must be handed."""
        single = (self.script, self.seccomp, self.input, self.token)
        return [*(fd for fd in single if fd is not None), *(fd for _, fd in self.secrets)]


def secret_options(files: DataFiles) -> list[str]:
    """``/run/secrets``: a tmpfs only the sandbox user may read (0500), holding one read-only
    file (0400) per file-mapped secret; nothing if the run has none."""
    if not files.secrets:
        return []
    options = ["--size", str(SECRETS_SIZE), "--perms", "0500", "--tmpfs", SECRETS_DIR]
    for key, descriptor in files.secrets:
        options += ["--perms", "0400", "--ro-bind-data", str(descriptor), f"{SECRETS_DIR}/{key}"]
    return options


def root_filesystem(host_root: Path = Path("/")) -> list[str]:
    """bubblewrap arguments for the read-only system part of the root file system."""
    args = ["--ro-bind", str(host_root / "usr"), "/usr"]
    for name in MERGED_USR:
        path = host_root / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    return args


def bash_helpers_link(helpers: Path, host_root: Path = Path("/")) -> list[str]:
    """bubblewrap arguments putting the Bash helpers at /usr/local/bin/cronium.sh, over the
    host's read-only /usr, without changing the host: a tmpfs on the deepest directory on the
    way that the host has (/usr/local/bin, else /usr/local or /usr) holds its entries again
    (each symlink made anew, anything else bound read-only), the directories missing and the
    helpers' file, and is made read-only. Listed at each run: what the host installs there
    shows at the next run, as the rest of /usr does."""
    link = Path(BASH_HELPERS_LINK)
    base = link.parent
    while base != Path("/usr") and not _real_directory(host_root / base.relative_to("/")):
        base = base.parent
    missing = link.parent.relative_to(base).parts
    made = missing[0] if missing else link.name  # made below, whatever the host has there
    args = ["--perms", "0755", "--tmpfs", str(base)]
    with os.scandir(host_root / base.relative_to("/")) as entries:
        for entry in sorted(entries, key=lambda entry: entry.name):
            if entry.name == made:
                continue
            if entry.is_symlink():
                args += ["--symlink", os.readlink(entry.path), f"{base}/{entry.name}"]
            else:  # gone meanwhile: nothing to show
                args += ["--ro-bind-try", entry.path, f"{base}/{entry.name}"]
    for depth in range(1, len(missing) + 1):
        args += ["--dir", str(base.joinpath(*missing[:depth]))]
    args += ["--ro-bind", str(helpers / "bash" / "cronium.sh"), str(link)]
    return [*args, "--remount-ro", str(base)]


def _real_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def prepare_etc(target: Path, uid: int, gid: int, host_etc: Path = Path("/etc")) -> Path:
    """Write the sandbox's whole /etc into ``target`` once; it is bound read-only in one mount.

    One bind of a prepared directory costs far less than a mount per file, run after run.
    """
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    for name in HOST_ETC:
        source, copy = host_etc / name, target / name
        copy.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if source.is_symlink():
            copy.unlink(missing_ok=True)
            copy.symlink_to(os.readlink(source))
        elif source.is_dir():
            shutil.copytree(source, copy, symlinks=True, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copyfile(source, copy)
    for name, content in (
        ("passwd", passwd_of(uid, gid).encode()),
        ("group", group_of(gid).encode()),
        ("hosts", HOSTS),
        ("hostname", f"{HOSTNAME}\n".encode()),
    ):
        (target / name).write_bytes(content)
    for path in (target, *target.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def prepare_root(within: Path) -> Path:
    """A fresh directory in ``within`` with the sandbox's /etc and the runtime helpers."""
    prepared = Path(tempfile.mkdtemp(prefix=f"prepared-{process_key()}-", dir=within))
    prepared.chmod(0o755)
    prepare_etc(prepared / "etc", SANDBOX_UID, SANDBOX_GID)
    shutil.copytree(
        helpers_source(),
        prepared / "helpers",
        ignore=shutil.ignore_patterns(*NOT_SHIPPED),
    )
    compile_helpers(prepared / "helpers")
    for path in (prepared / "helpers", *(prepared / "helpers").rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return prepared


def compile_helpers(helpers: Path) -> None:
    """Byte-compile the Python helpers with the sandbox's own interpreter, once: the sandbox
    cannot write them, and compiling at each import costs about ten milliseconds a run."""
    python = INTERPRETERS[Language.PYTHON]
    if not python.exists():
        return
    # unchecked-hash: valid whatever the copies' timestamps
    command = [str(python), "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
               str(helpers / "python")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        log.warning("could not byte-compile the Python helpers: %s", done.stderr.strip())


def egress_files(host_etc: Path = Path("/etc")) -> list[str]:
    """bubblewrap arguments adding the host's resolver files over the sandbox's /etc."""
    args = []
    for name in EGRESS_ETC:
        if (host_etc / name).exists():
            args += ["--ro-bind", str(host_etc / name), f"/etc/{name}"]
    return args


def proc_masks(host_proc: Path = Path("/proc")) -> list[str]:
    """bubblewrap arguments masking what Docker masks in /proc (the entries this kernel has),
    and /proc/sys read-only."""
    args = []
    for name in MASKED_PROC_FILES:
        if (host_proc / name).is_file():
            args += ["--ro-bind", "/dev/null", f"/proc/{name}"]
    for name in MASKED_PROC_DIRS:
        if (host_proc / name).is_dir():
            args += ["--perms", "0555", "--tmpfs", f"/proc/{name}"]
    return [*args, "--ro-bind", "/proc/sys", "/proc/sys"]


def script_path(spec: SandboxSpec) -> str:
    return f"{SCRIPT_DIR}/{spec.script_name}"


def build_command(
    spec: SandboxSpec,
    *,
    files: DataFiles,
    info_fd: int,
    block_fd: int,
    system: list[str],
    prepared: Path,
    masks: list[str] = [],  # noqa: B006 (never changed)
) -> list[str]:
    """bubblewrap's options for ``spec`` (pure: tested without running it). They reach it
    through ``--args``, so that the command line seen inside the sandbox holds none of them."""
    network = ["--share-net", *egress_files()] if spec.network == "egress" else []
    data = ["--ro-bind-data", str(files.input), INPUT_FILE] if files.input is not None else []
    if files.token is not None:
        data += ["--perms", "0400", "--ro-bind-data", str(files.token), TOKEN_FILE]
    if spec.runtime_socket is not None:
        data += ["--ro-bind", str(spec.runtime_socket), RUNTIME_SOCKET]
    data += secret_options(files)
    return [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_GID),
        "--hostname", HOSTNAME,
        *system,
        "--ro-bind", str(prepared / "etc"), "/etc",
        "--ro-bind", str(prepared / "helpers"), HELPERS_DIR,
        "--symlink", f"{HELPERS_DIR}/node", NODE_MODULES,
        "--proc", "/proc",
        *masks,
        *DEVICES,
        "--size", str(TMP_SIZE), "--perms", "1777", "--tmpfs", "/tmp",
        "--size", str(WORKSPACE_SIZE), "--perms", "0755", "--tmpfs", "/workspace",
        *network,
        "--ro-bind-data", str(files.script), script_path(spec),
        *data,
        "--chdir", "/workspace",
        "--remount-ro", "/",
        "--info-fd", str(info_fd),
        "--block-fd", str(block_fd),
        "--seccomp", str(files.seccomp),
    ]  # fmt: skip


def _memfd(name: str, content: bytes) -> int:
    descriptor = os.memfd_create(name, 0)
    view = memoryview(content)
    while view:
        view = view[os.write(descriptor, view) :]
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


HOSTS = f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost ip6-localhost ip6-loopback\n".encode()


async def _read_until_closed(descriptor: int) -> bytes:
    """Everything written to a pipe until its writers close it, without a thread."""
    os.set_blocking(descriptor, False)
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    chunks: list[bytes] = []

    def readable() -> None:
        try:
            chunk = os.read(descriptor, 4096)
        except BlockingIOError:
            return
        if chunk:
            chunks.append(chunk)
        elif not closed.done():
            closed.set_result(None)

    loop.add_reader(descriptor, readable)
    try:
        await closed
    finally:
        loop.remove_reader(descriptor)
    return b"".join(chunks)


class NativeBackend(IsolatedBackend):
    """bubblewrap in a cgroup prepared by the worker. Needs root (for cgroups and run uids)."""

    name = "native"

    def __init__(
        self,
        tree: cgroups.CgroupTree | None = None,
        bwrap: str | None = None,
        *,
        state: StateDir | None = None,
        uids: UidRange | None = None,
    ) -> None:
        super().__init__(state, uids)
        self._tree = tree
        self._bwrap = bwrap
        self._masks: list[str] = []
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise SandboxUnavailableError("setpriv is not installed: apt-get install util-linux")
        self._setpriv = setpriv
        self._seccomp = b""
        self._system: list[str] = []
        self._setpriv = "setpriv"
        self._prepared = Path("/nonexistent")
        self._counter = itertools.count(1)
        self._checked = False

    @property
    def tree(self) -> cgroups.CgroupTree:
        if self._tree is None:
            self._tree = cgroups.detect()
        return self._tree

    def check(self) -> None:
        """Everything the backend needs, tried for real once: root, bubblewrap, cgroups, a run."""
        if self._checked:
            return
        if os.geteuid() != 0:
            raise SandboxUnavailableError(
                "the native backend must run as root: it creates a cgroup per sandbox and starts "
                "each sandbox as a uid of its own (run the worker as root, or use the docker"
                " backend)"
            )
        bwrap = self._bwrap or shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailableError("bubblewrap is not installed: apt-get install bubblewrap")
        self._bwrap = bwrap
        self.prepare_host()
        self._seccomp = filter_for_this_machine()
        self._system = root_filesystem()
        self._masks = proc_masks()
        self._prepared = prepare_root(self.state.shared("native"))
        self.tree.prepare()
        self._try_namespaces()
        self._checked = True

    def _try_namespaces(self) -> None:
        command = [
            str(self._bwrap), "--unshare-all", "--unshare-user", "--disable-userns",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID), *self._system_with_helpers(),
            "--ro-bind", str(self._prepared / "etc"), "/etc", "--proc", "/proc", *self._masks,
            "--", "/usr/bin/true",
        ]  # fmt: skip
        assert self._slots is not None
        with self._slots.claim(0) as ids:
            try:
                subprocess.run(
                    command, user=ids.uid, group=ids.gid, extra_groups=[self.uids.group],
                    capture_output=True, check=True, timeout=30, cwd="/",
                )  # fmt: skip
            except subprocess.CalledProcessError as exc:
                reason = exc.stderr.decode(errors="replace").strip()
                raise SandboxUnavailableError(
                    f"bubblewrap cannot create namespaces here ({reason}). Unprivileged user "
                    "namespaces must be allowed: sysctl -w kernel.unprivileged_userns_clone=1 "
                    "user.max_user_namespaces=10000 (and, on Ubuntu, "
                    "kernel.apparmor_restrict_unprivileged_userns=0)"
                ) from exc

    def _system_with_helpers(self) -> list[str]:
        """The system part of the root file system, with /usr/local/bin/cronium.sh."""
        return [*self._system, *bash_helpers_link(self._prepared / "helpers")]

    def close(self) -> None:
        """Remove this process's prepared root (a clean stop leaves no directory behind)."""
        if self._checked:
            shutil.rmtree(self._prepared, ignore_errors=True)
            self._checked = False

    def remove_leftovers(self) -> list[str]:
        """Remove the cgroups (and kill the processes) of sandboxes whose worker is gone."""
        removed = []
        for name in self.tree.names():
            owner, _, _ = name.partition("-")
            if owner_gone(owner):
                self.tree.open(name).remove()
                removed.append(name)
        for prepared in self.state.shared("native").glob("prepared-*"):
            if prepared != self._prepared and owner_gone(prepared.name.split("-")[1]):
                shutil.rmtree(prepared, ignore_errors=True)
        return removed

    async def run(
        self, spec: SandboxSpec, on_output: OutputSink, cancel: asyncio.Event | None = None
    ) -> SandboxResult:
        self.check()
        started = time.monotonic()
        interpreter = INTERPRETERS[spec.language]
        if not interpreter.exists():
            raise SandboxStartError(
                f"{interpreter} is not installed on this worker, so {spec.language} scripts "
                f"cannot run: apt-get install {INSTALL_HINTS[spec.language]}"
            )
        # Writes to cgroup files can take milliseconds in the kernel (moving a process takes a
        # global lock): they run in threads, so that the event loop goes on serving others.
        name = f"{process_key()}-{spec.execution_id}-{next(self._counter)}"
        try:
            cgroup = await asyncio.to_thread(self._limited_cgroup, name, spec)
        except (OSError, SandboxError) as exc:
            raise SandboxStartError(f"cannot set up the sandbox's cgroup: {exc}") from exc
        try:
            with self.with_ids(spec) as own:
                outcome, setup_seconds, run_seconds = await self._run_in(
                    cgroup, own, interpreter, on_output, cancel, started
                )
        finally:
            run_end = time.monotonic()
            stats = await asyncio.to_thread(_stats_and_remove, cgroup)
        return _result(outcome, stats, setup_seconds, run_seconds, time.monotonic() - run_end)

    def _limited_cgroup(self, name: str, spec: SandboxSpec) -> cgroups.Cgroup:
        cgroup = self.tree.create(name)
        try:
            cgroup.set_limits(
                cpus=spec.limits.cpus,
                memory_bytes=spec.limits.memory_mb * 1024 * 1024,
                pids=spec.limits.pids,
            )
        except BaseException:
            cgroup.remove()
            raise
        return cgroup

    async def _run_in(
        self,
        cgroup: cgroups.Cgroup,
        spec: SandboxSpec,
        interpreter: Path,
        on_output: OutputSink,
        cancel: asyncio.Event | None,
        started: float,
    ) -> tuple[Outcome, float, float]:
        early: list[str] = []

        def sink(line: OutputLine) -> None:
            if line.stream == "stderr" and len(early) < 20:
                early.append(line.text)
            on_output(line)

        with self._descriptors(spec) as (
            fds,
            files,
            info_read,
            info_write,
            block_read,
            block_write,
        ):
            options = build_command(
                spec,
                files=files,
                info_fd=info_write,
                block_fd=block_read,
                system=self._system_with_helpers(),
                prepared=self._prepared,
                masks=self._masks,
            )
            arguments = fds.keep(_memfd("arguments", b"".join(o.encode() + b"\0" for o in options)))
            passed = (info_write, block_read, arguments, *files.descriptors())
            assert spec.uid is not None
            assert spec.gid is not None
            pipes = OwnedPipes(spec.uid, spec.gid)
            # setpriv, not Popen(user=...): changing ids in the child rules out vfork, and
            # forking a big worker process costs milliseconds. The sandbox group lets
            # bubblewrap reach what it binds in the state directory.
            try:
                process = await asyncio.create_subprocess_exec(
                    self._setpriv, f"--reuid={spec.uid}", f"--regid={spec.gid}",
                    f"--groups={self.uids.group}", "--", str(self._bwrap),
                    "--args", str(arguments), "--", str(interpreter), script_path(spec),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=pipes.stdout_write,
                    stderr=pipes.stderr_write,
                    env=spec.environment(),
                    cwd="/",
                    pass_fds=passed,
                )  # fmt: skip
            except OSError as exc:
                pipes.close_all()
                raise SandboxStartError(f"cannot start bubblewrap: {exc}") from exc
            pipes.close_write_ends()
            for descriptor in passed:
                fds.close(descriptor)
            pump = OutputPump(*await pipes.readers(), spec, sink)
            child = await self._child_pid(info_read)
            if child is None:
                await process.wait()
                await pump.wait()
                raise SandboxStartError(
                    f"bubblewrap failed to start the sandbox: {' '.join(early)}"
                )

            def signal_all(signum: signal.Signals) -> None:
                if signum == signal.SIGKILL:  # the PID namespace's init takes everything with it
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
                cgroup.signal(signum)

            try:
                await asyncio.to_thread(cgroup.add_process, child)
            except OSError as exc:  # the script waits for "go": it has not started
                signal_all(signal.SIGKILL)
                await process.wait()
                await pump.wait()
                raise SandboxStartError(f"cannot limit the sandbox: {exc}") from exc
            os.write(block_write, b"go")
            setup_done = time.monotonic()

            outcome = await supervise(process, pump, spec, cancel, signal_all)
        return outcome, setup_done - started, time.monotonic() - setup_done

    @contextlib.contextmanager
    def _descriptors(
        self, spec: SandboxSpec
    ) -> Iterator[tuple[Descriptors, DataFiles, int, int, int, int]]:
        opened = Descriptors()
        keep = opened.keep
        try:
            files = DataFiles(
                script=keep(_memfd("script", spec.script.encode("utf-8"))),
                seccomp=keep(_memfd("seccomp", self._seccomp)),
                input=None
                if spec.input is None
                else keep(_memfd("input", json.dumps(spec.input).encode("utf-8"))),
                token=None if spec.token is None else keep(_memfd("token", spec.token.encode())),
                secrets=tuple(
                    (key, keep(_memfd("secret", value.encode("utf-8"))))
                    for key, value in spec.secret_files.items()
                ),
            )
            info_read, info_write = (keep(fd) for fd in os.pipe())
            block_read, block_write = (keep(fd) for fd in os.pipe())
            yield opened, files, info_read, info_write, block_read, block_write
        finally:
            opened.close_all()

    @staticmethod
    async def _child_pid(info_read: int) -> int | None:
        """The sandbox's first process, as bubblewrap reports it (None if bubblewrap failed)."""
        raw = await _read_until_closed(info_read)
        try:
            pid = json.loads(raw)["child-pid"]
        except (ValueError, KeyError):
            return None
        return int(pid)


def _stats_and_remove(cgroup: cgroups.Cgroup) -> cgroups.CgroupStats:
    stats = cgroup.stats()
    cgroup.remove()
    return stats


def _result(
    outcome: Outcome,
    stats: cgroups.CgroupStats,
    setup_seconds: float,
    run_seconds: float,
    cleanup_seconds: float,
) -> SandboxResult:
    code = outcome.returncode
    oom_killed = stats.oom_kills > 0
    # bubblewrap reports a death by signal N as exit status 128 + N, like a shell.
    killed = outcome.ending != "exited" or oom_killed
    signal_number = code - 128 if killed and code > 128 else None
    return SandboxResult(
        exit_code=None if signal_number is not None else code,
        signal=signal_number,
        timed_out=outcome.ending == "timeout",
        cancelled=outcome.ending == "cancel",
        oom_killed=oom_killed,
        peak_memory_bytes=stats.peak_memory_bytes,
        cpu_seconds=stats.cpu_seconds,
        setup_seconds=setup_seconds,
        run_seconds=run_seconds,
        cleanup_seconds=cleanup_seconds,
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
    )
