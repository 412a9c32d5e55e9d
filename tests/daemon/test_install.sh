#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# KTAP check of `make install`: the exact files and modes in a temp DESTDIR, the unit paths, no test code, and man pages that lint clean and cover every --help item.
#
# Usage: tests/daemon/test_install.sh   (daemon.mk runs it in daemon-check,
# with O=<build dir>; MAKE defaults to make).  It runs `make install` three
# times into throw-away DESTDIRs (the default PREFIX=/usr/local, PREFIX=/usr,
# and PREFIX=/usr with SBINDIR/UNITDIR overridden), so nothing is written
# outside /tmp.  Per man page: `groff -man -ww -z` prints nothing; every
# option, subcommand, exit code and KEY=/ENV_VAR the program's --help prints
# appears in the page (options and env anywhere, subcommands as a COMMANDS
# entry, exit codes as an EXIT STATUS entry, config keys as a KEYS entry of
# smmu-kho-update.conf(5)): the pages cannot drift from the programs.
# Negative controls, kept: the list check rejects a tree with one file
# missing, the lint rejects a page with an unknown macro, and the coverage
# check rejects pages with an option, a subcommand, an exit code or a config
# key removed.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
MAKE=${MAKE:-make}
man=$src/daemon/man
tmp=$(mktemp -d /tmp/skho-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n daemon_install.$1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n daemon_install.$1"; shift
	local l; for l in "$@"; do echo "# $l"; done
}

# inst DIR ARGS...: make install into DIR; the log in DIR.log
inst() {
	local d=$1; shift
	(cd "$src" && $MAKE -s --no-print-directory O="$O" install DESTDIR="$d" "$@") >"$d.log" 2>&1
}
# listing DIR: "type mode path" of everything below DIR, sorted
listing() { (cd "$1" && find . -mindepth 1 -printf '%y %m %P\n' | sort); }

# want_tree PREFIX SBINDIR BINDIR UNITDIR TMPFILESDIR MANDIR SYSCONFDIR DOCDIR
want_tree() {
	local f d
	{
		for d in "$@"; do	# every directory on the way, mode 0755
			d=${d#/}
			while [ -n "$d" ] && [ "$d" != . ]; do echo "d 755 $d"; d=$(dirname "$d"); done
		done
		for d in "$6/man8" "$6/man5" "$7/smmu-kho"; do echo "d 755 ${d#/}"; done
		echo "f 755 ${2#/}/smmu-khod"
		echo "f 755 ${3#/}/smmu-khoctl"
		for f in smmu-khod.service smmu-khod.socket; do echo "f 644 ${4#/}/$f"; done
		echo "f 644 ${5#/}/smmu-kho.conf"
		echo "f 644 ${6#/}/man8/smmu-khod.8"
		echo "f 644 ${6#/}/man8/smmu-khoctl.8"
		echo "f 644 ${6#/}/man5/smmu-kho-update.conf.5"
		echo "f 644 ${7#/}/smmu-kho/update.conf.example"
		for f in operator-guide.md daemon.md; do echo "f 644 ${8#/}/$f"; done
	} | sort -u
}
# same_tree NAME DIR WANT-FILE
same_tree() {
	local diffs
	if diffs=$(diff <(listing "$2") "$3"); then
		ok "$1"
	else
		mapfile -t lines <<<"$diffs"
		not_ok "$1" "installed (<) vs expected (>):" "${lines[@]}"
	fi
}

echo "KTAP version 1"
echo "1..20"

# ---- 1-3: the trees -----------------------------------------------------------
loc=$tmp/local sys=$tmp/sys ovr=$tmp/ovr
inst "$loc" || not_ok install_runs "make install (PREFIX=/usr/local) failed: $(tail -n 5 "$loc.log")"
inst "$sys" PREFIX=/usr || not_ok install_runs "make install PREFIX=/usr failed: $(tail -n 5 "$sys.log")"
inst "$ovr" PREFIX=/usr SBINDIR=/opt/skho/sbin UNITDIR=/etc/systemd/system ||
	not_ok install_runs "make install with SBINDIR/UNITDIR failed: $(tail -n 5 "$ovr.log")"
want_tree /usr/local /usr/local/sbin /usr/local/bin /usr/local/lib/systemd/system \
	/usr/local/lib/tmpfiles.d /usr/local/share/man /usr/local/etc /usr/local/share/doc/smmu-kho \
	>"$tmp/want.local"
want_tree /usr /usr/sbin /usr/bin /usr/lib/systemd/system /usr/lib/tmpfiles.d /usr/share/man /etc \
	/usr/share/doc/smmu-kho >"$tmp/want.sys"
want_tree /usr /opt/skho/sbin /usr/bin /etc/systemd/system /usr/lib/tmpfiles.d /usr/share/man /etc \
	/usr/share/doc/smmu-kho >"$tmp/want.ovr"
same_tree exact_files_and_modes_prefix_usr_local "$loc" "$tmp/want.local"
same_tree exact_files_and_modes_prefix_usr "$sys" "$tmp/want.sys"
same_tree exact_files_and_modes_sbindir_unitdir_overridden "$ovr" "$tmp/want.ovr"
# control: the same check on a tree with the tmpfiles entry missing
cp -a "$sys" "$tmp/short" && rm "$tmp/short/usr/lib/tmpfiles.d/smmu-kho.conf"
if diff <(listing "$tmp/short") "$tmp/want.sys" >/dev/null; then
	not_ok control_list_check_rejects_a_missing_file "a tree without smmu-kho.conf passed"
else
	ok control_list_check_rejects_a_missing_file
fi

# ---- 5-7: units point at the installed binary and docs --------------------------
units_point_at() {	# DIR UNITDIR SBINDIR DOCDIR
	local svc=$1$2/smmu-khod.service sock=$1$2/smmu-khod.socket
	grep -q "^ExecStart=$3/smmu-khod --backend real " "$svc" &&
	[ -x "$1$3/smmu-khod" ] &&
	grep -q "^Documentation=.*file://$4/operator-guide.md" "$svc" &&
	grep -q "^Documentation=.*file://$4/daemon.md" "$sock" &&
	[ -f "$1$4/operator-guide.md" ] &&
	! grep -h '^ExecStart=\|^Documentation=' "$svc" "$sock" | grep -v "$3/\|$4/" | grep -q /usr/
}
for t in "local /usr/local/lib/systemd/system /usr/local/sbin /usr/local/share/doc/smmu-kho" \
	 "sys /usr/lib/systemd/system /usr/sbin /usr/share/doc/smmu-kho" \
	 "ovr /etc/systemd/system /opt/skho/sbin /usr/share/doc/smmu-kho"; do
	read -r name ud sd dd <<<"$t"
	if units_point_at "$tmp/$name" "$ud" "$sd" "$dd"; then
		ok "units_exec_and_docs_point_at_install_$name"
	else
		not_ok "units_exec_and_docs_point_at_install_$name" \
			"$(grep -h '^ExecStart=\|^Documentation=' "$tmp/$name$ud"/smmu-khod.* 2>&1 | tr '\n' ' ')" \
			"(want $sd/smmu-khod and $dd/)"
	fi
done

# ---- 8: the installed daemon is the product ------------------------------------
if out=$("$src/tests/daemon/test_product.sh" "$sys/usr/sbin/smmu-khod" 2>&1); then
	ok installed_smmu_khod_holds_no_test_code
else
	mapfile -t lines <<<"$out"
	not_ok installed_smmu_khod_holds_no_test_code "${lines[@]}"
fi

# ---- 9-11: man pages lint clean (groff -ww: every warning); lint steps, tallied apart
lint() {
	local w
	w=$(groff -man -ww -z "$1" 2>&1); local rc=$?
	[ $rc = 0 ] && [ -z "$w" ] && return 0
	echo "${w:-groff exited $rc}"; return 1
}
for p in man8/smmu-khod.8 man8/smmu-khoctl.8 man5/smmu-kho-update.conf.5; do
	if w=$(lint "$sys/usr/share/man/$p"); then
		ok "lint.man_clean_${p##*/}"
	else
		mapfile -t lines <<<"$w"
		not_ok "lint.man_clean_${p##*/}" "${lines[@]}"
	fi
done

# ---- 12: control: the lint rejects an unknown macro ------------------------------
{ cat "$man/smmu-khod.8"; echo '.XX not a macro'; } >"$tmp/bad.8"
if lint "$tmp/bad.8" >/dev/null; then
	not_ok control_lint_rejects_an_unknown_macro "groff -ww printed nothing"
else
	ok control_lint_rejects_an_unknown_macro
fi

# ---- 13-15: every --help item is in the page -------------------------------------
render() { groff -man -Tascii -P-cbou -rLL=300n -rHY=0 "$1" 2>/dev/null; }
# (grep -q may stop reading early: with pipefail the writer's SIGPIPE would
# then count as "not found", so the matches below read their input whole)
section() { sed -n "/^$2\$/,/^[A-Z]/p" <<<"$1" | sed '1d;$d'; }
# covers HELP-TEXT PAGE [CONF-PAGE]: prints each --help item the page lacks
covers() {
	local help=$1 page rconf="" tok missing=()
	page=$(render "$2")
	[ -z "${3:-}" ] || rconf=$(render "$3")
	# options
	while read -r tok; do
		grep -qE -- "(^|[^A-Za-z0-9-])$tok([^a-z-]|\$)" <<<"$page" || missing+=("option $tok")
	done < <(grep -oE '(^|[^A-Za-z0-9-])--?[a-z][a-z-]*' <<<"$help" | sed 's/^[^-]*//' | sort -u)
	# subcommands: the indented first words under "commands:"
	for tok in $(sed -n '/^commands:/,/^$/p' <<<"$help" | grep -oE '^  [a-z|]+' | tr '|' '\n'); do
		section "$page" COMMANDS | grep -E "^       ([a-z]+\|)*$tok(\||[[:space:]]|\$)" >/dev/null ||
			missing+=("subcommand $tok")
	done
	# exit codes: "N word" after "exit status:"
	while read -r tok; do
		section "$page" 'EXIT STATUS' | grep -E "^       $tok " >/dev/null || missing+=("exit code $tok")
	done < <(sed -n '/[Ee]xit status:/,$p' <<<"$help" | grep -oE '(^|[:,] )[0-9]+ [a-z]' | grep -oE '[0-9]+')
	# environment variables and config keys (upper-case names with _ or =)
	while read -r tok; do
		grep -qF -- "${tok%=}" <<<"$page" || missing+=("name $tok")
		case $tok in
		*=|REUSE_CMDLINE|NO_DEVICE|NO_JUMP)
			[ -z "$rconf" ] || section "$rconf" KEYS | grep -E "^       ${tok%=}=" >/dev/null ||
				missing+=("config key ${tok%=} in smmu-kho-update.conf(5)") ;;
		esac
	done < <(grep -oE '[A-Z][A-Z0-9]*(_[A-Z0-9]+)+|[A-Z]+=' <<<"$help" | sort -u)
	[ ${#missing[@]} = 0 ] || printf '%s\n' "${missing[@]}"
}
khod_help=$("$sys/usr/sbin/smmu-khod" --help 2>&1)
ctl_help=$("$sys/usr/bin/smmu-khoctl" --help 2>&1)
m8=$sys/usr/share/man/man8 m5=$sys/usr/share/man/man5
coverage() {	# NAME HELP PAGE [CONF]
	local name=$1 miss; shift
	miss=$(covers "$@")
	if [ -z "$miss" ] && [ -n "$1" ]; then
		ok "$name"
	else
		mapfile -t lines <<<"${miss:-empty --help output}"
		not_ok "$name" "${lines[@]}"
	fi
}
coverage man_smmu_khod_covers_its_help "$khod_help" "$m8/smmu-khod.8"
coverage man_smmu_khoctl_covers_its_help "$ctl_help" "$m8/smmu-khoctl.8" "$m5/smmu-kho-update.conf.5"
# the help items themselves were found (a parser that finds nothing passes nothing)
nopt=$(grep -oE '(^|[^A-Za-z0-9-])--?[a-z][a-z-]*' <<<"$ctl_help" | sort -u | wc -l)
ncmd=$(sed -n '/^commands:/,/^$/p' <<<"$ctl_help" | grep -cE '^  [a-z|]+')
nexit=$(sed -n '/[Ee]xit status:/,$p' <<<"$ctl_help" | grep -oE '(^|[:,] )[0-9]+ [a-z]' | wc -l)
if [ "$nopt" -ge 15 ] && [ "$ncmd" = 7 ] && [ "$nexit" = 11 ]; then
	ok help_parser_finds_the_items
else
	not_ok help_parser_finds_the_items "smmu-khoctl --help: $nopt options (want >= 15), $ncmd commands (7), $nexit exit codes (11)"
fi

# ---- 16-20: controls: a page with one item removed fails the coverage ---------------
control() {	# NAME HELP SED-EXPR PAGE [CONF] (the sed applies to PAGE, or to CONF if given)
	local name=$1 help=$2 expr=$3 page=$4 conf=${5:-} miss
	if [ -n "$conf" ]; then
		sed "$expr" "$conf" >"$tmp/ctl.5"; miss=$(covers "$help" "$page" "$tmp/ctl.5")
	else
		sed "$expr" "$page" >"$tmp/ctl.8"; miss=$(covers "$help" "$tmp/ctl.8")
	fi
	if [ -n "$miss" ]; then ok "$name"; echo "# missing: $(tr '\n' ' ' <<<"$miss")"
	else not_ok "$name" "the coverage check accepted the doctored page"; fi
}
control control_coverage_rejects_a_page_without_an_option "$khod_help" \
	'/no\\-auto\\-verify/d' "$m8/smmu-khod.8"
control control_coverage_rejects_a_page_without_a_subcommand "$ctl_help" \
	's/^\.B finish .*/.B done/' "$m8/smmu-khoctl.8"
control control_coverage_rejects_a_page_without_an_exit_code "$ctl_help" \
	'/^\.B 9$/,/^\.TP$/d' "$m8/smmu-khoctl.8"
control control_coverage_rejects_a_page_without_an_env_var "$ctl_help" \
	's/SMMU_KHO_SOCKET/SMMU_SOCKET/g' "$m8/smmu-khoctl.8"
control control_coverage_rejects_a_conf_page_without_a_key "$ctl_help" \
	's/^\.B NO_JUMP=yes$/.B NO_LEAP=yes/' "$m8/smmu-khoctl.8" "$m5/smmu-kho-update.conf.5"
[ $failed = 0 ]
