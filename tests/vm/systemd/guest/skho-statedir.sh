#!/bin/sh
# ExecStartPre=+ of smmu-khod in the systemd VM test: log the entries of its state directory ($1) before it starts.
# To stderr (journal+console): the unit's DevicePolicy=closed is a cgroup
# rule, so even a "+" command cannot open /dev/kmsg.
K=1
read -r cmdline < /proc/cmdline
for a in $cmdline; do case $a in skhosd.k=*) K=${a#skhosd.k=} ;; esac; done
names='' n=0
for e in "$1"/* "$1"/.[!.]*; do
	[ -e "$e" ] || continue
	case ${e##*/} in lost+found) continue ;; esac
	n=$((n + 1)); names=${names:+$names,}${e##*/}
done
printf 'SKHOE2E k=%s data statedir_before_khod dir=%s entries=%s names=%s\n' \
	"$K" "$1" "$n" "${names:--}" >&2
exit 0
