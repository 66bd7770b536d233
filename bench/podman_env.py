"""A throwaway podman set-up for the bench: its own containers.conf / storage.conf in a temp
dir (never /etc), a local busybox image, and the capture of podman's config.json.

Used by bench.py (the `podman run --rm` case) and by `bench.py --capture-podman-config`.
"""

import json
import os
import re
import shutil
import subprocess

IMAGE = "localhost/busybox:latest"


class PodmanEnv:
    """podman configured only through CONTAINERS_CONF / CONTAINERS_STORAGE_CONF under `base`."""

    def __init__(self, base, runtimes, cgroup_parent):
        self.base = base
        self.cgroup_parent = cgroup_parent
        self.podman = shutil.which("podman")
        self.conmon = shutil.which("conmon") or "/usr/bin/conmon"
        os.makedirs(base, exist_ok=True)
        d = lambda *p: os.path.join(base, *p)
        for sub in ("tmp", "net", "run", "graph"):
            os.makedirs(d(sub), exist_ok=True)
        names = sorted(set(["crun", "runc"] + list(runtimes)))
        rt_lines = "\n".join(f'{n} = ["{p}"]' for n, p in sorted(runtimes.items()))
        conf = f"""[containers]
netns = "none"
log_driver = "k8s-file"
# No CAP_SYS_RESOURCE on these machines: podman's default 1048576 limits fail everywhere.
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d('events.log')}"
tmp_dir = "{d('tmp')}"
# static_dir / volume_path stay at their defaults under graphroot: conmon's exit command
# (podman container cleanup) gets --root but not this file, and must find the same database.
pull_policy = "never"
conmon_path = ["{self.conmon}"]
runtime_supports_json = {json.dumps(names)}
runtime_supports_nocgroups = ["crun", "brick"]

[engine.runtimes]
{rt_lines}

[network]
network_config_dir = "{d('net')}"
"""
        storage = f"""[storage]
driver = "overlay"
runroot = "{d('run')}"
graphroot = "{d('graph')}"
"""
        with open(d("containers.conf"), "w") as f:
            f.write(conf)
        with open(d("storage.conf"), "w") as f:
            f.write(storage)
        self.env = dict(os.environ)
        self.env["CONTAINERS_CONF"] = d("containers.conf")
        self.env["CONTAINERS_STORAGE_CONF"] = d("storage.conf")
        # registries.conf / policy.json are never read for a local import, but keep them ours.
        self.env["CONTAINERS_REGISTRIES_CONF"] = d("registries.conf")
        with open(d("registries.conf"), "w") as f:
            f.write("unqualified-search-registries = []\n")

    def podman_cmd(self, runtime, *args):
        """argv of `podman --runtime RUNTIME ARGS...` with this set-up."""
        return [self.podman, "--runtime", runtime, *args]

    def run_cmd(self, runtime):
        """argv of the end-to-end case: podman run --rm of /bin/true."""
        return self.podman_cmd(
            runtime, "run", "--rm", "--cgroup-parent", self.cgroup_parent,
            IMAGE, "/bin/true")

    def check(self, *args, runtime="crun"):
        return subprocess.run(self.podman_cmd(runtime, *args), env=self.env,
                              capture_output=True, text=True, timeout=120)

    def import_image(self, rootfs):
        """tar the bench rootfs and `podman import` it as localhost/busybox."""
        tar = os.path.join(self.base, "rootfs.tar")
        subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
        r = self.check("import", tar, IMAGE)
        if r.returncode != 0:
            raise RuntimeError(f"podman import: {r.stderr.strip()}")

    def teardown(self, runtime):
        """Remove every container and the storage; mounts under base are the caller's to sweep."""
        for args in (("rm", "--all", "--force"), ("system", "reset", "--force")):
            try:
                self.check(*args, runtime=runtime)
            except (subprocess.SubprocessError, OSError):
                pass


SHIM = """#!/bin/sh
# Logging shim: record argv, copy the bundle's config.json (only create has --bundle), be runc.
echo "$*" >> '{log}'
prev=
for a in "$@"; do
  case "$prev" in --bundle|-b) cp "$a/config.json" '{out}' ;; esac
  case "$a" in --bundle=*) cp "${{a#--bundle=}}/config.json" '{out}' ;; esac
  prev=$a
done
exec '{real}' "$@"
"""


def capture_config(penv, real_runc, workdir):
    """Run one `podman run` through a shim named runc; return (config dict, shim argv log)."""
    shim_dir = os.path.join(workdir, "shim")
    os.makedirs(shim_dir, exist_ok=True)
    shim = os.path.join(shim_dir, "runc")
    out = os.path.join(workdir, "captured-config.json")
    log = os.path.join(workdir, "shim.log")
    with open(shim, "w") as f:
        f.write(SHIM.format(log=log, real=real_runc, out=out))
    os.chmod(shim, 0o755)
    r = subprocess.run(penv.run_cmd(shim), env=penv.env, capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"podman run via shim failed ({r.returncode}): {r.stderr.strip()}")
    with open(out) as f:
        cfg = json.load(f)
    with open(log) as f:
        argv_log = f.read().splitlines()
    return cfg, argv_log


HEX64 = re.compile(r"[0-9a-f]{64}")


def scrub(cfg, base):
    """Remove what ties podman's config.json to this host and this container.

    root.path -> "rootfs"; bind sources under podman's own dirs -> "@FILES@/<name>" (the bench
    makes those files); cgroupsPath dropped (the bench sets one per container); container ids
    -> zeros; hooks dropped (podman adds none without hooks dirs)."""
    zero = "0" * 64
    cfg["root"]["path"] = "rootfs"
    for m in cfg.get("mounts", []):
        src = m.get("source", "")
        if src.startswith(base):
            m["source"] = "@FILES@/" + os.path.basename(src)
    cfg.get("linux", {}).pop("cgroupsPath", None)
    cfg.pop("hooks", None)
    text = json.dumps(cfg)
    text = HEX64.sub(zero, text)
    text = text.replace(base, "@BASE@")
    cfg = json.loads(text)
    if "hostname" in cfg:
        cfg["hostname"] = "bench"
    env = cfg.get("process", {}).get("env", [])
    cfg["process"]["env"] = ["HOSTNAME=bench" if e.startswith("HOSTNAME=") else e for e in env]
    return cfg
