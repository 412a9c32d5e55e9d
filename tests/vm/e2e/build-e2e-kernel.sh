#!/usr/bin/env bash
# Build the kernel for the e2e VM run: the project's kernel plus tests/vm/e2e/kernel-e2e.config (AF_UNIX for smmu-khod).
#
# First runs kernel/scripts/build-kernel.sh (keeps the shared source tree at
# the patch series and its build in $SMMU_KHO_CACHE/build-arm64 current).
# If that build already has every option of kernel-e2e.config, it is used
# as is.  Otherwise a second build directory, $SMMU_KHO_CACHE/build-arm64-e2e,
# is kept next to it: seeded once by copying the shared build (so the first
# build is incremental, not from scratch), configured as the shared .config
# plus kernel-e2e.config (olddefconfig, every option re-checked), and built
# under the same lock build-kernel.sh takes, so the source tree does not
# change underneath.  Prints the build directory to use on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
export SMMU_KHO_CACHE
frag=$here/kernel-e2e.config
t0=$(date +%s)
log() { echo "build-e2e-kernel: [$(( $(date +%s) - t0 ))s] $*" >&2; }

shared=$(env -u SMMU_KHO_KBUILD "$root/kernel/scripts/build-kernel.sh")
have_all() {	# have_all CONFIG: every =y of the fragment is set there
	local line
	while IFS= read -r line; do
		case $line in CONFIG_*=y) grep -qxF "$line" "$1" || return 1 ;; esac
	done < "$frag"
}
if have_all "$shared/.config"; then
	log "the shared build has every option of $(basename "$frag"): using it"
	echo "$shared"
	exit 0
fi

src=$(readlink -f "$shared/source" 2>/dev/null || true)
[ -d "$src" ] || src=$("$root/kernel/scripts/fetch-source.sh")
out=$SMMU_KHO_CACHE/build-arm64-e2e
exec 9>"$SMMU_KHO_CACHE/.build.lock"
flock 9
if [ ! -f "$out/.config" ]; then
	log "seeding $out from $shared (first e2e build, incremental from there)"
	rm -rf "$out.tmp"
	cp -a "$shared" "$out.tmp"
	rm -f "$out.tmp/.e2e-config"
	mv "$out.tmp" "$out"
fi
MK=(make -s -C "$src" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O="$out")
cat "$shared/.config" "$frag" > "$out/.e2e-config.new"
if ! cmp -s "$out/.e2e-config.new" "$out/.e2e-config"; then
	log "configuring $out: shared .config + $(basename "$frag")"
	cp "$out/.e2e-config.new" "$out/.config"
	"${MK[@]}" olddefconfig
	mv "$out/.e2e-config.new" "$out/.e2e-config"
else
	rm -f "$out/.e2e-config.new"
fi
have_all "$out/.config" || { echo "build-e2e-kernel: olddefconfig dropped an option of $frag" >&2; exit 1; }
log "building Image and modules (log: $out/build.log)"
if ! "${MK[@]}" -j2 Image modules > "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "build-e2e-kernel: failed, log: $out/build.log" >&2
	exit 1
fi
log "done: $out/arch/arm64/boot/Image"
echo "$out"
