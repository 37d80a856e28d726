#!/bin/sh
# Test hook of the OpenWrt packages feed CI, run on the target after the
# package is installed: $1 is the package name, $2 its version
# (PKG_VERSION-rPKG_RELEASE). The binary must report that version, and its
# check mode must accept a configuration (an empty file: every key has a
# default) and say so.
[ "$1" = opentracker ] || exit 0
ver="$(opentracker -v 2>&1)"
case "$2" in
"${ver#opentracker-go }" | "${ver#opentracker-go }"-*) ;;
*)
	echo "opentracker -v says '$ver', the package is $2" >&2
	exit 1
	;;
esac
out="$(opentracker -t -f /dev/null 2>&1)" || {
	echo "$out" >&2
	exit 1
}
echo "$out" | grep -q "configuration /dev/null ok"
