"""What every sandbox backend promises (docs/sandbox.md), proven on each real backend."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from cronium.domain.event import Language
from cronium.errors import SandboxStartError
from cronium.sandbox.spec import SandboxBackend
from tests.contract.conftest import run
from tests.polling import until
from tests.processes import sandbox_processes

MB = 1024 * 1024


@pytest.mark.parametrize("code", [0, 1, 42])
async def test_exit_codes_propagate(backend: SandboxBackend, code: int) -> None:
    done = await run(backend, f"exit {code}")
    assert done.result.exit_code == code
    assert done.result.signal is None
    assert not done.result.timed_out
    assert not done.result.oom_killed
    assert not done.result.cancelled


async def test_stdout_and_stderr_are_kept_apart(backend: SandboxBackend) -> None:
    done = await run(backend, "echo one; echo two >&2; echo three")
    assert done.out("stdout") == ["one", "three"]
    assert done.out("stderr") == ["two"]


@pytest.mark.parametrize(
    ("language", "script"),
    [
        (Language.PYTHON, "import sys; print(sys.version_info[0]); sys.exit(3)"),
        (Language.NODE, "console.log(1 + 2); process.exit(3)"),
    ],
)
async def test_python_and_node_run(
    backend: SandboxBackend, language: Language, script: str
) -> None:
    done = await run(backend, script, language)
    assert (done.result.exit_code, done.out()) == (3, ["3"]), done.stderr


async def test_dev_stdout_and_dev_stderr_can_be_written(backend: SandboxBackend) -> None:
    done = await run(backend, "echo to-out > /dev/stdout; echo to-err > /dev/stderr")
    assert (done.out("stdout"), done.out("stderr")) == (["to-out"], ["to-err"])


async def test_it_runs_as_cronium_with_no_capabilities_and_no_new_privileges(
    backend: SandboxBackend,
) -> None:
    """uid 1000 inside a native sandbox; in a container, the run's own host uid (from the
    range no host account has), named cronium all the same."""
    done = await run(
        backend,
        "id -un; id -u; id -g; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status",
    )
    name, uid, gid = done.out()[:3]
    assert name == "cronium"
    assert uid == gid
    assert int(uid) == 1000 or 2_100_000_000 < int(uid) < 2_100_065_536
    status = dict(line.split(":\t") for line in done.out()[3:])
    assert status == {"CapEff": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1"}


async def test_a_seccomp_filter_is_applied(backend: SandboxBackend) -> None:
    done = await run(backend, "grep '^Seccomp:' /proc/self/status")
    assert done.out() == ["Seccomp:\t2"]


async def test_the_script_comes_as_a_file_and_stdin_is_closed(backend: SandboxBackend) -> None:
    done = await run(backend, 'echo "$0"; if read -r line; then echo got; else echo eof; fi')
    assert done.out()[0].endswith(".sh")
    assert done.out()[1] == "eof"


async def test_the_root_file_system_is_read_only(backend: SandboxBackend) -> None:
    done = await run(backend, "touch /cronium-test || exit 9; echo wrote")
    assert done.result.exit_code == 9
    assert "Read-only file system" in done.stderr


async def test_tmp_fills_at_100_mb(backend: SandboxBackend) -> None:
    done = await run(
        backend,
        "dd if=/dev/zero of=/tmp/fill bs=1M count=150 2>&1; stat -c %s /tmp/fill; stat -c %a /tmp",
    )
    assert "No space left on device" in done.stdout
    size = int(done.out()[-2])
    assert 95 * MB <= size <= 100 * MB
    assert done.out()[-1] == "1777"


async def test_workspace_is_the_working_directory_and_fills_at_500_mb(
    backend: SandboxBackend,
) -> None:
    done = await run(
        backend,
        "pwd; dd if=/dev/zero of=fill bs=1M count=600 2>&1; stat -c %s fill",
        memory_mb=2048,
        timeout_seconds=60,
    )
    assert done.out()[0] == "/workspace"
    assert "No space left on device" in done.stdout
    assert 490 * MB <= int(done.out()[-1]) <= 500 * MB


async def test_there_is_no_network_but_loopback(backend: SandboxBackend) -> None:
    done = await run(backend, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert done.out() == ["lo"]


async def test_an_outbound_connection_fails(backend: SandboxBackend) -> None:
    # A server on the host's loopback: reachable from the host, not from the sandbox.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        script = (
            "import socket\n"
            f"for host in ('127.0.0.1', '10.255.255.1'):\n"
            "    try:\n"
            f"        socket.create_connection((host, {port}), timeout=2)\n"
            "        print(host, 'connected')\n"
            "    except OSError as exc:\n"
            "        print(host, 'refused', exc.errno)\n"
        )
        done = await run(backend, script, Language.PYTHON)
    assert [line.split()[1] for line in done.out()] == ["refused", "refused"], done.stderr


async def test_a_memory_bomb_is_oom_killed(backend: SandboxBackend) -> None:
    done = await run(
        backend,
        "x = bytearray(512 * 1024 * 1024)\nprint('survived')",
        Language.PYTHON,
        memory_mb=64,
    )
    assert done.result.oom_killed
    assert "survived" not in done.stdout
    assert done.result.exit_code != 0


async def test_a_fork_bomb_stops_at_the_process_limit(backend: SandboxBackend) -> None:
    script = (
        "import os, time\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(500):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        started += 1\n"
        "except BlockingIOError:\n"
        "    print('refused')\n"
        "print(started)\n"
    )
    done = await run(backend, script, Language.PYTHON, pids=50, timeout_seconds=20)
    assert done.out()[0] == "refused", done.stderr
    assert 40 <= int(done.out()[1]) < 50


async def test_a_real_fork_bomb_is_contained_and_the_host_stays_healthy(
    backend: SandboxBackend,
) -> None:
    started = time.monotonic()
    done = await run(backend, ":(){ :|:& };:\nsleep 3", pids=64, timeout_seconds=3)
    assert done.result.timed_out or done.result.exit_code is not None
    assert time.monotonic() - started < 3 + 1 + 5
    after = await run(backend, "echo alive")
    assert after.out() == ["alive"]


async def test_a_cpu_spinner_gets_about_its_quota(backend: SandboxBackend) -> None:
    script = "import time\nend = time.time() + 2\nwhile time.time() < end: pass"
    done = await run(backend, script, Language.PYTHON, cpus=0.5)
    assert done.result.cpu_seconds is not None
    share = done.result.cpu_seconds / done.result.run_seconds
    assert 0.3 < share < 0.7, share


async def test_sleep_past_the_timeout_ends_timed_out_in_time(backend: SandboxBackend) -> None:
    started = time.monotonic()
    done = await run(backend, "trap '' TERM; echo started; sleep 60", timeout_seconds=1)
    elapsed = time.monotonic() - started
    assert done.result.timed_out
    assert done.out() == ["started"]
    assert elapsed < 1 + 1 + 1  # timeout + grace + 1 s


async def test_a_script_that_handles_sigterm_gets_the_grace_period(
    backend: SandboxBackend,
) -> None:
    done = await run(
        backend, "trap 'echo got TERM; exit 5' TERM; sleep 60 & wait", timeout_seconds=1
    )
    assert done.result.timed_out
    assert "got TERM" in done.stdout


async def test_cancellation_ends_the_sandbox(backend: SandboxBackend) -> None:
    cancel = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, cancel.set)
    started = time.monotonic()
    done = await run(backend, "echo started; sleep 60", cancel=cancel, timeout_seconds=30)
    assert done.result.cancelled
    assert time.monotonic() - started < 0.5 + 1 + 1


async def test_endless_output_is_capped_with_a_marker(backend: SandboxBackend) -> None:
    done = await run(backend, "yes cronium", output_cap_bytes=100_000, timeout_seconds=2)
    assert done.result.stdout_truncated
    assert "exceeded 100000 bytes" in done.out()[-1]
    assert sum(len(line) + 1 for line in done.out()[:-1]) <= 100_000


async def test_output_is_streamed_as_it_comes(backend: SandboxBackend) -> None:
    done = await run(backend, "echo first; sleep 1; echo second")
    first, second = (line.at for line in done.lines)
    assert (second - first).total_seconds() > 0.5


async def test_host_files_outside_the_mounts_are_not_visible(
    backend: SandboxBackend, tmp_path: Path
) -> None:
    token = str(uuid.uuid4())
    secret = f"cronium-secret-{token}"
    planted = [tmp_path / "secret.txt", Path.cwd() / f".{secret}"]
    if os.geteuid() == 0:
        planted.append(Path("/root") / f".{secret}")
    for path in planted:
        path.write_text(secret)
    try:
        done = await run(
            backend,
            # The pattern is joined in the shell so that the script itself does not match it.
            f"half={token}; grep -rls cronium-secret-$half / --exclude-dir=proc "
            "--exclude-dir=sys --exclude-dir=usr --exclude-dir=dev; echo searched; "
            "cat /etc/shadow >/dev/null 2>&1 && echo shadow",
            timeout_seconds=120,
        )
    finally:
        for path in planted:
            path.unlink()
    assert done.out() == ["searched"], done.stdout


async def test_the_workers_environment_is_not_visible(
    backend: SandboxBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_SECRET", "hunter2")
    done = await run(
        backend, "env; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'", env={"MINE": "yes"}
    )
    assert "hunter2" not in done.stdout
    assert "MINE=yes" in done.out()
    assert any(line.startswith("CRONIUM_EXECUTION_ID=") for line in done.out())


async def test_setuid_binaries_do_not_raise_privileges(backend: SandboxBackend) -> None:
    script = (
        "for f in /usr/bin/su /usr/bin/passwd /usr/bin/mount /usr/bin/newgrp; do\n"
        "  [ -u $f ] && echo setuid $f\n"
        "done\n"
        "su -c 'id -u' root </dev/null 2>&1 || echo su failed\n"
        "id -u\n"
    )
    done = await run(backend, script)
    assert "0" not in done.out()
    assert done.out()[-1] != "0"
    assert "su failed" in done.out()


async def test_nothing_is_left_behind(backend: SandboxBackend) -> None:
    before = sandbox_processes()
    await run(backend, "sleep 30 & sleep 30 & echo started")
    await until(lambda: sandbox_processes() <= before, 5, "the sandbox's processes ending")
    assert backend.remove_leftovers() == []


async def test_a_sandbox_that_cannot_be_set_up_says_so_before_the_script_starts(
    backend: SandboxBackend, tmp_path: Path
) -> None:
    # The worker queues such a run again rather than failing it: the script never ran.
    missing_socket = tmp_path / "no-such-dir" / "runtime.sock"
    before = sandbox_processes()
    with pytest.raises(SandboxStartError):
        await run(backend, "echo ran", runtime_socket=missing_socket)
    assert sandbox_processes() <= before
    assert backend.remove_leftovers() == []


# Python in the sandbox calling the kernel directly; numbers from asm/unistd_64.h (x86_64) and
# asm-generic/unistd.h (aarch64). call() answers the result, or the error's name.
SYSCALLS = """
import ctypes, errno, os, socket

NUMBERS = {
    "x86_64": {"socket": 41, "ptrace": 101, "personality": 135, "io_uring_setup": 425,
               "clone3": 435},
    "aarch64": {"personality": 92, "ptrace": 117, "socket": 198, "io_uring_setup": 425,
                "clone3": 435},
}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)

def call(name, *args):
    result = libc.syscall(ctypes.c_long(NUMBERS[name]), *map(ctypes.c_ulong, args))
    return errno.errorcode[ctypes.get_errno()] if result == -1 else str(result)

def opened(make):
    try:
        for sock in make():
            sock.close()
    except OSError as exc:
        return errno.errorcode[exc.errno]
    return "opened"
"""


async def test_vsock_sockets_are_refused_and_other_sockets_are_not(
    backend: SandboxBackend,
) -> None:
    # vsock reaches the hypervisor's host, past the network namespace.
    script = SYSCALLS + (
        "print(opened(lambda: [socket.socket(40, socket.SOCK_STREAM)]))\n"
        "print(opened(lambda: socket.socketpair(40, socket.SOCK_STREAM)))\n"
        "print(call('socket', (1 << 32) | 40, socket.SOCK_STREAM, 0))  # the kernel reads 40\n"
        "print(opened(lambda: [socket.socket(socket.AF_INET, socket.SOCK_STREAM)]))\n"
        "print(opened(lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)))\n"
    )
    done = await run(backend, script, Language.PYTHON)
    assert done.out() == ["EAFNOSUPPORT"] * 3 + ["opened"] * 2, done.stderr


async def test_the_personality_stays_linux_and_can_be_queried(backend: SandboxBackend) -> None:
    # 0xffffffff asks for the persona; 8 is PER_LINUX32, 0x400000 READ_IMPLIES_EXEC; the kernel
    # reads an unsigned int, so the high word of (1 << 32) | 8 changes nothing.
    personas = [0xFFFFFFFF, 0, 0x0008, 0x0400000, (1 << 32) | 0x0008, 0xFFFFFFFF]
    script = SYSCALLS + f"for persona in {personas}:\n    print(call('personality', persona))\n"
    done = await run(backend, script, Language.PYTHON)
    assert done.out() == ["0", "0", "EPERM", "EPERM", "EPERM", "0"], done.stderr


async def test_io_uring_and_clone3_are_not_implemented(backend: SandboxBackend) -> None:
    script = SYSCALLS + "print(call('io_uring_setup', 1, 0), call('clone3', 0, 0))\n"
    done = await run(backend, script, Language.PYTHON)
    assert done.out() == ["ENOSYS ENOSYS"], done.stderr


async def test_ptrace_is_refused(backend: SandboxBackend) -> None:
    script = SYSCALLS + "print(call('ptrace', 0, 0, 0, 0))  # PTRACE_TRACEME\n"
    done = await run(backend, script, Language.PYTHON)
    assert done.out() == ["EPERM"], done.stderr


# getpid by int 0x80, from an executable page, in a child process; its return code is printed.
I386_GETPID = """
import subprocess, sys

CHILD = '''
import ctypes, mmap
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))  # mov eax, 20; int 0x80; ret
print(ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))())
'''
print(subprocess.run([sys.executable, "-c", CHILD]).returncode)
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the i386 ABI is x86_64's")
async def test_a_system_call_of_the_i386_abi_kills_the_process(backend: SandboxBackend) -> None:
    # int 0x80 reaches the i386 system calls, which no check of ours is written for.
    done = await run(backend, I386_GETPID, Language.PYTHON)
    assert done.out() == ["-31"], done.stderr  # SIGSYS


async def test_a_script_sees_little_of_proc_and_no_host_path(backend: SandboxBackend) -> None:
    """What Docker masks in /proc is masked on both backends (native masks more: see
    test_sandbox_security), /proc/sys is read-only, and the sandbox's first process shows no
    path of the worker's host."""
    script = """
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats \\
         /proc/timer_stats; do
    [ -e "$f" ] || continue
    if [ -s "$f" ] && head -c 1 "$f" >/dev/null 2>&1; then echo "readable $f"; fi
done
echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo "sys writable"
tr '\\0' ' ' < /proc/1/cmdline; echo
"""
    done = await run(backend, script)
    lines = done.out()
    assert not [line for line in lines if line.startswith("readable")], lines
    assert "sys writable" not in lines
    assert "prepared-" not in lines[-1]
    assert "--ro-bind" not in lines[-1]
