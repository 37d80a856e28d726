#!/bin/sh
# Cross-builds opentracker for OpenWrt targets and packs opkg .ipk files the
# way OpenWrt's scripts/ipkg-build does, without the OpenWrt SDK:
# a gzipped tar of ./debian-binary, ./data.tar.gz and ./control.tar.gz.
#
#   sh openwrt/ipk.sh cross BINDIR [ARCH...]      BINDIR/<arch>/opentracker
#   sh openwrt/ipk.sh pack BINDIR OUTDIR [ARCH...] OUTDIR/opentracker_<version>_<arch>.ipk
#   sh openwrt/ipk.sh version                      the package version
#   sh openwrt/ipk.sh goenv ARCH                   Go settings for an OpenWrt arch
#
# Without ARCH: mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4
# aarch64_cortex-a53 x86_64. Run from anywhere; paths are taken as given.
# Environment: VERSION (default: from "git describe", else 0.1.0), RELEASE
# (1), GO (go), SOURCE_DATE_EPOCH (default: time of the last commit).
# Needs GNU tar (--sort=name) and gzip.

# "local" is in dash and busybox ash.
# shellcheck disable=SC3043

set -eu

ARCHES="mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 x86_64"
TOP="$(cd "$(dirname "$0")/.." && pwd)"
GO="${GO:-go}"
RELEASE="${RELEASE:-1}"

die() {
	echo "ipk.sh: $*" >&2
	exit 1
}

# OpenWrt arch (as in /etc/opkg/arch.conf) to Go's settings. OpenWrt itself
# picks GOMIPS=softfloat unless the CPU has an FPU, and GOARM 5, 6 or 7 from
# the FPU of the CPU subtype (none: 5, vfp/vfpv2: 6, else 7).
goenv() {
	case "$1" in
	mipsel_24kc | mipsel_74kc | mipsel_mips32) echo "GOARCH=mipsle GOMIPS=softfloat" ;;
	mips_24kc | mips_4kec | mips_mips32) echo "GOARCH=mips GOMIPS=softfloat" ;;
	arm_cortex-a7_neon-vfpv4 | arm_cortex-a9_vfpv3-d16 | arm_cortex-a9_neon | \
		arm_cortex-a15_neon-vfpv4 | arm_cortex-a5_vfpv4 | arm_cortex-a8_vfpv3 | arm_cortex-a7)
		echo "GOARCH=arm GOARM=7" ;;
	arm_arm1176jzf-s_vfp | arm_mpcore) echo "GOARCH=arm GOARM=6" ;;
	arm_arm926ej-s | arm_xscale | arm_fa526 | arm_cortex-a9) echo "GOARCH=arm GOARM=5" ;;
	aarch64_cortex-a53 | aarch64_cortex-a72 | aarch64_cortex-a76 | aarch64_generic) echo "GOARCH=arm64" ;;
	x86_64) echo "GOARCH=amd64" ;;
	i386_pentium4) echo "GOARCH=386 GO386=sse2" ;;
	i386_pentium-mmx) echo "GOARCH=386 GO386=softfloat" ;;
	*) return 1 ;;
	esac
}

version() {
	local v
	if [ -n "${VERSION:-}" ]; then
		echo "$VERSION"
		return
	fi
	# v1.2.3 -> 1.2.3; v1.2.3-4-gabcdef (4 commits later) -> 1.2.3.4, which
	# opkg orders after 1.2.3 and before 1.2.4.
	if v="$(git -C "$TOP" describe --tags --match 'v[0-9]*' 2>/dev/null)"; then
		v="${v#v}"
		case "$v" in
		*-*-g*)
			local n="${v%-g*}"
			echo "${v%%-*}.${n##*-}"
			;;
		*) echo "$v" ;;
		esac
	else
		echo 0.1.0
	fi
}

cross() {
	local bindir="$1" arch env v overlay
	shift
	# shellcheck disable=SC2086 # one word per arch
	[ "$#" -gt 0 ] || set -- $ARCHES
	v="$(version)"
	# The Go runtime's usleep is wrong on 32-bit MIPS: see mips-usleep.sh.
	overlay="$(GOTOOLCHAIN=local sh "$TOP/openwrt/mips-usleep.sh" "$bindir/mips-usleep")" ||
		die "cannot write the mips usleep overlay"
	for arch in "$@"; do
		env="$(goenv "$arch")" || die "unknown OpenWrt arch $arch"
		mkdir -p "$bindir/$arch"
		echo "ipk.sh: building $arch ($env)" >&2
		# shellcheck disable=SC2086 # $env is a list of VAR=value words
		(cd "$TOP" && env GOOS=linux CGO_ENABLED=0 GOTOOLCHAIN=local $env \
			"$GO" build -trimpath -buildvcs=false -overlay "$overlay" \
			-ldflags "-s -w -X main.version=$v" \
			-o "$bindir/$arch/opentracker" ./cmd/opentracker)
	done
}

# OpenWrt's generated maintainer scripts: hand over to default_postinst /
# default_prerm from /lib/functions.sh (enable + start / stop + disable the
# init script), or do nothing when building an image offline.
maintainer_script() {
	cat <<EOF
#!/bin/sh
[ "\${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "\${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
. "\${IPKG_INSTROOT}/lib/functions.sh"
$1 "\$0" "\$@"
EOF
}

pack_one() {
	local bin="$1" outdir="$2" arch="$3" pkgver="$4" work root ctl size ipk
	local tarflags="--format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime=@$EPOCH"
	[ -f "$bin" ] || die "no binary $bin (run: sh openwrt/ipk.sh cross ...)"
	work="$(mktemp -d)"
	root="$work/root"
	ctl="$work/CONTROL"
	mkdir -p "$root/usr/sbin" "$root/etc/init.d" "$root/etc/config" "$root/lib/upgrade/keep.d" "$ctl"
	cp "$bin" "$root/usr/sbin/opentracker"
	cp "$TOP/init.d/opentracker" "$root/etc/init.d/opentracker"
	cp "$TOP/openwrt/files/opentracker.config" "$root/etc/config/opentracker"
	# sysupgrade keeps what keep.d lists: the access lists in /etc/opentracker
	cp "$TOP/openwrt/files/opentracker.keep" "$root/lib/upgrade/keep.d/opentracker"
	chmod 0755 "$root" "$root/usr" "$root/usr/sbin" "$root/etc" "$root/etc/init.d" "$root/etc/config" "$ctl"
	chmod 0755 "$root/lib" "$root/lib/upgrade" "$root/lib/upgrade/keep.d"
	chmod 0644 "$root/lib/upgrade/keep.d/opentracker"
	chmod 0755 "$root/usr/sbin/opentracker" "$root/etc/init.d/opentracker"
	# as OpenWrt's INSTALL_CONF does
	chmod 0600 "$root/etc/config/opentracker"

	# shellcheck disable=SC2086 # $tarflags is a list of options
	tar $tarflags -C "$root" -cf - . | gzip -9n >"$work/data.tar.gz"
	size="$(gzip -dc "$work/data.tar.gz" | wc -c | tr -d ' ')"

	cat >"$ctl/control" <<EOF
Package: opentracker
Version: $pkgver
Depends: libc
Conflicts: opentracker6
Require-User: opentracker:opentracker
SourceName: opentracker
License: MIT
LicenseFiles: LICENSE
Section: net
URL: https://github.com/opentracker-go/opentracker
Architecture: $arch
Installed-Size: $size
Description:  BitTorrent tracker (HTTP and UDP, IPv4 and IPv6) with a fixed
 memory budget, configured through UCI (/etc/config/opentracker) and run by
 procd. A Go implementation of opentracker.
EOF
	echo /etc/config/opentracker >"$ctl/conffiles"
	maintainer_script default_postinst >"$ctl/postinst"
	maintainer_script default_prerm >"$ctl/prerm"
	chmod 0644 "$ctl/control" "$ctl/conffiles"
	chmod 0755 "$ctl/postinst" "$ctl/prerm"
	ipk="$outdir/opentracker_${pkgver}_${arch}.ipk"
	assemble "$ctl" "$work" "$ipk"
	rm -rf "$work"
	echo "$ipk"
}

# assemble packs the control files in CTL beside WORK/data.tar.gz into IPK
# as OpenWrt's scripts/ipkg-build does: a gzipped tar of ./debian-binary,
# ./data.tar.gz and ./control.tar.gz, reproducible from EPOCH.
assemble() {
	local ctl="$1" work="$2" ipk="$3"
	local tarflags="--format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime=@$EPOCH"
	# shellcheck disable=SC2086 # $tarflags is a list of options
	tar $tarflags -C "$ctl" -cf - . | gzip -9n >"$work/control.tar.gz"
	echo 2.0 >"$work/debian-binary"
	# shellcheck disable=SC2086
	(cd "$work" && tar $tarflags -cf - ./debian-binary ./data.tar.gz ./control.tar.gz) | gzip -9n >"$ipk.tmp"
	mv "$ipk.tmp" "$ipk"
}

set_epoch() {
	EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || date +%s)}"
}

pack() {
	local bindir="$1" outdir="$2" arch pkgver
	shift 2
	# shellcheck disable=SC2086 # one word per arch
	[ "$#" -gt 0 ] || set -- $ARCHES
	pkgver="$(version)-r$RELEASE"
	set_epoch
	mkdir -p "$outdir"
	for arch in "$@"; do
		goenv "$arch" >/dev/null || die "unknown OpenWrt arch $arch"
		pack_one "$bindir/$arch/opentracker" "$outdir" "$arch" "$pkgver"
	done
}

umask 022
cmd="${1:-}"
[ "$#" -gt 0 ] && shift
case "$cmd" in
cross)
	[ "$#" -ge 1 ] || die "usage: ipk.sh cross BINDIR [ARCH...]"
	cross "$@"
	;;
pack)
	[ "$#" -ge 2 ] || die "usage: ipk.sh pack BINDIR OUTDIR [ARCH...]"
	pack "$@"
	;;
version) echo "$(version)-r$RELEASE" ;;
assemble)
	[ "$#" = 3 ] || die "usage: ipk.sh assemble CTLDIR WORKDIR IPK"
	set_epoch
	assemble "$@"
	;;
goenv)
	[ "$#" = 1 ] || die "usage: ipk.sh goenv ARCH"
	goenv "$1" || die "unknown OpenWrt arch $1"
	;;
*) die "usage: ipk.sh cross|pack|version|assemble|goenv ..." ;;
esac
