#!/bin/sh
# Test driver inside the systemd guest: does what an operator would and records what systemd and smmu-khod say, as "SKHOE2E k=K ..." lines on /dev/kmsg.
#
# Run by skho-sysd-drive.service (Type=simple, so it is not itself a job
# holding up the boot).  The kernel command line says what to do:
#   skhosd.k=K        1 = first boot, 2 = the kernel after the kexec
#   skhosd.mode=M     boot: check the boot, power off
#                     update: the operator guide's systemd walkthrough
#                       (install, arm, status, abort, then `smmu-khoctl
#                       update` asks systemd for kexec.target; in kernel 2
#                       status, journalctl, finish), then the checks
#                     kexec: `smmu-khoctl update --no-jump`, then a plain
#                       `systemctl kexec`
#                     nopreserve: as kexec, with a unit that does not set
#                       FileDescriptorStorePreserve= (negative control)
# The lines use the format of tests/vm/e2e/guest_init.c ("data KIND k=v",
# "out tag=T | line", "rc tag=T rc=N", "hello", "bye"), so that
# tests/vm/e2e/e2e_check.py's parser and DMA checks judge this run too
# (tests/vm/systemd/sysd_check.py).
set -u
K=1 MODE=boot
read -r cmdline < /proc/cmdline
for a in $cmdline; do
	case $a in
	skhosd.k=*) K=${a#skhosd.k=} ;;
	skhosd.mode=*) MODE=${a#skhosd.mode=} ;;
	esac
done
DUT=0000:00:02.0
say() { printf '<5>SKHOE2E k=%s %s\n' "$K" "$*" > /dev/kmsg; }
# run TAG CMD...: every output line as "out tag=TAG | line", then "rc tag=TAG rc=N".
run() {
	tag=$1; shift
	"$@" > /run/skhosd.out 2>&1
	rc=$?
	while IFS= read -r l; do say "out tag=$tag | $l"; done < /run/skhosd.out
	say "rc tag=$tag rc=$rc"
	return $rc
}
boot_checks() {
	run is_system_running systemctl is-system-running --wait
	say "data boot uptime_s=$(cut -d' ' -f1 /proc/uptime)"
	run khod_show systemctl show smmu-khod -p ActiveState -p SubState -p StatusText \
		-p Type -p FileDescriptorStorePreserve -p NFileDescriptorStore
	run khod_status systemctl status --no-pager --lines=0 smmu-khod
	run systemd_version systemctl --version
	run failed_units systemctl list-units --failed --no-legend --plain
	run state_mount findmnt -no SOURCE,FSTYPE,OPTIONS /var/lib/smmu-kho
}
# doc_phase PHASE: the operator guide's commands for PHASE
# (tests/vm/systemd/doc_commands.py guest), each as its tag; update mode only.
DOC=/usr/lib/smmu-kho-test/doc-commands
doc_phase() {
	[ "$MODE" = update ] && [ -f "$DOC" ] || return 0
	while IFS='	' read -r ph tag cmd; do
		[ "$ph" = "$1" ] || continue
		run "$tag" sh -c "$cmd" < /dev/null
	done < "$DOC"
}
# This command line for kernel 2.
next_cmdline() {
	for a in $cmdline; do
		case $a in skhosd.k=*|edu_dma.kernel=*) ;; *) printf '%s ' "$a" ;; esac
	done
	printf 'skhosd.k=2 edu_dma.kernel=2'
}

say "hello mode=$MODE kho_in=$([ -e /sys/kernel/debug/kho/in ] && echo 1 || echo 0)"
boot_checks

if [ "$K" = 1 ] && [ "$MODE" != boot ]; then
	next=$(next_cmdline)
	# update: the operator guide's walkthrough -- install, then the plan
	# (the edit of update.conf is this driver's), arm, status, abort.
	doc_phase k1-install
	if [ "$MODE" = update ]; then
		mkdir -p /etc/smmu-kho
		printf 'KERNEL=/boot/Image\nAPPEND="%s"\nDEVICES="%s"\n' "$next" "$DUT" \
			> /etc/smmu-kho/update.conf
	fi
	doc_phase k1-arm
	run edu_prepare /usr/lib/smmu-kho-test/skho-edu 1 prepare
	# The marker: written to the state disk right before the update.
	echo "marker $(cat /proc/sys/kernel/random/boot_id)" > /var/lib/smmu-kho/marker && sync
	say "data marker written=$? boot_id=$(cat /proc/sys/kernel/random/boot_id)"
	run status_before smmu-khoctl status
	say "data update_start mode=$MODE"
	# Stopping this unit during the shutdown must not cut the output short.
	trap '' TERM
	case $MODE in
	update)
		# The operator guide's one-step route: its update command (tag update).
		doc_phase k1-update
		;;
	kexec|nopreserve)
		run update smmu-khoctl update --no-jump --kernel /boot/Image --append "$next" --device "$DUT"
		run status_preserved smmu-khoctl status
		run khod_show_preserved systemctl show smmu-khod -p StatusText -p NFileDescriptorStore
		# As an operator types it: systemctl waits for the shutdown and
		# is stopped with this unit (no "rc" line expected).
		trap - TERM
		say "data systemctl_kexec started=1"
		systemctl kexec
		say "rc tag=systemctl_kexec rc=$?"
		;;
	esac
	trap - TERM
	say "data waiting_for_kexec timeout_s=120"
	sleep 120
	say "data kexec_never_happened"
	run status_no_jump smmu-khoctl status
elif [ "$K" = 2 ]; then
	run json_after_jump smmu-khoctl status --json
	run status_after_jump smmu-khoctl status
	run edu_record /usr/lib/smmu-kho-test/skho-edu 2 record
	run edu_after /usr/lib/smmu-kho-test/skho-edu 2 after
	run verify_after_dma smmu-khoctl verify
	say "data marker_after content=\"$(cat /var/lib/smmu-kho/marker 2>&1)\""
	# smmu-khod's structured entries: one stream, and the VERIFIED state change
	run journal_sid journalctl -u smmu-khod SKHO_SID=0x10 --no-pager -o cat
	run journal_verified journalctl -u smmu-khod \
		MESSAGE_ID=8b5e1a0c4f2d4e6a9c3b7d1e5f0a2c04 --no-pager -o cat
	run kexec_count systemctl show -P KExecCount
	run shutdown_props sh -c 'systemctl show | grep -i -e kexec -e previous'
	run analyze_time systemd-analyze time
	if [ "$MODE" = update ]; then
		doc_phase k2
		doc_phase k2-finish	# its `smmu-khoctl finish --replace` (tag finish)
		doc_phase k2-after
	else
		# the guest's edu driver re-initialised the device: not hitless
		run finish smmu-khoctl finish --replace
	fi
	run json_after_finish smmu-khoctl status --json
	run status_after_finish smmu-khoctl status
fi
say "bye mode=$MODE"
systemctl poweroff
