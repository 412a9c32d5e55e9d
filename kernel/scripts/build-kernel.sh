#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the pinned Linux 7.3 arm64 kernel with kernel/patches/ applied.
#
# Source and build directory live in $SMMU_KHO_CACHE (outside the repo), so
# a warm machine rebuilds incrementally.  Config: the liveupdate selftest
# fragments + kernel/config/smmu-kho.config, re-checked after olddefconfig.
# Prints the build directory on stdout; the build log is in it (build.log).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
export SMMU_KHO_CACHE
mkdir -p "$SMMU_KHO_CACHE"
# One build at a time per cache: patching, copying and make share the tree.
exec 9>"$SMMU_KHO_CACHE/.build.lock"
flock 9
src=$("$here/scripts/fetch-source.sh")
out=${SMMU_KHO_KBUILD:-$SMMU_KHO_CACHE/build-arm64}
mkdir -p "$out"
MK=(make -s -C "$src" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O="$out")
t0=$(date +%s)
log() { echo "build-kernel: [$(( $(date +%s) - t0 ))s] $*" >&2; }

# --- patches: keep the tree at exactly the series in kernel/patches/ -------
applied=$src/.smmu-kho-applied
mkdir -p "$applied"
want=$(cd "$here/patches" 2>/dev/null && ls *.patch 2>/dev/null | sort || true)
have=$(cd "$applied" && ls *.patch 2>/dev/null | sort || true)
same=1
if [ "$want" != "$have" ]; then same=0; else
	for p in $want; do cmp -s "$here/patches/$p" "$applied/$p" || same=0; done
fi
if [ $same = 0 ]; then
	for p in $(echo "$have" | sort -r); do
		[ -n "$p" ] || continue
		log "reverting $p"; patch -s -R -p1 -d "$src" < "$applied/$p"; rm -f "$applied/$p"
	done
	for p in $want; do
		log "applying $p"
		if ! patch -s -p1 -N -d "$src" --dry-run < "$here/patches/$p" >/dev/null; then
			echo "build-kernel: patch $p does not apply to $src" >&2; exit 1
		fi
		patch -s -p1 -N -d "$src" < "$here/patches/$p"; cp "$here/patches/$p" "$applied/$p"
	done
fi

# --- in-tree additions: the driver's live-update file and the portable core --
# The patches hook them in; their sources of truth are kernel/driver and
# kernel/core.  rsync -c keeps mtimes of unchanged files (incremental build).
smmu_dir=$src/drivers/iommu/arm/arm-smmu-v3
rsync -rc "$here/driver/" "$smmu_dir/"
rsync -rc --delete --exclude=env/user --exclude='*.mk' "$here/core/" "$smmu_dir/skho/"

# --- config ----------------------------------------------------------------
frag=$out/smmu-kho.fragment
cat "$src/tools/testing/selftests/liveupdate/config" \
    "$src/tools/testing/selftests/liveupdate/config.aarch64" \
    "$here/config/smmu-kho.config" > "$frag.new"
if ! cmp -s "$frag.new" "$frag" || [ ! -f "$out/.config" ]; then
	log "configuring in $out"
	cp "$frag.new" "$out/.config"
	"${MK[@]}" olddefconfig
	mv "$frag.new" "$frag"
else rm -f "$frag.new"; fi
bad=0
while IFS= read -r line; do
	case $line in CONFIG_*=y|CONFIG_*=m)
		grep -qxF "$line" "$out/.config" || { echo "build-kernel: config lost $line after olddefconfig" >&2; bad=1; } ;;
	esac
done < "$here/config/smmu-kho.config"
[ $bad = 0 ] || exit 1

# --- build -----------------------------------------------------------------
log "building Image and modules (log: $out/build.log)"
if ! "${MK[@]}" -j"$(( $(nproc) + 1 ))" Image modules > "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2; echo "build-kernel: failed, log: $out/build.log" >&2; exit 1
fi
log "done: $out/arch/arm64/boot/Image"
echo "$out"
