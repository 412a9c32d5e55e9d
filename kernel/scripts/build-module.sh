#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build smmu_kho.ko out of tree against the pinned kernel build; prints its path.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kdir=$("$here/scripts/build-kernel.sh")
log=$kdir/smmu_kho-module.log
exec 9>"$kdir/../.module.lock"
flock 9
if ! make -s -C "$kdir" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
	M="$here/module" -j2 modules > "$log" 2>&1; then
	cat "$log" >&2; echo "build-module: failed, log: $log" >&2; exit 1
fi
grep -i warning "$log" >&2 || true
echo "$here/module/smmu_kho.ko"
