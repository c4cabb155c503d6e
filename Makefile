# SPDX-License-Identifier: GPL-2.0-or-later
# Front door: `make` builds, `make check` runs every test, `make demo` runs the main job on the
# simulated node, `make deb` builds the Debian packages into $(BUILD)/deb and runs lintian. Missing Debian build dependencies are installed when run as root on Debian 12,
# otherwise the exact command is printed.

BUILD ?= build
MESON ?= meson
# Build and test dependencies (Debian 12 package names). sim/vm/run installs the simulated
# node's own (qemu, kernel image and headers, busybox) the same way when it first runs.
DEPS := meson ninja-build gcc pkg-config python3 libkmod-dev libjson-c-dev libcmocka-dev \
	psmisc lsof valgrind libtirpc-dev rpcsvc-proto python3-prometheus-client
# `make deb` and the simulated Debian node (sim/vm/run --userland debian).
DEB_DEPS := debhelper dpkg-dev lintian mmdebstrap

# make fuzz: every libFuzzer target (tests/fuzz) for FUZZ_SECONDS each, in a clang
# ASan+UBSan build of its own; bench/README.md records a long run.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all build deps check demo deb clean fuzz

all: build

deps:
	@./tools/ensure-deps $(DEPS)

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: build
	@status=0; $(MESON) test -C $(BUILD) --print-errorlogs $(TESTFLAGS) || status=$$?; \
		python3 tests/summary.py $(BUILD)/meson-logs/testlog.json || status=1; exit $$status

# dpkg-buildpackage -us -uc -b in a copy of the tree under $(BUILD)/deb; lintian must be clean.
deb: deps
	@./tools/ensure-deps $(DEB_DEPS)
	./tools/build-deb $(BUILD)

$(FUZZ_BUILD)/build.ninja: | deps
	@./tools/ensure-deps clang libclang-rt-14-dev
	CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_BUILD)

demo: build
	@if [ -x sim/demo ]; then GK_BUILD_DIR=$(BUILD) ./sim/demo; else ./tools/fixture-demo $(BUILD); fi

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
