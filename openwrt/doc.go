// Package openwrt holds the OpenWrt packaging of opentracker and its tests.
//
// The package itself is not Go: Makefile is the feed package,
// files/opentracker.config the default UCI file, ipk.sh the cross-build and
// .ipk packer used by "make ipk", and ../init.d/opentracker the procd init
// script. The tests in this directory build the packages, read them back,
// run every architecture's binary under qemu-user and the init script under
// busybox ash with stand-ins for OpenWrt's shell helpers (testdata/standin).
package openwrt
