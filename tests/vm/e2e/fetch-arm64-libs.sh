#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fetch Debian's arm64 static libfdt.a, libprotobuf-c.a and libjson-c.a (+ headers) into a sysroot for the VM's smmu-khod.
#
# The .debs (libfdt-dev, libprotobuf-c-dev, libjson-c-dev of bookworm, Architecture arm64)
# are downloaded and unpacked by tests/vm/apt-arm64.sh (a private apt
# state, the machine's own Debian URI, dpkg -x): nothing is installed
# system-wide, no multiarch setup is needed.
# Output: $SMMU_KHO_CACHE/sysroot-arm64 (printed on stdout), holding
# usr/include/{libfdt.h,protobuf-c/...,json-c/...} and usr/lib/aarch64-linux-gnu/*.a.
# Idempotent: a complete sysroot is reused.
set -euo pipefail
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
SUITE=bookworm
PKGS=(libfdt-dev libprotobuf-c-dev libjson-c-dev)
sysroot=$SMMU_KHO_CACHE/sysroot-arm64
libdir=$sysroot/usr/lib/aarch64-linux-gnu
mkdir -p "$SMMU_KHO_CACHE"

complete() {
	[ -f "$sysroot/.complete" ] && [ -f "$libdir/libfdt.a" ] &&
	[ -f "$libdir/libprotobuf-c.a" ] && [ -f "$libdir/libjson-c.a" ] &&
	[ -f "$sysroot/usr/include/libfdt.h" ] &&
	[ -f "$sysroot/usr/include/protobuf-c/protobuf-c.h" ] &&
	[ -f "$sysroot/usr/include/json-c/json.h" ]
}
if complete; then echo "$sysroot"; exit 0; fi

# One fetch at a time per cache.
exec 9>"$SMMU_KHO_CACHE/.sysroot-arm64.lock"
flock 9
if complete; then echo "$sysroot"; exit 0; fi

# shellcheck source=tests/vm/apt-arm64.sh
. "$(dirname "$0")/../apt-arm64.sh"
apt_arm64_init fetch-arm64-libs "$SUITE"
apt_arm64_download "${PKGS[@]}"
tmp=$sysroot.tmp.$$
rm -rf "$tmp"; mkdir -p "$tmp"
apt_arm64_unpack "$tmp" arm64
rm -rf "$sysroot"; mv "$tmp" "$sysroot"
touch "$sysroot/.complete"
complete || { echo "fetch-arm64-libs: $sysroot is incomplete after unpacking" >&2; exit 1; }
echo "$sysroot"
