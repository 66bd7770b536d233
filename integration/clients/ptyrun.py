#!/usr/bin/python3
"""ptyrun.py SECONDS CMD [ARG...]: run CMD as a session leader on a fresh pty, print what it
writes there, exit with its status; SIGKILL to its process group after SECONDS (exit 124).

Replaces `script -qec`: script injects ^D into the pty when its own stdin is at EOF and can
spin in ul_pty_wait_for_child; the clients' tty tests need neither, only a terminal."""
import os
import pty
import select
import signal
import sys
import time


def main() -> int:
    limit, argv = float(sys.argv[1]), sys.argv[2:]
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    deadline = time.monotonic() + limit
    out = sys.stdout.buffer
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stderr.write(f"ptyrun: {argv[0]} killed after {limit}s\n")
            return 124
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every holder of the slave side has closed it
                data = b""
            if not data:
                break
            out.write(data)
            out.flush()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stderr.write(f"ptyrun: {argv[0]} killed after {limit}s\n")
            return 124
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
