# SPDX-License-Identifier: GPL-2.0-or-later
# Front door: `make` builds, `make check` runs every test, `make demo` runs the main job on the
# simulated node. Missing Debian build dependencies are installed when run as root on Debian 12,
# otherwise the exact command is printed.

BUILD ?= build
MESON ?= meson
# Build and test dependencies (Debian 12 package names). sim/vm/run installs the simulated
# node's own (qemu, kernel image and headers, busybox) the same way when it first runs.
DEPS := meson ninja-build gcc pkg-config python3 libkmod-dev libjson-c-dev libcmocka-dev \
	psmisc lsof valgrind python3-prometheus-client

.PHONY: all build deps check demo clean

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

demo: build
	@if [ -x sim/demo ]; then GK_BUILD_DIR=$(BUILD) ./sim/demo; else ./tools/fixture-demo $(BUILD); fi

clean:
	rm -rf $(BUILD)
