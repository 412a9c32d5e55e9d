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
# One build at a time per cache: git am and make share the tree.
exec 9>"$SMMU_KHO_CACHE/.build.lock"
flock 9
src=$("$here/scripts/fetch-source.sh")
out=${SMMU_KHO_KBUILD:-$SMMU_KHO_CACHE/build-arm64}
mkdir -p "$out"
MK=(make -s -C "$src" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O="$out")
t0=$(date +%s)
log() { echo "build-kernel: [$(( $(date +%s) - t0 ))s] $*" >&2; }

# --- patches: keep the tree at exactly base + `git am` of kernel/patches/ --
# The series is self-contained: it adds every new file itself (core, driver,
# KUnit test), nothing is copied in.  When the series changes, the tree is
# reset to the pristine tag `base` and the series applied again with git am;
# files whose content did not change get their old mtime back, so the build
# stays incremental.
G=(git -C "$src" -c user.name=smmu-kho -c user.email=smmu-kho@localhost)
mapfile -t series < <(ls "$here"/patches/*.patch | grep -v /0000-cover-letter.patch)
want=$(cat "${series[@]}" | sha256sum | cut -c1-16)
stamp=$src/.git/smmu-kho-series
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ -n "$("${G[@]}" status --porcelain --untracked-files=no)" ]; then
	old=$("${G[@]}" rev-parse HEAD)
	mtimes=$SMMU_KHO_CACHE/.series-mtimes
	"${G[@]}" diff --name-only base "$old" | while read -r f; do
		[ -f "$src/$f" ] && echo "$("${G[@]}" rev-parse "$old:$f") $(stat -c %Y "$src/$f") $f"
	done > "$mtimes"
	rm -f "$stamp"
	"${G[@]}" am --abort >/dev/null 2>&1 || true
	"${G[@]}" reset -q --hard base
	# Files an older build copied in (not in base) would make git am refuse
	# to create them; the source tree holds nothing else (O= builds).
	"${G[@]}" clean -q -f -d -x -e /.smmu-kho-unpacked
	log "git am kernel/patches (${#series[@]} patches)"
	if ! "${G[@]}" am -q "${series[@]}" >&2; then
		"${G[@]}" am --abort >/dev/null 2>&1 || true
		echo "build-kernel: kernel/patches does not apply to the pristine tree (git am)" >&2; exit 1
	fi
	while read -r blob mtime f; do
		[ "$("${G[@]}" rev-parse -q --verify "HEAD:$f" 2>/dev/null)" = "$blob" ] && touch -d "@$mtime" "$src/$f"
	done < "$mtimes"
	echo "$want" > "$stamp"
fi

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
