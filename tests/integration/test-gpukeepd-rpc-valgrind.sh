#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-gpukeepd-rpc.sh's whole session with gpukeepd under valgrind: no leak, no memory error.
GK_RPC_VALGRIND=1 exec "$(dirname "${BASH_SOURCE[0]}")/test-gpukeepd-rpc.sh"
