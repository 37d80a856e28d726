#!/bin/sh
# Test hook of the OpenWrt packages feed CI, run on the target after the
# package is installed: $1 is the package name, $2 its version. The daemon's
# check mode must accept a configuration (an empty file: every key has a
# default) and say so.
[ "$1" = opentracker ] || exit 0
out="$(opentracker -t -f /dev/null 2>&1)" || {
	echo "$out" >&2
	exit 1
}
echo "$out" | grep -q "configuration /dev/null ok"
