//go:build linux

package http

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// slabResident is how many bytes of the table's read buffers are in
// memory (mincore).
func slabResident(t *testing.T, tab *connTable) int {
	t.Helper()
	page := uintptr(unix.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(tab.slab)))
	start, end := p&^(page-1), (p+uintptr(len(tab.slab))+page-1)&^(page-1)
	vec := make([]byte, (end-start)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n * int(page)
}

// TestShortConnectionsTouchFewBuffers: a stream of one-request
// connections reuses the slot freed last, so that only a few of the
// table's read buffers become resident, not every slot's in turn.
func TestShortConnectionsTouchFewBuffers(t *testing.T) {
	tt := startDeferred(t, Config{MaxConnections: 512})
	before := slabResident(t, tt.srv.table)
	for i := 0; i < 300; i++ {
		if r := roundTrip(t, tt.addr, "GET "+announceURL(ih(40), 1000+i, "&left=1")+" HTTP/1.0\r\n\r\n"); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	if grown := slabResident(t, tt.srv.table) - before; grown > 16*MaxRequestBytes {
		t.Fatalf("300 sequential connections made %d bytes of read buffers resident (%d slots' worth)", grown, grown/MaxRequestBytes)
	}
}
