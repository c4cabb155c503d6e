# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2154 # arg_*, CACHE, KPKG and the rest are the runner's
# The Debian userland of the simulated node (sim/vm/run --userland debian): a Debian 12 root
# built by mmdebstrap (minbase + systemd), booted as the whole initramfs with systemd as PID 1,
# the project's .deb files installed into it. Sourced by sim/vm/run, which owns the kernel, the
# fake modules, the serial protocol and the caches; see sim/README.md, "The Debian node".

DEBIAN_SUITE=bookworm
# systemd-sysv: systemd as /sbin/init; udev: device units and modalias loading as on a real
# node; kmod: modprobe for systemd-modules-load; dbus: what a Debian node with systemd has;
# procps: ps and pgrep for the tests.
# libtirpc3: a dependency of the project's packages (the RPC socket) that minbase lacks
DEBIAN_INCLUDE=systemd-sysv,udev,kmod,dbus,procps,libtirpc3
# /usr merged by mmdebstrap's own hook, not by the usrmerge package, which would pull in perl
# (45 MB more for the kernel to unpack at every boot).
DEBIAN_HOOK=/usr/share/mmdebstrap/hooks/merged-usr
# The Slurm flavour (--slurm) adds Debian's Slurm 22.05 (controller, node daemon, client) and
# munge to the same root, in a cache of its own, so the plain node's boots do not pay for them;
# iproute2 for the address nvsim-slurm-conf gives the loopback device.
DEBIAN_SLURM_INCLUDE=slurmctld,slurmd,slurm-client,munge,iproute2
MMDEBSTRAP_TIMEOUT=900	# seconds; about 30 s with a reachable mirror
DPKG_TIMEOUT=300

# Units the node does without: gettys (the serial ports belong to the runner), timers that
# would start apt or fstrim mid-test, mounts whose modules the initramfs does not carry, and
# the random seed (nothing survives a boot of a root in RAM; it waited for entropy for seconds).
DEBIAN_MASK=(getty.target serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer
	dpkg-db-backup.timer e2scrub_all.timer fstrim.timer e2scrub_reap.service
	proc-sys-fs-binfmt_misc.automount sys-fs-fuse-connections.mount sys-kernel-config.mount
	dev-hugepages.mount systemd-pstore.service systemd-random-seed.service)

debian_missing_packages() {
	local missing=() p
	for p in mmdebstrap debhelper dpkg-dev; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
			missing+=("$p")
	done
	echo "${missing[*]}"
}

debian_install_packages() {
	local missing
	missing=$(debian_missing_packages)
	[ -n "$missing" ] || return 0
	[ "$(id -u)" = 0 ] ||
		die "$EXIT_CANNOT" "missing packages; as root run: apt-get update && apt-get install -y $missing"
	apt_update_once || die "$EXIT_CANNOT" "apt-get update failed: no package mirror?"
	say "apt-get install -y $missing"
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
		die "$EXIT_CANNOT" "apt-get install failed"
}

# A cpio of a tree that keeps owners and modes (the busybox layers are all root's).
mkcpio_owned() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$2.tmp"
	mv "$2.tmp" "$2"
}

# debian_customize ROOT: what turns the minbase tree into the simulated node.
debian_customize() {
	local root=$1 u
	ln -sf /lib/systemd/systemd "$root/init"
	# A fixed machine id: an empty one would make each boot a "first boot" (presets applied).
	printf 'nvsim%s\n' "$(printf '%s' "$DEBIAN_SUITE" | md5sum | cut -c1-27)" >"$root/etc/machine-id"
	echo nvsim >"$root/etc/hostname"
	# The base packages were unpacked without docs and man pages; the project's keep theirs.
	rm -f "$root/etc/dpkg/dpkg.cfg.d/99mmdebstrap"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
	for u in "${DEBIAN_MASK[@]}"; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	rm -f "$root/etc/systemd/system/getty.target.wants/getty@tty1.service" \
		"$root/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service" \
		"$root/etc/systemd/system/sysinit.target.wants/systemd-pstore.service"
	rm -f "$root"/etc/systemd/system/timers.target.wants/*

	# The journal in /run only (the root is in RAM anyway): no flush to /var at boot.
	mkdir -p "$root/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/nvsim.conf"

	mkdir -p "$root/lib/modules/$KPKG/extra"
	cp "$KMOD_OUT"/*.ko "$root/lib/modules/$KPKG/extra/"
	cp "$KDIR"/modules.* "$root/lib/modules/$KPKG/"
	depmod -b "$root" "$KPKG" || die "$EXIT_BROKEN" "depmod failed for the Debian root"

	install -m 0755 "$SIM_DIR/vm/guest/nvsim-mknod" "$root/usr/sbin/nvsim-mknod"
	install -m 0755 "$TOOLS_OUT/nvsim-open" "$root/usr/bin/nvsim-open"
	install -D -m 0755 "$SIM_DIR/vm/debian/nvsim-job" "$root/usr/libexec/nvsim/nvsim-job"
	install -m 0644 "$SIM_DIR/vm/debian/nvsim-mknod.service" "$SIM_DIR/vm/debian/nvsim-job.service" \
		"$root/etc/systemd/system/"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf ../nvsim-mknod.service ../nvsim-job.service \
		"$root/etc/systemd/system/multi-user.target.wants/"
	# As after a node's first boot: the ConditionNeedsUpdate= units (ldconfig, sysusers, hwdb,
	# catalog) have run for this /usr. The packages' postinst runs systemd-sysusers itself.
	touch "$root/etc/.updated" "$root/var/.updated"
	[ "$arg_slurm" = 0 ] || debian_customize_slurm "$root"
}

# The Slurm flavour: Debian's munge, slurmctld and slurmd units start at boot as on a real
# node, once nvsim-slurm-conf.service has written slurm.conf for this host; nvsim-slurm-wait
# waits for the node to be idle.
debian_customize_slurm() {
	local root=$1 src=$SIM_DIR/vm/debian/slurm
	install -m 0755 "$src/nvsim-slurm-conf" "$root/usr/libexec/nvsim/nvsim-slurm-conf"
	install -m 0755 "$src/nvsim-slurm-wait" "$root/usr/bin/nvsim-slurm-wait"
	install -m 0644 "$src/nvsim-slurm-conf.service" "$root/etc/systemd/system/"
	ln -sf ../nvsim-slurm-conf.service "$root/etc/systemd/system/multi-user.target.wants/"
	[ -s "$root/etc/munge/munge.key" ] || die "$EXIT_BROKEN" "munge's postinst made no /etc/munge/munge.key"
}

# The cache and the package list of the flavour asked for.
debian_flavour() {
	if [ "$arg_slurm" = 1 ]; then
		DEB_CACHE=$CACHE/debian-slurm
		DEB_PACKAGES=$DEBIAN_INCLUDE,$DEBIAN_SLURM_INCLUDE
		DEB_GUEST_FILES=("$SIM_DIR"/vm/debian/nvsim-* "$SIM_DIR"/vm/debian/slurm/*)
	else
		DEB_CACHE=$CACHE/debian
		DEB_PACKAGES=$DEBIAN_INCLUDE
		DEB_GUEST_FILES=("$SIM_DIR"/vm/debian/nvsim-*)
	fi
}

# The root file system without the project: rebuilt when the kernel, the modules, the guest
# files or the package list change (not when the mirror moves on: remove DIR/sim/debian).
debian_build_base() {
	local key tmp dir=$DEB_CACHE t0
	key=$( {
		echo "$KPKG $KMOD_OUT $TOOLS_OUT $DEBIAN_SUITE $DEB_PACKAGES $DEBIAN_HOOK ${DEBIAN_MASK[*]}"
		mmdebstrap --version
		hash_files "${DEB_GUEST_FILES[@]}" "$SIM_DIR"/vm/debian.sh "$SIM_DIR"/vm/guest/nvsim-mknod
	} | short_hash)
	DEB_ROOTFS=$dir/rootfs-$key
	BASE_LAYER=$dir/base-$key.cpio
	[ -s "$BASE_LAYER" ] && [ -d "$DEB_ROOTFS" ] && return 0
	[ "$(id -u)" = 0 ] || die "$EXIT_CANNOT" "building the Debian root (mmdebstrap, chroot) needs root"
	mkdir -p "$dir"
	rm -rf "$dir"/rootfs-* "$dir"/base-* "$dir"/project-* "$dir"/.build.*
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	say "building the Debian $DEBIAN_SUITE root with mmdebstrap (about 30 s, once): $DEB_PACKAGES"
	t0=$SECONDS
	if ! timeout "$MMDEBSTRAP_TIMEOUT" mmdebstrap --quiet --variant=minbase \
		--include="$DEB_PACKAGES" --hook-dir="$DEBIAN_HOOK" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		"$DEBIAN_SUITE" "$tmp/rootfs.tar" >"$tmp/mmdebstrap.log" 2>&1; then
		tail -n 20 "$tmp/mmdebstrap.log" >&2
		rm -rf "$tmp"
		die "$EXIT_CANNOT" "mmdebstrap $DEBIAN_SUITE failed: no package mirror?"
	fi
	mkdir "$tmp/root"
	tar -xpf "$tmp/rootfs.tar" --numeric-owner -C "$tmp/root" ||
		die "$EXIT_BROKEN" "cannot unpack the Debian root"
	rm -f "$tmp/rootfs.tar"
	debian_customize "$tmp/root"
	mkcpio_owned "$tmp/root" "$tmp/base.cpio"
	mv "$tmp/root" "$DEB_ROOTFS"
	mv "$tmp/base.cpio" "$BASE_LAYER"
	rm -rf "$tmp"
	say "the Debian root took $((SECONDS - t0)) s; its layer is $(($(stat -c %s "$BASE_LAYER") / 1048576)) MB"
}

# The project's packages, built by tools/build-deb when the sources changed.
debian_build_debs() {
	verbose "building the project's .deb files (tools/build-deb --if-stale)"
	"$SRC_ROOT/tools/build-deb" --if-stale --no-lintian "$arg_build_dir" >"$CACHE/build-deb.log" 2>&1 || {
		cat "$CACHE/build-deb.log" >&2
		die "$EXIT_BROKEN" "building the project's Debian packages failed"
	}
	mapfile -t DEBS < <(find "$arg_build_dir/deb" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' | LC_ALL=C sort)
	[ ${#DEBS[@]} -gt 0 ] || die "$EXIT_BROKEN" "no .deb in $arg_build_dir/deb"
}

# The packages installed with dpkg in a copy of the root, as on a real node; the layer holds
# only what dpkg created or changed (ctime after a mark), and the .deb files themselves, in
# /var/cache/gpukeep-debs, for the tests that remove and install them again.
debian_build_project() {
	local key stage dir=$DEB_CACHE names=() d
	key=$( {
		basename "$BASE_LAYER"
		hash_files "${DEBS[@]}"
	} | short_hash)
	PROJECT_LAYER=$dir/project-$key.cpio
	[ -s "$PROJECT_LAYER" ] && return 0
	verbose "installing ${DEBS[*]##*/} into the Debian root"
	rm -f "$dir"/project-*
	stage=$(mktemp -d "$dir/.build.XXXXXX")
	cp -a --reflink=auto "$DEB_ROOTFS" "$stage/root"
	touch "$stage/mark"
	mkdir -p "$stage/root/var/cache/gpukeep-debs"
	cp "${DEBS[@]}" "$stage/root/var/cache/gpukeep-debs/"
	for d in "${DEBS[@]}"; do
		names+=("/var/cache/gpukeep-debs/${d##*/}")
	done
	if ! timeout "$DPKG_TIMEOUT" chroot "$stage/root" dpkg -i "${names[@]}" >"$stage/dpkg.log" 2>&1; then
		cat "$stage/dpkg.log" >&2
		rm -rf "$stage"
		die "$EXIT_BROKEN" "dpkg -i of the project's packages failed in the Debian root"
	fi
	(cd "$stage/root" && find . -mindepth 1 -cnewer "$stage/mark" | LC_ALL=C sort |
		cpio -o -H newc --quiet) >"$PROJECT_LAYER.tmp"
	mv "$PROJECT_LAYER.tmp" "$PROJECT_LAYER"
	rm -rf "$stage"
}

debian_prepare() {
	debian_flavour
	debian_install_packages
	debian_build_base
	debian_build_debs
	debian_build_project
}

# The per-boot layer: the command, the module options, and which modules systemd loads.
debian_write_job_layer() {
	local root=$1 mods=(nvsim_hw)
	mkdir -p "$root/etc/nvsim" "$root/etc/modules-load.d" "$root/etc/modprobe.d"
	printf '%s\n' "$COMMAND" >"$root/etc/nvsim/cmd"
	if [ "$arg_driver" = 1 ]; then
		mods+=(nvidia nvidia_uvm nvidia_drm)
		[ "$arg_peermem" = 0 ] || mods+=(nvidia_peermem)
	else
		# udev would load nvidia by its PCI modalias, as on a real node: not with --no-driver.
		printf '# written by %s: --no-driver\nblacklist nvidia\n' "$PROG" \
			>"$root/etc/modprobe.d/nvsim-no-driver.conf"
	fi
	printf '%s\n' "# written by $PROG for this boot" "${mods[@]}" \
		>"$root/etc/modules-load.d/nvsim.conf"
}
