#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Generate kernel/patches/ (the upstream-shaped series) from kernel/series/, kernel/core and kernel/driver.
#
# Usage: kernel/scripts/gen-series.sh [--check | --workspace DIR]
#   (none)           rewrite kernel/patches/ (0000-cover-letter.patch + one per entry)
#   --check          regenerate into a temporary directory and fail (exit 1,
#                    with the differing files) if kernel/patches/ disagrees
#   --workspace DIR  leave the generated git workspace in DIR (to edit hunks)
#
# One source of truth: kernel/series/series lists the patches in order.  For
# an entry NAME, NAME.msg is its commit message (subject, blank line, body),
# NAME.diff (optional) the hand-written hunks to files that exist upstream,
# and NAME.files (optional) the new files it adds or changes, one per line:
#   TREE-PATH REPO-PATH [-USYMBOL...]   place REPO-PATH (relative to kernel/)
#       at TREE-PATH; -USYMBOL drops the `#ifdef SYMBOL` ... `#endif /* SYMBOL */`
#       blocks, so that code only a later patch introduces (test hooks) is not
#       in the earlier one
#   TREE-DIR/ GLOB...                   place every file GLOB matches in TREE-DIR
# After the last entry every placed file must equal its source (nothing left
# stripped), and every file of kernel/core and kernel/driver must be placed.
# The base is the pristine tree (tag `base` of the cached source, see
# fetch-source.sh); commits have a fixed author and date, so the output only
# changes when a source does.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
export SMMU_KHO_CACHE
mode=write ws=
case ${1:-} in
--check) mode=check ;;
--workspace) mode=workspace; ws=${2:?--workspace DIR} ;;
"") ;;
*) echo "usage: $0 [--check | --workspace DIR]" >&2; exit 2 ;;
esac
ser=$here/series
src=$("$here/scripts/fetch-source.sh")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "$ws" ] || ws=$tmp/ws
[ ! -e "$ws" ] || { echo "gen-series: $ws exists; remove it first" >&2; exit 1; }

export GIT_AUTHOR_NAME="smmu-kho developers" GIT_AUTHOR_EMAIL="smmu-kho@users.noreply.localhost"
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
export GIT_AUTHOR_DATE="2026-12-04 06:00:00 +0000" GIT_COMMITTER_DATE="2026-12-04 06:00:00 +0000"
G=(git -C "$ws" -c core.autocrlf=false -c commit.gpgsign=false)

# strip_blocks FILE SYMBOL...: FILE without its `#ifdef SYMBOL` blocks (and
# without the blank line a block leaves doubled, or trailing).
strip_blocks() {
	local f=$1
	shift
	awk -v syms=" $* " '
		!skip && /^#ifdef / && index(syms, " " $2 " ") { skip = $2; next }
		skip && $0 == "#endif /* " skip " */" { skip = ""; next }
		skip { next }
		$0 == "" { blank = 1; next }
		{ if (blank) print ""; blank = 0; print }
		END { if (skip) { print "unterminated #ifdef " skip > "/dev/stderr"; exit 1 } }
	' "$f"
}

entries=$(grep -v '^#' "$ser/series" | grep -v '^$')
# Base: the pristine version of every upstream file a hunk touches.
mkdir -p "$ws"
"${G[@]}" init -q
for e in $entries; do
	[ -f "$ser/$e.diff" ] || continue
	sed -n 's#^+++ b/##p; s#^--- a/##p' "$ser/$e.diff"
done | sort -u | while read -r f; do
	mkdir -p "$ws/$(dirname "$f")"
	git -C "$src" show "base:$f" > "$ws/$f"
done
"${G[@]}" add -A
"${G[@]}" commit -qm "base: pristine files the series touches"
"${G[@]}" tag base

declare -A placed=()	# repo path -> "stripped" or "whole"
for e in $entries; do
	[ -f "$ser/$e.msg" ] || { echo "gen-series: $e.msg missing" >&2; exit 1; }
	if [ -f "$ser/$e.diff" ] && ! "${G[@]}" apply --whitespace=nowarn "$ser/$e.diff"; then
		echo "gen-series: $e.diff does not apply after the entries before it" >&2; exit 1
	fi
	if [ -f "$ser/$e.files" ]; then
		while read -r dst rest; do
			case $dst in ''|'#'*) continue ;; esac
			if [ "${dst%/}" != "$dst" ]; then
				for g in $rest; do
					for f in "$here"/$g; do
						[ -f "$f" ] || { echo "gen-series: $e: no file $g" >&2; exit 1; }
						mkdir -p "$ws/$dst"
						cp "$f" "$ws/$dst$(basename "$f")"
						placed[${f#"$here"/}]=whole
					done
				done
				continue
			fi
			read -r from syms <<<"$rest"
			[ -f "$here/$from" ] || { echo "gen-series: $e: no file $from" >&2; exit 1; }
			mkdir -p "$ws/$(dirname "$dst")"
			if [ -n "$syms" ]; then
				strip_blocks "$here/$from" ${syms//-U/} > "$ws/$dst"
				placed[$from]=stripped
			else
				cp "$here/$from" "$ws/$dst"
				placed[$from]=whole
			fi
		done < "$ser/$e.files"
	fi
	"${G[@]}" add -A
	"${G[@]}" commit -q -F "$ser/$e.msg"
done
bad=0
for f in "$here"/core/*.[ch] "$here"/core/env/kernel/*.h "$here"/driver/*.[ch]; do
	r=${f#"$here"/}
	[ "${placed[$r]:-}" = whole ] || { echo "gen-series: $r is ${placed[$r]:-not placed} at the end of the series" >&2; bad=1; }
done
[ $bad = 0 ] || exit 1

out=$tmp/patches
"${G[@]}" format-patch -q --zero-commit --no-signature --cover-letter -o "$out" base
cover=$out/0000-cover-letter.patch
subject=$(head -n1 "$ser/cover-letter")
tail -n +3 "$ser/cover-letter" > "$tmp/blurb"
awk -v subject="$subject" -v blurb="$tmp/blurb" '
	/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, subject) }
	/^\*\*\* BLURB HERE \*\*\*$/ { while ((getline l < blurb) > 0) print l; next }
	{ print }' "$cover" > "$tmp/cover" && mv "$tmp/cover" "$cover"
# format-patch dates the cover letter "now": pin it like the commits.
sed -i "s/^Date: .*/Date: $(date -R -d "$GIT_AUTHOR_DATE")/" "$cover"

case $mode in
write)
	rm -f "$here"/patches/*.patch
	mkdir -p "$here/patches"
	cp "$out"/*.patch "$here/patches/"
	echo "gen-series: wrote $(ls "$out" | wc -l) files to kernel/patches" >&2 ;;
check)
	if ! diff -r -q "$out" "$here/patches" >&2; then
		diff -r -u "$here/patches" "$out" | head -n 40 >&2 || true
		echo "gen-series: kernel/patches disagrees with kernel/series, core, driver: run kernel/scripts/gen-series.sh" >&2
		exit 1
	fi
	echo "gen-series: kernel/patches matches its sources ($(ls "$out" | wc -l) files)" >&2 ;;
workspace)
	"${G[@]}" log --oneline >&2
	echo "gen-series: workspace in $ws (base = pristine files)" >&2
	;;
esac
