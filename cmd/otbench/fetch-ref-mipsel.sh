#!/bin/sh
# Unpacks Debian's mipsel opentracker (the reference, built for the CPU this
# tracker targets) with its libraries into DIR/root, for `otbench qemu`,
# which runs it with qemu-mipsel-static -cpu 24Kf -L DIR/root. Needs root
# the first time (dpkg --add-architecture mipsel, apt-get update).
set -eu
dir=${1:?usage: fetch-ref-mipsel.sh DIR}
root=$dir/root
if [ -x "$root/usr/bin/opentracker" ]; then
	exit 0
fi
if ! dpkg --print-foreign-architectures | grep -qx mipsel; then
	dpkg --add-architecture mipsel
	apt-get update -qq
fi
mkdir -p "$dir/debs" "$root"
debs=$(cd "$dir/debs" && pwd)
# apt's sandbox user must be able to write the download directory.
chmod 777 "$debs"
(cd "$debs" && apt-get download opentracker:mipsel libowfat0:mipsel libc6:mipsel zlib1g:mipsel) ||
	{ apt-get update -qq && (cd "$debs" && apt-get download opentracker:mipsel libowfat0:mipsel libc6:mipsel zlib1g:mipsel); }
for f in "$debs"/*.deb; do
	dpkg -x "$f" "$root"
done
# The guest's loader finds multiarch libraries through /etc/ld.so.cache,
# which the unpacked root lacks: link them into /lib, which it always
# searches.
for f in "$root"/lib/mipsel-linux-gnu/*.so*; do
	ln -sf "mipsel-linux-gnu/$(basename "$f")" "$root/lib/$(basename "$f")"
done
echo "reference unpacked: $root/usr/bin/opentracker"
