#!/bin/sh
# ExecStartPre=+ of smmu-khod in the systemd VM test: log the entries of its state directory ($1) before it starts.
# To stderr (journal+console): the unit's DevicePolicy=closed is a cgroup
# rule, so even a "+" command cannot open /dev/kmsg.
K=1
for a in $(cat /proc/cmdline); do case $a in skhosd.k=*) K=${a#skhosd.k=} ;; esac; done
names=$(ls -A "$1" 2>/dev/null | grep -vx 'lost+found' | tr '\n' ',' | sed 's/,$//')
n=$(ls -A "$1" 2>/dev/null | grep -vxc 'lost+found')
printf 'SKHOE2E k=%s data statedir_before_khod dir=%s entries=%s names=%s\n' \
	"$K" "$1" "$n" "${names:--}" >&2
exit 0
