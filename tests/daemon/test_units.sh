#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# systemd units of smmu-khod: `systemd-analyze verify` in a temp root, plus what they must contain (KTAP).
#
# The units are installed into a throw-away root next to copies of the host's
# system units (so dependencies like sockets.target resolve) and of the built
# binaries at their install paths; `systemd-analyze verify --root` must exit 0
# and print nothing but the one diagnostic systemd < 254 gives for
# FileDescriptorStorePreserve= (unknown there, ignored; see the unit).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
units=$src/daemon/systemd
khod=${SKHOD_BIN:-$src/build/san/daemon-test/smmu-khod}
ctl=${SKHOCTL_BIN:-$src/build/san/daemon/smmu-khoctl}
tmp=$(mktemp -d /tmp/skhod-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0; failed=0

ok() { n=$((n + 1)); echo "ok $n daemon_units.$1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n daemon_units.$1"; shift; for l in "$@"; do echo "    # $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi; }

sd_version=$(systemd-analyze --version | awk 'NR==1 {print $2}')
# Documentation=man:... must resolve (systemd-analyze verify runs man): to
# our pages, laid out as `make install` does, and to nothing else.
mkdir -p "$tmp/man/man8" "$tmp/man/man5"
cp "$src"/daemon/man/*.8 "$tmp/man/man8/"
cp "$src"/daemon/man/*.5 "$tmp/man/man5/"
export MANPATH=$tmp/man

# A root with the host's units, ours, and the binaries where ExecStart= looks.
mkroot() {
	local r=$1
	mkdir -p "$r/usr/lib/systemd" "$r/etc/systemd/system" "$r/usr/sbin" "$r/usr/bin" \
		"$r/etc/smmu-kho"
	cp -r /lib/systemd/system "$r/usr/lib/systemd/"
	cp "$units"/*.service "$units"/*.socket "$r/etc/systemd/system/"
	cp "$khod" "$r/usr/sbin/smmu-khod"
	cp "$ctl" "$r/usr/bin/smmu-khoctl"
	cp "$units/update.conf.example" "$r/etc/smmu-kho/update.conf"
}

# verify one unit; $2 = file to keep the diagnostics in
verify_unit() {
	local r=$1 unit=$2 out=$3
	systemd-analyze verify --root="$r" "$r/etc/systemd/system/$unit" >"$out" 2>&1
}

# Diagnostics other than the known one (FileDescriptorStorePreserve= on < 254).
unexpected() {
	if [ "$sd_version" -lt 254 ]; then
		grep -v "Unknown key 'FileDescriptorStorePreserve'" "$1" || true
	else
		cat "$1"
	fi
}

echo "KTAP version 1"
echo "# suite: daemon_units (systemd $sd_version)"
echo "1..9"

root=$tmp/root
mkroot "$root"
for u in smmu-khod.service smmu-khod.socket; do
	out=$tmp/$u.log
	if verify_unit "$root" "$u" "$out" && [ -z "$(unexpected "$out")" ]; then
		ok "systemd_analyze_verify_passes_${u//[.-]/_}"
	else
		mapfile -t lines < "$out"
		not_ok "systemd_analyze_verify_passes_${u//[.-]/_}" "${lines[@]}"
	fi
done

# Negative control: the same check must reject a unit whose binary is missing.
bad=$tmp/bad
mkroot "$bad"
rm "$bad/usr/sbin/smmu-khod"
if verify_unit "$bad" smmu-khod.service "$tmp/bad.log"; then
	not_ok verify_rejects_a_unit_whose_binary_is_missing "systemd-analyze verify accepted it"
else
	ok verify_rejects_a_unit_whose_binary_is_missing
fi

svc=$units/smmu-khod.service
has() { grep -qx "$2" "$1"; }
check service_is_type_notify_with_watchdog \
	bash -c "grep -qx 'Type=notify' '$svc' && grep -qx 'WatchdogSec=30s' '$svc'"
check service_keeps_an_fd_store \
	bash -c "grep -qx 'FileDescriptorStoreMax=4' '$svc' && grep -qx 'FileDescriptorStorePreserve=yes' '$svc'"
check service_allows_only_its_two_devices \
	bash -c "grep -qx 'DevicePolicy=closed' '$svc' && grep -qx 'DeviceAllow=/dev/smmu_kho rw' '$svc' && grep -qx 'DeviceAllow=/dev/liveupdate rw' '$svc' && [ \$(grep -c '^DeviceAllow=' '$svc') = 2 ]"
check service_is_hardened \
	bash -c "for k in ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateNetwork=yes RestrictAddressFamilies=AF_UNIX 'CapabilityBoundingSet=CAP_SYS_BOOT CAP_SYS_ADMIN' 'SystemCallFilter=@system-service @reboot'; do grep -qx \"\$k\" '$svc' || exit 1; done"
# systemd has no live-update.target: the update ends in systemd's own
# kexec.target (smmu-khoctl asks for it), so no unit of ours may claim it,
# and the daemon leaves the journal to the fd store and /dev/liveupdate to
# systemd-shutdown.
check no_live_update_target_and_fd_store_handover \
	bash -c "! ls '$units' | grep -q '^live-update' && grep -q '^ExecStart=/usr/sbin/smmu-khod .*--handover fd-store' '$svc'"

# The command lines in ExecStart= are ones the binaries accept: the daemon's
# options parse (--version after them exits 0 only if all were valid), and
# the update command reads the shipped config (no daemon: exit 3 "not
# running", where a config error would exit 2).
args=$(sed -n 's|^ExecStart=/usr/sbin/smmu-khod ||p' "$svc")
# shellcheck disable=SC2086
"$khod" $args --version >/dev/null 2>&1; rc1=$?
SMMU_KHO_SOCKET=$tmp/none.sock "$ctl" update --config "$units/update.conf.example" >/dev/null 2>"$tmp/ctl.err"; rc2=$?
if [ $rc1 = 0 ] && [ $rc2 = 3 ]; then
	ok execstart_command_lines_are_accepted_by_the_binaries
else
	not_ok execstart_command_lines_are_accepted_by_the_binaries "smmu-khod $args --version: $rc1 (want 0)" \
		"smmu-khoctl update --config: $rc2 (want 3): $(cat "$tmp/ctl.err")"
fi

echo "# daemon_units: $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
