#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build (once, then reuse) the base guest root file system with Debian sid's arm64 systemd 262, unpacked without installing.
#
# The .debs are fetched with `apt-get download` under a private apt state
# whose source line is built at run time from the URI of the machine's own
# Debian source, and unpacked with `dpkg -x` (tests/vm/apt-arm64.sh):
# nothing is installed on the host and the host's systemd is never touched.
# Then the few files systemd needs to boot are written: passwd/group (from
# base-passwd), os-release (base-files), a fixed machine-id (no first-boot
# units), hostname, fstab (root on /dev/vda, smmu-khod's state disk on
# /dev/vdb at /var/lib/smmu-kho), multi-user.target as default, and no
# getty (the serial console only shows the boot).
#
# Output: $SMMU_KHO_CACHE/sysd-rootfs/base (printed on stdout).  Idempotent:
# reused while $SMMU_KHO_CACHE/sysd-rootfs/base/.complete holds the same
# package list and recipe version; otherwise rebuilt.
# Exit status: 0 done, 1 fetch/unpack failed (message on stderr).
set -euo pipefail
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
SUITE=sid
RECIPE=5	# bump when the steps below change
# systemd and what it needs to reach multi-user.target (udev: device units
# for the disks; kmod: modules-load.d), a shell and the tools the test
# driver script uses.  The closure of their Depends is resolved by apt.
ROOTS=(systemd systemd-sysv udev kmod libseccomp2 libcap2 base-files base-passwd
       dash coreutils util-linux mount grep sed findutils)
# Depends alternatives apt-cache lists that this image does not want
# (debconf front ends, the non-systemd sysusers implementations).
SKIP='^(cdebconf|debconf|libdebconfclient0|libdebian-installer4|libnewt0.52|libslang2|libtextwrap1|opensysusers|systemd-standalone-sysusers|passwd|libsemanage2|libsemanage-common|libsepol2|libpam-modules|libpam-modules-bin|login.defs)$'
top=$SMMU_KHO_CACHE/sysd-rootfs
base=$top/base
stamp="recipe=$RECIPE suite=$SUITE roots=${ROOTS[*]}"
mkdir -p "$top"

complete() {
	[ -f "$base/.complete" ] && [ "$(head -n 1 "$base/.complete")" = "$stamp" ] &&
	[ -x "$base/usr/lib/systemd/systemd" ] && [ -e "$base/usr/sbin/init" ]
}
if complete; then echo "$base"; exit 0; fi
exec 9>"$top/.lock"
flock 9
if complete; then echo "$base"; exit 0; fi

# shellcheck source=tests/vm/apt-arm64.sh
. "$(dirname "$0")/../apt-arm64.sh"
apt_arm64_init build-rootfs "$SUITE"
mapfile -t pkgs < <(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances "${ROOTS[@]}" |
	grep -v '^ ' | grep -v '^<' | grep -Ev "$SKIP" | sort -u)
echo "build-rootfs: ${#pkgs[@]} packages: ${pkgs[*]}" >&2
apt_arm64_download "${pkgs[@]}"

tmp=$top/base.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/usr/lib"
# merged /usr, as base-files and the sid packages expect
ln -s usr/bin "$tmp/bin"; ln -s usr/sbin "$tmp/sbin"; ln -s usr/lib "$tmp/lib"
apt_arm64_unpack "$tmp" "arm64 all"
dpkg-deb -f "$apt_dir/dl/"systemd_*_arm64.deb Version > "$tmp/.systemd-version"
rm -rf "$tmp/usr/share/doc" "$tmp/usr/share/man" "$tmp/usr/share/locale" "$tmp/usr/share/info"

# --- what systemd needs to boot ------------------------------------------
e=$tmp/etc
mkdir -p "$e/systemd/system" "$tmp/var/lib" "$tmp/var/log" "$tmp/root" "$tmp/tmp" \
	"$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/run" "$tmp/boot" "$tmp/var/lib/smmu-kho"
chmod 1777 "$tmp/tmp"; chmod 0700 "$tmp/root" "$tmp/var/lib/smmu-kho"
cp "$tmp/usr/share/base-passwd/passwd.master" "$e/passwd"
cp "$tmp/usr/share/base-passwd/group.master" "$e/group"
sed 's/:.*$/:*:20000:0:99999:7:::/' "$e/passwd" | sed 's/^root:\*/root:/' > "$e/shadow"
chmod 0640 "$e/shadow"
[ -e "$e/os-release" ] || ln -s ../usr/lib/os-release "$e/os-release"
echo 5a3c0ffee0dd4b1e8a7d5e6f00c0ffee > "$e/machine-id"	# fixed: not a first boot
echo skho-guest > "$e/hostname"
ln -sf ../usr/share/zoneinfo/UTC "$e/localtime" 2>/dev/null || true
cat > "$e/fstab" <<'EOF'
# <fs>     <mount point>      <type> <options>         <dump> <pass>
/dev/vda   /                  ext4   rw,errors=remount-ro 0 0
/dev/vdb   /var/lib/smmu-kho  ext4   rw,nosuid,nodev,noexec,x-systemd.device-timeout=90s 0 0
EOF
ln -sf /usr/lib/systemd/system/multi-user.target "$e/systemd/system/default.target"
# No login prompt: the serial console only shows the boot and the test driver.
# No logind (it needs a D-Bus broker, which this image does not carry), no
# ldconfig.service (libc-bin is not unpacked; the cache is not needed), no
# systemd-hwdb-update.service (compiling the hwdb takes minutes under TCG,
# and udevd, ordered after it, would leave the disks' device units waiting).
for u in systemd-logind.service ldconfig.service systemd-hwdb-update.service getty@.service serial-getty@.service getty.target console-getty.service \
	 systemd-firstboot.service systemd-timesyncd.service apt-daily.timer \
	 apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
	ln -sf /dev/null "$e/systemd/system/$u"
done
rm -rf "$base"; mv "$tmp" "$base"
echo "$stamp" > "$base/.complete"
complete || { echo "build-rootfs: $base is incomplete after unpacking" >&2; exit 1; }
echo "build-rootfs: systemd $(cat "$base/.systemd-version") in $base ($(du -sm "$base" | cut -f1) MiB)" >&2
echo "$base"
