#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fetch and unpack the pinned Linux 7.3 source (Debian linux-source-7.3).
#
# The .deb is downloaded with apt into a private state directory, using the
# URI of the machine's own Debian source with the trixie-backports suite;
# nothing is installed system-wide.  Output: $SMMU_KHO_CACHE/linux-<ver>/
# (prints its path on stdout).  Idempotent: a complete tree is reused.
# The tree is a git repository whose tag `base` is the pristine source:
# build-kernel.sh resets it there and applies kernel/patches with `git am`.
# A tree from before that (patched in place, no .git) is unpacked afresh.
set -euo pipefail
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
PKG=linux-source-7.3
PIN=${SMMU_KHO_KERNEL_PIN:-7.3.4-1~bpo13+1}
SUITE=trixie-backports
src=$SMMU_KHO_CACHE/linux-$PIN
mkdir -p "$SMMU_KHO_CACHE"

if [ -f "$src/.smmu-kho-unpacked" ] && git -C "$src" rev-parse -q --verify base >/dev/null 2>&1; then
	echo "$src"; exit 0
fi

uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$uri" ] || uri=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
[ -n "$uri" ] || { echo "fetch-source: no Debian apt URI in /etc/apt" >&2; exit 1; }

apt_dir=$SMMU_KHO_CACHE/apt-$SUITE
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/dl"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$uri" "$SUITE" > "$apt_dir/sources.list"
APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
     -o Dir::State::Status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
deb=$(ls "$apt_dir/dl/${PKG}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
	echo "fetch-source: downloading $PKG=$PIN from $SUITE" >&2
	apt-get "${APT[@]}" update -qq >&2
	avail=$(apt-cache "${APT[@]}" madison "$PKG" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}')
	if ! grep -qxF "$PIN" <<<"$avail"; then
		echo "fetch-source: $PKG version $PIN is not in $SUITE (available: ${avail:-none})." >&2
		echo "fetch-source: set SMMU_KHO_KERNEL_PIN to an available 7.3.x version and re-run." >&2
		exit 1
	fi
	(cd "$apt_dir/dl" && apt-get "${APT[@]}" download -qq "$PKG=$PIN" >&2)
	deb=$(ls "$apt_dir/dl/${PKG}_"*.deb | head -n1)
fi
echo "fetch-source: unpacking $deb" >&2
tmp=$SMMU_KHO_CACHE/unpack.$$; rm -rf "$tmp"; mkdir -p "$tmp"
dpkg -x "$deb" "$tmp"
tarball=$(ls "$tmp"/usr/src/linux-source-7.3.tar.* | head -n1)
rm -rf "$src.tmp"; mkdir -p "$src.tmp"
tar -C "$src.tmp" --strip-components=1 -xf "$tarball"
rm -rf "$tmp"
echo "fetch-source: recording the pristine tree as git tag base" >&2
G=(git -C "$src.tmp" -c user.name=smmu-kho -c user.email=smmu-kho@localhost -c core.compression=1)
"${G[@]}" init -q
"${G[@]}" config gc.auto 0	# no background repack of 80,000 objects
"${G[@]}" add -A -f	# -f: Debian's tree ignores everything (.gitignore: /*)
GIT_AUTHOR_DATE="2026-01-01 00:00 +0000" GIT_COMMITTER_DATE="2026-01-01 00:00 +0000" "${G[@]}" commit -qm "linux $PIN (pristine)"
"${G[@]}" tag base
rm -rf "$src"; mv "$src.tmp" "$src"
touch "$src/.smmu-kho-unpacked"
echo "$src"
