#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Print the fuzz dictionary: tests/fuzz/fdt.dict plus the ABI's strings.
#
# Usage: gen-dict.sh FDT_DICT ABI_HEADER > out.dict
# Every "#define SKHO_PROP_* / SKHO_ABI_COMPATIBLE / SKHO_NODE_PREFIX" string
# of the header becomes two entries: as written, and NUL-terminated as it
# sits in the strings block (or in a property value).  Fails when the
# header yields no property name, so a renamed macro cannot silently empty
# the dictionary.
set -euo pipefail
dict=$1; hdr=$2
cat "$dict"
echo "# from $hdr"
n=0
while read -r name val; do
	key=$(echo "$name" | tr 'A-Z' 'a-z')
	printf '%s="%s"\n%s_nul="%s\\x00"\n' "$key" "$val" "$key" "$val"
	case $name in SKHO_PROP_*) n=$((n + 1)) ;; esac
done < <(sed -n -E 's/^#define[[:space:]]+(SKHO_PROP_[A-Z0-9_]+|SKHO_ABI_COMPATIBLE|SKHO_NODE_PREFIX)[[:space:]]+"([^"\\]*)".*/\1 \2/p' "$hdr")
if [ "$n" -eq 0 ]; then
	echo "gen-dict: no SKHO_PROP_* string in $hdr" >&2
	exit 1
fi
