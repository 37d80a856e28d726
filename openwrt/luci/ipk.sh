#!/bin/sh
# Packs luci-app-opentracker_<version>_all.ipk the way OpenWrt's luci.mk and
# scripts/ipkg-build do, without the SDK: htdocs/ goes under /www, root/
# under /; a gzipped tar of ./debian-binary, ./data.tar.gz, ./control.tar.gz.
#
#   sh openwrt/luci/ipk.sh OUTDIR
#
# The version is the daemon package's (openwrt/ipk.sh version), which the
# app depends on. Needs GNU tar and gzip.

# shellcheck disable=SC3043 # "local" is in dash and busybox ash

set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
OUT="${1:?usage: ipk.sh OUTDIR}"

umask 022
pkgver="$(sh "$TOP/openwrt/ipk.sh" version)"
EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || date +%s)}"
tarflags="--format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime=@$EPOCH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/www" "$work/CONTROL" "$OUT"
cp -R "$HERE/htdocs/." "$work/root/www/"
cp -R "$HERE/root/." "$work/root/"
find "$work/root" -type d -exec chmod 0755 {} +
find "$work/root" -type f -exec chmod 0644 {} +
chmod 0755 "$work/root/usr/libexec/rpcd/opentracker"

# shellcheck disable=SC2086 # $tarflags is a list of options
tar $tarflags -C "$work/root" -cf - . | gzip -9n >"$work/data.tar.gz"
size="$(gzip -dc "$work/data.tar.gz" | wc -c | tr -d ' ')"
cat >"$work/CONTROL/control" <<CTL
Package: luci-app-opentracker
Version: $pkgver
Depends: libc, luci-base, opentracker, uclient-fetch
SourceName: luci-app-opentracker
Section: luci
URL: https://github.com/opentracker-go/opentracker
Architecture: all
Installed-Size: $size
Description:  LuCI support for opentracker, the BitTorrent tracker: status
 (peers, torrents, announces, memory budget, last-hour plot) and settings of
 every option of /etc/config/opentracker.
CTL
# luci.mk's postinst: drop LuCI's caches and make rpcd read the new ACL and
# plugin (SIGHUP), unless installing into an image being built.
cat >"$work/CONTROL/postinst" <<'PI'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	killall -HUP rpcd 2>/dev/null
	exit 0
}
PI
chmod 0644 "$work/CONTROL/control"
chmod 0755 "$work/CONTROL/postinst" "$work/CONTROL"
ipk="$OUT/luci-app-opentracker_${pkgver}_all.ipk"
SOURCE_DATE_EPOCH="$EPOCH" sh "$TOP/openwrt/ipk.sh" assemble "$work/CONTROL" "$work" "$ipk"
echo "$ipk"
