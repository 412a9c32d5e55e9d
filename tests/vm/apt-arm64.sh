# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Sourced by the VM scripts: fetch Debian arm64 .debs with apt-get download under a private apt state and unpack them with dpkg -x.
#
# Nothing is installed on the host and no multiarch setup is needed: the
# apt state (lists, archives, the downloaded .debs) lives in
# $SMMU_KHO_CACHE/apt-<suite>-arm64, and its one source line is built at
# run time from the URI of the machine's own Debian source
# (/etc/apt/sources.list.d/*.sources, else sources.list).
#   apt_arm64_init TAG SUITE    sets APT (the apt-get/apt-cache options) and
#                               apt_dir, runs apt-get update; TAG prefixes
#                               the messages
#   apt_arm64_download PKG...   into $apt_dir/dl (emptied first)
#   apt_arm64_unpack DIR ARCHS  dpkg -x every downloaded .deb into DIR;
#                               ARCHS is "arm64" or "arm64 all": any other
#                               architecture is an error
# Each returns non-zero with a message on stderr when it fails.
apt_arm64_init() {
	local uri
	apt_tag=$1
	uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$uri" ] || uri=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	[ -n "$uri" ] || { echo "$apt_tag: no Debian apt URI in /etc/apt" >&2; return 1; }
	apt_dir=$SMMU_KHO_CACHE/apt-$2-arm64
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/dl"
	printf 'deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$uri" "$2" > "$apt_dir/sources.list"
	APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	     -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
	     -o Dir::State::Status=/dev/null -o APT::Architecture=arm64
	     -o APT::Architectures::=arm64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
	echo "$apt_tag: apt-get update ($2, arm64) in $apt_dir" >&2
	apt-get "${APT[@]}" update -qq >&2
}

apt_arm64_download() {
	rm -f "$apt_dir/dl/"*.deb
	(cd "$apt_dir/dl" && apt-get "${APT[@]}" download -qq "$@" >&2)
}

apt_arm64_unpack() {
	local deb arch ok
	for deb in "$apt_dir/dl/"*.deb; do
		ok=0
		for arch in $2; do case $deb in *_"$arch".deb) ok=1 ;; esac; done
		[ $ok = 1 ] || { echo "$apt_tag: $deb is not ${2// //}" >&2; return 1; }
		dpkg -x "$deb" "$1" || return 1
	done
}
