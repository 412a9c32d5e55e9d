#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Recreate a small git workspace for editing kernel/patches/ (pristine files + the series as commits).
#
# Usage: kernel/scripts/patch-workspace.sh [DIR]   (default: $SMMU_KHO_CACHE/patch-workspace)
# Then edit with ordinary git (commit --amend, rebase -i, -s for sign-off) and
# export:  rm kernel/patches/*.patch && git -C DIR format-patch -o "$PWD/kernel/patches" base
# The workspace holds only the files the series touches, taken from the
# cached tree with the series reverse-applied, so it needs no kernel git tree.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
export SMMU_KHO_CACHE
src=$("$here/scripts/fetch-source.sh")
ws=${1:-$SMMU_KHO_CACHE/patch-workspace}
[ ! -e "$ws" ] || { echo "patch-workspace: $ws exists; remove it first" >&2; exit 1; }
files=$(sed -n 's#^diff --git a/\([^ ]*\) b/.*#\1#p' "$here"/patches/*.patch | sort -u)
mkdir -p "$ws"
for f in $files; do
	mkdir -p "$ws/$(dirname "$f")"
	[ -f "$src/$f" ] && cp "$src/$f" "$ws/$f"
done
# The cached tree may carry the series (build-kernel.sh applies it): undo it here.
applied=$src/.smmu-kho-applied
for p in $(ls "$applied"/*.patch 2>/dev/null | sort -r); do
	patch -s -R -p1 -d "$ws" < "$p"
done
cd "$ws"
git init -q
git add -A
git -c user.name=base -c user.email=base@localhost commit -qm base
git tag base
git am -q "$here"/patches/*.patch
git log --oneline
echo "patch-workspace: ready in $ws"
