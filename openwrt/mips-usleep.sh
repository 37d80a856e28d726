#!/bin/sh
# mips-usleep.sh DIR: writes DIR/overlay.json, a "go build -overlay" file
# that corrects the Go runtime's usleep on linux/mips and linux/mipsle, and
# prints its absolute path. $GO is the go command (default: go). Build with "go build -overlay DIR/overlay.json".
#
# Why: runtime.usleep on 32-bit MIPS Linux (sys_linux_mipsx.s) puts
# usec - 1000*sec into tv_nsec instead of (usec % 1000000) * 1000, so it
# sleeps microseconds as nanoseconds. The runtime's monitor thread (sysmon)
# sleeps with it between checks: meant to back off from 20 µs to 10 ms while
# the process is busy, it wakes every few microseconds instead (in practice
# every timer slack, 50 µs), each time with a nanosleep and two
# clock_gettime system calls (32-bit MIPS has no vDSO). On a single-core
# router that thread takes CPU from the tracker whenever it is busy. The
# same bug was fixed for ppc64 (golang/go#56374) and s390x (golang/go#71714);
# Go 1.23 to 1.26 still have it on mips.
#
# The correction takes the remainder the division already left in HI. The
# file is patched, not replaced, so it matches whatever Go builds; when the
# pattern is not found (a Go that fixed it, or changed the function), the
# overlay is empty and the build goes on unpatched, with a warning.
# Always exits 0 once DIR/overlay.json is written.
set -u
dir=${1:?usage: mips-usleep.sh DIR}
mkdir -p "$dir/runtime" || exit 1
dir=$(cd "$dir" && pwd) || exit 1
out="$dir/overlay.json"
empty() {
	echo "mips-usleep.sh: $1; building with the runtime as it is" >&2
	echo '{"Replace":{}}' >"$out"
	echo "$out"
	exit 0
}
goroot=$("${GO:-go}" env GOROOT 2>/dev/null) || empty "go env GOROOT failed"
src="$goroot/src/runtime/sys_linux_mipsx.s"
[ -r "$src" ] || empty "$src not found"
# The function's body, as in Go 1.23-1.26:
#	MOVW	LO, R3          sec = usec / 1000000
#	MOVW	R3, 24(R29)     tv_sec
#	MOVW	$1000, R4
#	MULU	R3, R4          R4 = sec * 1000
#	MOVW	LO, R4
#	SUBU	R4, R5          R5 = usec - sec*1000  (wrong)
#	MOVW	R5, 28(R29)     tv_nsec
# becomes (HI read two instructions before the next multiplication, which
# MIPS I required)
#	MOVW	LO, R3
#	MOVW	HI, R5          usec % 1000000
#	MOVW	R3, 24(R29)
#	MOVW	$1000, R4
#	MULU	R5, R4
#	MOVW	LO, R5          (usec % 1000000) * 1000
#	MOVW	R5, 28(R29)
awk '
	/^TEXT runtime·usleep\(SB\)/ { in_fn = 1 }
	in_fn && $1 == "RET" { in_fn = 0 }
	in_fn && $1 == "MOVW" && $2 == "LO," && $3 == "R3" && done == 0 { print; print "\tMOVW\tHI, R5"; done++; next }
	in_fn && $1 == "MULU" && $2 == "R3," && $3 == "R4" && done == 1 { print "\tMULU\tR5, R4"; done++; next }
	in_fn && $1 == "MOVW" && $2 == "LO," && $3 == "R4" && done == 2 { print "\tMOVW\tLO, R5"; done++; next }
	in_fn && $1 == "SUBU" && $2 == "R4," && $3 == "R5" && done == 3 { done++; next }
	{ print }
	END { exit done == 4 ? 0 : 1 }
' "$src" >"$dir/runtime/sys_linux_mipsx.s" || empty "usleep in $src is not the known one (fixed upstream?)"
# The assembler looks for quoted includes beside the file first: the
# runtime's own header must be found there too.
cp "$goroot/src/runtime/go_tls.h" "$dir/runtime/" || empty "go_tls.h not found"
printf '{"Replace":{"%s":"%s"}}\n' "$src" "$dir/runtime/sys_linux_mipsx.s" >"$out"
echo "$out"
