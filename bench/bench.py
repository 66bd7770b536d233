#!/usr/bin/env python3
"""brick vs crun vs runc, side by side in one run, interleaved (A B C A B C ...).

Run through bench/bench.sh (it makes the private mount namespace this script expects).
Prints a Markdown table and writes bench/results.json. See bench/README.md.
No timed assertions: this measures, it never fails on a number.
"""

import ctypes
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import podman_env  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
NS = 1_000_000  # ns per ms


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


N = env_int("BENCH_N", 30)  # samples per timing case
ROUNDS = env_int("BENCH_ROUNDS", 3)  # samples of the sequential batches
# A parallel burst is short and its pair-to-pair spread wide here (1.2-1.7x): more samples.
PAR_ROUNDS = env_int("BENCH_PAR_ROUNDS", 3 * ROUNDS)
SEQ = env_int("BENCH_SEQ", 100)  # runs per sequential batch
PAR = env_int("BENCH_PAR", 50)  # runs per parallel batch
PODMAN_N = env_int("BENCH_PODMAN_N", 10)  # samples of podman run --rm
RSS_N = env_int("BENCH_RSS_N", min(N, 5))  # samples of peak RSS (it hardly varies)
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "results.json"))
ONLY = [c for c in os.environ.get("BENCH_CASES", "").split(",") if c]

RUNTIMES = [
    ("brick", os.environ.get("BRICK", os.path.join(MAIN, "target/release/brick"))),
    ("crun", os.environ.get("CRUN", shutil.which("crun") or "/usr/bin/crun")),
    ("runc", os.environ.get("RUNC", shutil.which("runc") or "/usr/sbin/runc")),
]
NAMES = [n for n, _ in RUNTIMES]


class Failed(Exception):
    pass


class Bench:
    def __init__(self):
        self.tag = f"brickbench-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix=self.tag + ".")
        self.cg = "/" + self.tag  # every cgroup the bench causes lives below this
        self.paths = dict(RUNTIMES)
        # Runtime state on tmpfs, where engines keep it (/run/...) and runc's --root help asks
        # for it; on the disk, inode churn under parallel runs costs every runtime per file.
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        if os.environ.get("BENCH_IN_NS") == "1":
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=256m", "bench-state",
                            self.state], check=True)
        self.roots = {n: os.path.join(self.state, "root-" + n) for n in NAMES}
        for r in self.roots.values():
            os.makedirs(r)
        self.devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        self.errlog = os.path.join(self.tmp, "stderr")
        self.results = {}
        self.notes = []
        self.penv = None
        self.used_ids = {n: set() for n in NAMES}

    # ---- process helpers -------------------------------------------------------------

    def spawn(self, argv, err=None, env=None):
        """posix_spawn with stdin/stdout on /dev/null and stderr to `err` (a path)."""
        errfd = os.open(err or self.errlog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC)
        try:
            return os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                                  file_actions=[(os.POSIX_SPAWN_DUP2, self.devnull, 0),
                                                (os.POSIX_SPAWN_DUP2, self.devnull, 1),
                                                (os.POSIX_SPAWN_DUP2, errfd, 2)])
        finally:
            os.close(errfd)

    @staticmethod
    def wait(pid):
        """(exit code, ru_maxrss KiB) of this child, from wait4. The harness's own ru_maxrss
        is useless (a child of Python starts with Python's RSS high-water mark): see maxrss.c."""
        _, status, ru = os.wait4(pid, 0)
        return os.waitstatus_to_exitcode(status), ru.ru_maxrss

    def timed(self, argv, what, err=None, env=None):
        """Run argv once: (elapsed ns, maxrss KiB); raise Failed with its stderr if it fails."""
        t0 = time.perf_counter_ns()
        pid = self.spawn(argv, err, env)
        code, rss = self.wait(pid)
        dt = time.perf_counter_ns() - t0
        if code != 0:
            raise Failed(f"{what}: exit {code}: {self.read_err(err)}")
        return dt, rss

    def read_err(self, path=None):
        try:
            with open(path or self.errlog) as f:
                return f.read().strip()[-600:]
        except OSError:
            return ""

    @staticmethod
    def reap_strays():
        """Orphans (container inits) are reparented to us as subreaper: collect the zombies."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def rt(self, name, *args, root=None):
        return [self.paths[name], "--root", root or self.roots[name], *args]

    def cid(self, name, case, slot=0):
        i = f"{self.tag}-{name}-{case}-{slot}"
        self.used_ids[name].add(i)
        return i

    # ---- fixtures ----------------------------------------------------------------------

    def make_rootfs(self):
        """busybox-static rootfs; /bin/true is busybox's applet (a static binary)."""
        rootfs = os.path.join(self.tmp, "rootfs")
        for d in ("bin", "etc", "dev", "proc", "sys", "tmp", "root", "run"):
            os.makedirs(os.path.join(rootfs, d))
        bb = shutil.which("busybox") or "/bin/busybox"
        shutil.copy(bb, os.path.join(rootfs, "bin/busybox"))
        subprocess.run(["chroot", rootfs, "/bin/busybox", "--install", "-s", "/bin"], check=True)
        with open(os.path.join(rootfs, "etc/passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        with open(os.path.join(rootfs, "etc/group"), "w") as f:
            f.write("root:x:0:\n")
        self.rootfs = rootfs

    def bundle(self, kind, slot, cfg):
        """bundles/<kind>-<slot>/config.json; the shared rootfs; a cgroup of its own."""
        d = os.path.join(self.tmp, "bundles", f"{kind}-{slot}")
        os.makedirs(d, exist_ok=True)
        c = json.loads(json.dumps(cfg))
        c["root"]["path"] = self.rootfs
        c.setdefault("linux", {})["cgroupsPath"] = f"{self.cg}/{kind}-{slot}"
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f)
        return d

    def make_configs(self):
        """minimal: `runc spec` (no seccomp); podman: the captured fixture, with/without seccomp."""
        spec_dir = os.path.join(self.tmp, "spec")
        os.makedirs(spec_dir)
        subprocess.run([self.paths["runc"], "spec", "--bundle", spec_dir], check=True)
        with open(os.path.join(spec_dir, "config.json")) as f:
            minimal = json.load(f)
        minimal["process"]["terminal"] = False
        minimal["process"]["args"] = ["/bin/true"]
        files = os.path.join(self.tmp, "podman-files")
        os.makedirs(os.path.join(files, "shm"))
        for name, text in (("hostname", "bench\n"), ("hosts", "127.0.0.1 localhost bench\n"),
                           (".containerenv", "engine=\"podman-4.3.1\"\n")):
            with open(os.path.join(files, name), "w") as f:
                f.write(text)
        with open(os.path.join(HERE, "fixtures/podman-config.json")) as f:
            text = f.read().replace("@FILES@", files)
        podman = json.loads(text)
        noseccomp = json.loads(text)
        noseccomp["linux"].pop("seccomp", None)
        self.cfg = {"minimal": minimal, "podman": podman, "podman-noseccomp": noseccomp}
        self.bundles = {k: self.bundle(k, 0, v) for k, v in self.cfg.items()}
        self.par_bundles = [self.bundle("par", i, minimal) for i in range(PAR)]

    # ---- one sample of each case (every one leaves no container behind) ---------------

    def s_run(self, name):
        i = self.cid(name, "run")
        dt, _ = self.timed(self.rt(name, "run", "--bundle", self.bundles["minimal"], i),
                           f"{name} run")
        return {"ns": dt}

    def s_lifecycle(self, name):
        """create, start, wait for the init (we are its subreaper, as a shim is), delete."""
        i = self.cid(name, "life")
        pidfile = os.path.join(self.tmp, f"pid-{name}")
        t0 = time.perf_counter_ns()
        self.timed(self.rt(name, "create", "--bundle", self.bundles["minimal"],
                           "--pid-file", pidfile, i), f"{name} create")
        t1 = time.perf_counter_ns()
        with open(pidfile) as f:
            init = int(f.read().strip())
        self.timed(self.rt(name, "start", i), f"{name} start")
        t2 = time.perf_counter_ns()
        code, _ = self.wait(init)
        t3 = time.perf_counter_ns()
        self.timed(self.rt(name, "delete", i), f"{name} delete")
        t4 = time.perf_counter_ns()
        if code != 0:
            raise Failed(f"{name}: container exited {code}")
        return {"ns": t4 - t0, "create_ns": t1 - t0, "start_ns": t2 - t1,
                "wait_ns": t3 - t2, "delete_ns": t4 - t3}

    def create_only(self, name, kind, root=None):
        i = self.cid(name, kind)
        pidfile = os.path.join(self.tmp, f"pid-{name}")
        dt, _ = self.timed(self.rt(name, "create", "--bundle", self.bundles[kind],
                                     "--pid-file", pidfile, i, root=root), f"{name} create")
        with open(pidfile) as f:
            init = int(f.read().strip())
        self.timed(self.rt(name, "delete", "--force", i, root=root), f"{name} delete --force")
        try:
            self.wait(init)
        except ChildProcessError:
            pass
        return {"ns": dt}

    def build_maxrss(self):
        """Compile bench/maxrss.c (a small C parent for wait4's ru_maxrss); None if no cc."""
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            return "no C compiler (cc) for bench/maxrss.c"
        self.maxrss = os.path.join(self.tmp, "maxrss")
        r = subprocess.run([cc, "-O2", "-o", self.maxrss, os.path.join(HERE, "maxrss.c")],
                           capture_output=True, text=True)
        return None if r.returncode == 0 else f"cc maxrss.c failed: {r.stderr.strip()[:200]}"

    def rss_of(self, argv, what):
        """Peak RSS (KiB) of argv's own process (and the children it reaped), via maxrss."""
        out = os.path.join(self.tmp, "maxrss.out")
        self.timed([self.maxrss, out, *argv], what)
        with open(out) as f:
            code, kib = (int(x) for x in f.read().split())
        if code != 0:
            raise Failed(f"{what}: exit {code}")
        return kib

    def s_rss_run(self, name):
        i = self.cid(name, "rssrun")
        return {"rss_kib": self.rss_of(self.rt(name, "run", "--bundle", self.bundles["minimal"],
                                                 i), f"{name} run")}

    def s_rss_create(self, name):
        i = self.cid(name, "rsscreate")
        pidfile = os.path.join(self.tmp, f"pid-{name}")
        kib = self.rss_of(self.rt(name, "create", "--bundle", self.bundles["podman"],
                                  "--pid-file", pidfile, i), f"{name} create")
        with open(pidfile) as f:
            init = int(f.read().strip())
        self.timed(self.rt(name, "delete", "--force", i), f"{name} delete --force")
        try:
            self.wait(init)
        except ChildProcessError:
            pass
        return {"rss_kib": kib}

    def s_create_podman(self, name):
        return self.create_only(name, "podman")

    def s_create_podman_cold(self, name):
        """A fresh --root each time: no state survives (brick's seccomp cache lives there)."""
        root = tempfile.mkdtemp(prefix="coldroot-", dir=self.state)
        try:
            return self.create_only(name, "podman", root=root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def s_create_noseccomp(self, name):
        return self.create_only(name, "podman-noseccomp")

    def s_seq(self, name):
        t0 = time.perf_counter_ns()
        for k in range(SEQ):
            self.timed(self.rt(name, "run", "--bundle", self.bundles["minimal"],
                               self.cid(name, "seq")), f"{name} run #{k}")
        return {"ns": time.perf_counter_ns() - t0}

    def s_par(self, name):
        errs = [os.path.join(self.tmp, f"par-err-{k}") for k in range(PAR)]
        t0 = time.perf_counter_ns()
        pids = [self.spawn(self.rt(name, "run", "--bundle", self.par_bundles[k],
                                   self.cid(name, "par", k)), errs[k]) for k in range(PAR)]
        codes = [self.wait(p)[0] for p in pids]
        dt = time.perf_counter_ns() - t0
        bad = [k for k, c in enumerate(codes) if c != 0]
        if bad:
            raise Failed(f"{name}: {len(bad)}/{PAR} parallel runs failed: "
                         f"{self.read_err(errs[bad[0]])}")
        return {"ns": dt, "per_s": PAR / (dt / 1e9)}

    def s_podman(self, name):
        prt = os.path.join(self.state, "podman-root-" + name)
        os.makedirs(prt, exist_ok=True)
        argv = self.penv.podman_cmd(self.paths[name], "--runtime-flag", f"root={prt}",
                                    *self.penv.run_cmd(self.paths[name])[3:])
        dt, _ = self.timed(argv, f"podman run --rm with {name}", env=self.penv.env)
        return {"ns": dt}

    # ---- driver ------------------------------------------------------------------------

    def case(self, key, title, fn, n, unit="ms"):
        if ONLY and key not in ONLY:
            return
        print(f"# {title}: warm-up + {n} x {'/'.join(NAMES)} interleaved", file=sys.stderr)
        samples = {nm: [] for nm in NAMES}
        errors = {}
        for it in range(n + 1):  # iteration 0 is the untimed warm-up
            for nm in NAMES:
                if nm in errors:
                    continue
                try:
                    s = fn(nm)
                except (Failed, OSError, ValueError) as e:
                    errors[nm] = str(e)
                    print(f"  {nm}: FAILED: {e}", file=sys.stderr)
                    self.cleanup_containers(nm)
                    continue
                finally:
                    self.reap_strays()
                if it > 0:
                    samples[nm].append(s)
        self.results[key] = {"title": title, "unit": unit, "n": n,
                             "samples": samples, "errors": errors}

    def floor(self):
        """Namespaces + chroot, no runtime; and a bare spawn of busybox true."""
        if ONLY and "floor" not in ONLY:
            return
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        cases = {
            "floor_unshare": [unshare, "--fork", "--pid", "--mount", "--uts", "--ipc", "--net",
                              chroot, self.rootfs, "/bin/true"],
            "floor_spawn": [os.path.join(self.rootfs, "bin/busybox"), "true"],
        }
        for key, argv in cases.items():
            self.timed(argv, key)  # warm-up
            self.results[key] = {"argv": argv, "ns": [self.timed(argv, key)[0]
                                                      for _ in range(N)]}

    def setup_podman(self):
        if shutil.which("podman") is None:
            return "podman is not installed"
        try:
            self.penv = podman_env.PodmanEnv(os.path.join(self.tmp, "podman"),
                                             {"brick": self.paths["brick"]},
                                             f"{self.cg}/podman")
            self.penv.import_image(self.rootfs)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            self.penv = None
            return f"podman set-up failed: {e}"
        return None

    def run_all(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.make_rootfs()
        self.make_configs()
        self.case("run", "`run` /bin/true, minimal config", self.s_run, N)
        self.case("lifecycle", "create+start+wait+delete, minimal config", self.s_lifecycle, N)
        self.case("create_podman", "create, podman config.json (seccomp)",
                  self.s_create_podman, N)
        self.case("create_podman_cold", "create, podman config, fresh --root each time",
                  self.s_create_podman_cold, N)
        self.case("create_noseccomp", "create, podman config without seccomp",
                  self.s_create_noseccomp, N)
        why = self.build_maxrss()
        if why:
            self.results["rss"] = {"skipped": why}
        else:
            self.case("rss_run", "peak RSS of `run`", self.s_rss_run, RSS_N, unit="KiB")
            self.case("rss_create", "peak RSS of create, podman config", self.s_rss_create,
                      RSS_N, unit="KiB")
            self.results["rss_floor_kib"] = self.rss_of(
                [os.path.join(self.rootfs, "bin/busybox"), "true"], "busybox true")
        self.case("seq", f"{SEQ} sequential `run`", self.s_seq, ROUNDS, unit="s")
        self.case("par", f"{PAR} parallel `run`", self.s_par, PAR_ROUNDS, unit="per_s")
        if not ONLY or "podman" in ONLY:
            why = self.setup_podman()
            if why:
                self.results["podman"] = {"skipped": why}
                print(f"# podman run --rm: SKIPPED: {why}", file=sys.stderr)
            else:
                self.case("podman", "`podman run --rm` /bin/true", self.s_podman, PODMAN_N)
        self.floor()

    # ---- cleanup -----------------------------------------------------------------------

    def cleanup_containers(self, name, root=None):
        root = root or self.roots[name]
        try:
            ids = [e for e in os.listdir(root) if not e.startswith(".")]
        except OSError:
            return
        for i in ids:
            subprocess.run(self.rt(name, "delete", "--force", i, root=root),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        self.reap_strays()

    def cleanup(self):
        for nm in NAMES:
            self.cleanup_containers(nm)
            for d in os.listdir(self.state):
                if d.startswith("podman-root-" + nm):
                    self.cleanup_containers(nm, os.path.join(self.state, d))
        if self.penv:
            self.penv.teardown(self.paths["crun"])
        self.reap_strays()
        self.notes += sweep_cgroups(self.cg)
        self.notes += sweep_mounts(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)


def visible_fstypes():
    """mount point -> fstype of the mount on top (mountinfo lists mounts in order)."""
    top = {}
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            pre, _, post = ln.partition(" - ")
            top[pre.split()[4]] = post.split()[0]
    return top


def sweep_cgroups(cg):
    """rmdir the bench's cgroup subtree in every hierarchy.

    Processes still in a real cgroup of that subtree are containers the bench started: they are
    killed. Under the tmpfs cover a runtime may have written plain files named cgroup.procs:
    their pids are stale numbers, never read; that subtree is simply removed."""
    notes = []
    base = "/sys/fs/cgroup"
    fstypes = visible_fstypes()
    for h in sorted(os.listdir(base)):
        top = os.path.join(base, h, cg.lstrip("/"))
        if not os.path.isdir(top):
            continue
        if fstypes.get(os.path.join(base, h)) not in ("cgroup", "cgroup2"):
            shutil.rmtree(top, ignore_errors=True)
            continue
        for d, _, _ in os.walk(top, topdown=False):
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    left = [int(p) for p in f.read().split()]
            except OSError:
                left = []
            for p in left:
                notes.append(f"killed leftover container process {p} in {d}")
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
            if left:
                time.sleep(0.2)
                Bench.reap_strays()
            try:
                os.rmdir(d)
            except OSError as e:
                notes.append(f"could not remove cgroup {d}: {e}")
    return notes


def sweep_mounts(tmp):
    """Unmount whatever podman (or a leak) left mounted under our temp dir, deepest first."""
    notes = []
    with open("/proc/self/mountinfo") as f:
        points = [ln.split()[4] for ln in f]
    for mp in sorted({p for p in points if p.startswith(tmp + "/")}, key=len, reverse=True):
        r = subprocess.run(["umount", "-l", mp], capture_output=True, text=True)
        if r.returncode != 0:
            notes.append(f"umount {mp}: {r.stderr.strip()}")
    return notes


# ---- report ------------------------------------------------------------------------------

def stat(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)} if vals else None


def fmt(st, unit):
    if st is None:
        return "—"
    f = {"ms": lambda v: f"{v:.2f}", "s": lambda v: f"{v:.2f}", "per_s": lambda v: f"{v:.0f}",
         "MiB": lambda v: f"{v:.1f}"}[unit]
    return f"{f(st['median'])} ({f(st['min'])}–{f(st['max'])})"


def summarize(res, paths):
    """Rows of (label, unit, {runtime: stat}) from the raw samples."""
    rows = []

    def add(label, unit, getter, key):
        r = res.get(key)
        if not r or "samples" not in r:
            return
        per = {}
        for nm in NAMES:
            vals = [getter(s) for s in r["samples"][nm]]
            per[nm] = stat([v for v in vals if v is not None])
        rows.append((label, unit, per, r["errors"]))

    ms = lambda s: s["ns"] / NS
    add("`run` /bin/true, minimal config (ms)", "ms", ms, "run")
    add("create+start+wait+delete (ms)", "ms", ms, "lifecycle")
    add("create, podman config.json + seccomp (ms)", "ms", ms, "create_podman")
    add("create, podman config, fresh --root (ms)", "ms", ms, "create_podman_cold")
    add("create, podman config, no seccomp (ms)", "ms", ms, "create_noseccomp")
    add("peak RSS, `run` (MiB)", "MiB", lambda s: s["rss_kib"] / 1024, "rss_run")
    add("peak RSS, create with podman config (MiB)", "MiB", lambda s: s["rss_kib"] / 1024,
        "rss_create")
    add(f"{SEQ} sequential `run` (s total)", "s", lambda s: s["ns"] / 1e9, "seq")
    add(f"{PAR} parallel `run` (containers/s)", "per_s", lambda s: s["per_s"], "par")
    add("`podman run --rm` /bin/true (ms)", "ms", ms, "podman")
    sizes = {nm: os.path.getsize(os.path.realpath(p)) / (1 << 20) for nm, p in paths.items()}
    rows.append(("binary size (MiB)", "MiB",
                 {nm: {"median": v, "min": v, "max": v} for nm, v in sizes.items()}, {}))
    return rows


def table(rows, res):
    out = ["| case | brick median (min–max) | crun | runc | brick/crun |",
           "|---|---|---|---|---|"]
    for label, unit, per, errors in rows:
        cells = []
        for nm in NAMES:
            cells.append(f"FAILED ({errors[nm][:80]})" if nm in errors else fmt(per[nm], unit))
        b, c = per.get("brick"), per.get("crun")
        ratio = f"{b['median'] / c['median']:.2f}" if b and c and c["median"] else "—"
        out.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    for key, label in (("rss", "peak RSS"), ("podman", "`podman run --rm`")):
        if key in res and "skipped" in res[key]:
            out.append(f"| {label} | skipped: {res[key]['skipped']} | | | |")
    lines = ["\n".join(out), ""]
    for key, label in (("floor_unshare", "floor: `unshare --fork --pid --mount --uts --ipc --net "
                        "chroot ROOTFS /bin/true`"),
                       ("floor_spawn", "spawn of busybox `true` (no namespaces)")):
        if key in res:
            st = stat([v / NS for v in res[key]["ns"]])
            lines.append(f"- {label}: {fmt(st, 'ms')} ms")
    if "rss_floor_kib" in res:
        lines.append(f"- peak RSS floor (busybox `true` through the same maxrss helper): "
                     f"{res['rss_floor_kib'] / 1024:.1f} MiB")
    return "\n".join(lines)


def versions(paths):
    v = {}
    for nm, p in paths.items():
        try:
            r = subprocess.run([p, "--version"], capture_output=True, text=True, timeout=10)
            v[nm] = {"path": p, "version": r.stdout.strip().splitlines()[0] if r.stdout else "?",
                     "size_bytes": os.path.getsize(os.path.realpath(p))}
        except OSError as e:
            v[nm] = {"path": p, "error": str(e)}
    return v


def main():
    if os.geteuid() != 0:
        sys.exit("bench.py: needs root")
    if os.environ.get("BENCH_IN_NS") != "1":
        sys.exit("bench.py: run it through bench/bench.sh (private mount namespace)")
    for nm, p in RUNTIMES:
        if not os.access(p, os.X_OK):
            sys.exit(f"bench.py: {nm} not found at {p}")
    b = Bench()
    try:
        b.run_all()
    finally:
        b.cleanup()
    rows = summarize(b.results, b.paths)
    md = table(rows, b.results)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                 "cgroup_view": os.environ.get("BENCH_CGROUP_VIEW", "?")},
        "params": {"BENCH_N": N, "BENCH_RSS_N": RSS_N, "BENCH_ROUNDS": ROUNDS, "BENCH_PAR_ROUNDS": PAR_ROUNDS, "BENCH_SEQ": SEQ, "BENCH_PAR": PAR,
                   "BENCH_PODMAN_N": PODMAN_N},
        "runtimes": versions(b.paths),
        "summary": [{"case": label, "unit": unit, "errors": errors,
                     **{nm: per[nm] for nm in NAMES}} for label, unit, per, errors in rows],
        "raw": b.results,
        "cleanup_notes": b.notes,
        "markdown": md,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(md)
    for n in b.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"\nwrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
