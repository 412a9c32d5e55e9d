#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fetch Debian's arm64 static libfdt.a, libprotobuf-c.a and libjson-c.a (+ headers) into a sysroot for the VM's smmu-khod.
#
# The .debs (libfdt-dev, libprotobuf-c-dev, libjson-c-dev of bookworm, Architecture arm64)
# are downloaded with apt into a private state directory, using the URI of
# the machine's own Debian source read at run time, and unpacked with
# dpkg -x: nothing is installed system-wide, no multiarch setup is needed.
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

uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$uri" ] || uri=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
[ -n "$uri" ] || { echo "fetch-arm64-libs: no Debian apt URI in /etc/apt" >&2; exit 1; }

apt_dir=$SMMU_KHO_CACHE/apt-$SUITE-arm64
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/dl"
printf 'deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
	"$uri" "$SUITE" > "$apt_dir/sources.list"
APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
     -o Dir::State::Status=/dev/null -o APT::Architecture=arm64
     -o APT::Architectures::=arm64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
echo "fetch-arm64-libs: apt-get update ($SUITE, arm64) in $apt_dir" >&2
apt-get "${APT[@]}" update -qq >&2
rm -f "$apt_dir/dl/"*.deb
(cd "$apt_dir/dl" && apt-get "${APT[@]}" download -qq "${PKGS[@]}" >&2)
tmp=$sysroot.tmp.$$
rm -rf "$tmp"; mkdir -p "$tmp"
for deb in "$apt_dir/dl/"*.deb; do
	case $deb in *_arm64.deb) ;; *) echo "fetch-arm64-libs: $deb is not arm64" >&2; exit 1 ;; esac
	echo "fetch-arm64-libs: unpacking $(basename "$deb")" >&2
	dpkg -x "$deb" "$tmp"
done
rm -rf "$sysroot"; mv "$tmp" "$sysroot"
touch "$sysroot/.complete"
complete || { echo "fetch-arm64-libs: $sysroot is incomplete after unpacking" >&2; exit 1; }
echo "$sysroot"
