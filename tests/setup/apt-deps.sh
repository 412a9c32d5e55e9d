#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install every Debian package smmu-kho needs, idempotently, on Debian 12.
#
# The apt URI is read from the machine's own sources at run time; no mirror
# host name is written anywhere.  bookworm-backports is added (same URI) for
# QEMU 10, whose SMMUv3 model does stage 1, stage 2 and nesting.
#
# Usage: tests/setup/apt-deps.sh [host|vm|all]   (default: all)
set -euo pipefail
what=${1:-all}
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

host_pkgs=(build-essential clang llvm libclang-rt-14-dev libfdt-dev
	   device-tree-compiler libprotobuf-c-dev protobuf-c-compiler
	   libjson-c-dev libsystemd-dev systemd pkg-config python3)
vm_pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross flex bison bc python3
	 libssl-dev libelf-dev cpio xz-utils kmod rsync device-tree-compiler)

apt_uri() {
	# First URI of the main Debian source, deb822 or one-line style.
	local u
	u=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$u" ] || u=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	[ -n "$u" ] || { echo "apt-deps: no Debian apt URI found in /etc/apt" >&2; exit 1; }
	echo "$u"
}

missing() { local p; for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done; }

updated=0
apt_update() { [ $updated = 1 ] || { $SUDO apt-get update -qq; updated=1; }; }

install_set() {
	local m; m=$(missing "$@")
	[ -z "$m" ] && return 0
	apt_update
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $m >/dev/null
}

ensure_backports() {
	local f=/etc/apt/sources.list.d/smmu-kho-bookworm-backports.sources
	[ -f "$f" ] && return 0
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$(apt_uri)" | $SUDO tee "$f" >/dev/null
	updated=0
}

qemu_ok() {
	command -v qemu-system-aarch64 >/dev/null &&
	qemu-system-aarch64 --version | awk 'NR==1{split($4,v,"."); exit !(v[1]>=10)}'
}

case $what in host|all) install_set "${host_pkgs[@]}" ;; esac
case $what in vm|all)
	install_set "${vm_pkgs[@]}"
	if ! qemu_ok; then
		ensure_backports; apt_update
		$SUDO apt-get install -y -qq --no-install-recommends \
			-t bookworm-backports qemu-system-arm >/dev/null
		qemu_ok || { echo "apt-deps: QEMU >= 10 not available from bookworm-backports" >&2; exit 1; }
	fi ;;
esac
echo "apt-deps: $what packages present"
