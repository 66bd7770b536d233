# brick: build, install, demo, test. `make demo` and `make test` work on a fresh Debian 12 machine
# (as root): they install what they need with apt-get first.

PREFIX ?= /usr/local
CARGO ?= cargo
BRICK := target/release/brick
PROBE := integration/probe/target/x86_64-unknown-linux-gnu/release/probe
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DEMO_DIR ?= build/demo

# Debian packages: build (libseccomp, libselinux + libclang for its bindings) and test tools.
APT_PKGS := build-essential pkg-config libseccomp-dev libselinux1-dev clang libclang-dev \
            busybox-static jq util-linux procps strace uidmap

.PHONY: all build install deps demo test unit lint integration probe clean bench bench-smoke test-clients ci test-vm layout

all: build

# One static binary: no dynamic loader, no relocations, no shared libraries to map at start;
# its functions laid out in the order bench/layout/hot-functions.txt gives, so a container's
# life maps few pages of it (bench/README.md). proc-macros cannot be linked statically, hence
# the explicit --target; the stripped result goes to target/release/brick for every script.
TARGET ?= $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
build:
	BRICK_COMMIT=$(COMMIT) RUSTFLAGS="-C target-feature=+crt-static" LIBSECCOMP_LINK_TYPE=static \
		LIBSECCOMP_LIB_PATH=$$(pkg-config --variable=libdir libseccomp) \
		BRICK_LINK_ORDER=$(CURDIR)/bench/layout/hot-functions.txt \
		$(CARGO) build --release --target $(TARGET)
	mkdir -p target/release && rm -f $(BRICK) && strip -o $(BRICK) target/$(TARGET)/release/brick

# Regenerates the link order from an unstripped build (slow: single-steps every verb).
layout: build
	bash bench/layout/order.sh target/$(TARGET)/release/brick bench/layout/hot-functions.txt

install: build
	install -D -m 0755 $(BRICK) $(DESTDIR)$(PREFIX)/bin/brick

deps:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

probe:
	cd integration/probe && RUSTFLAGS="-C target-feature=+crt-static" \
		$(CARGO) build --release --target x86_64-unknown-linux-gnu

# A hardened container from a busybox rootfs made on the spot.
demo: deps build
	sh scripts/demo.sh $(BRICK) $(DEMO_DIR)

unit:
	$(CARGO) test --all-targets -- --test-threads=2

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# As root, then the rootless pass: the same tests with brick run by a normal user
# (integration/rootless.sh; what cannot apply is in integration/rootless.skip, with why).
integration: build probe
	RUNTIME=$(BRICK) bash integration/run.sh
	IT_ROOTLESS=1 RUNTIME=$(BRICK) bash integration/run.sh

# The whole suite, as CI runs it.
test: deps lint unit integration

# podman (conmon), containerd (ctr + runc shim), buildah and Docker Engine driving brick end to end, then
# rootless podman and buildah (run by a normal user); each suite installs its Debian packages
# and configures its client only through its own files.
test-clients: build
	bash integration/clients/podman.sh
	bash integration/clients/containerd.sh
	bash integration/clients/buildah.sh
	bash integration/clients/docker.sh
	ROOTLESS=1 bash integration/clients/podman.sh
	ROOTLESS=1 bash integration/clients/buildah.sh

# SELinux enforcing + pure cgroup v2 (and v1) in a qemu VM built from Debian packages (cached
# in VM_CACHE, default /var/cache/brick-vm): integration/vm/README.md.
test-vm: build probe
	bash integration/vm/test-vm.sh

# What .ci/run does: everything above, plus a one-iteration bench so that it keeps working.
ci: test test-clients bench-smoke

# brick vs crun vs runc side by side (bench/README.md); prints a table, writes bench/results.json.
bench: build
	sh bench/bench.sh

# One iteration of every case, as CI runs it (measures only, asserts nothing).
bench-smoke: build
	mkdir -p build && BENCH_N=1 BENCH_ROUNDS=1 BENCH_PODMAN_N=1 BENCH_OUT=build/bench-smoke.json sh bench/bench.sh

clean:
	$(CARGO) clean
	rm -rf build integration/probe/target
