package udp

import (
	"net/netip"
	"testing"
)

// HalfSipHash-2-4 with a 64-bit tag, reference vector: key 00..07,
// message 00..13 (vectors.h, vectors_hsip64 entry 20: 1b f5 2b 0a 6f ee a7
// db, read little-endian).
func TestHalfSipHashVector(t *testing.T) {
	le := func(start byte) uint32 {
		return uint32(start) | uint32(start+1)<<8 | uint32(start+2)<<16 | uint32(start+3)<<24
	}
	got := halfSipHash5(le(0), le(4), le(0), le(4), le(8), le(12), le(16))
	if want := uint64(0xdba7ee6f0a2bf51b); got != want {
		t.Fatalf("halfsiphash = %#x, want %#x", got, want)
	}
}

func TestConnIDs(t *testing.T) {
	ids, err := newConnIDs()
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort("192.0.2.7:6881")
	const t0 = 1_700_000_040 // start of a window (divisible by 120)
	id := ids.make(a, t0)
	for _, tc := range []struct {
		name string
		addr netip.AddrPort
		now  int64
		ok   bool
	}{
		{"same window", a, t0 + 119, true},
		{"next window", a, t0 + 120, true},
		{"end of next window", a, t0 + 239, true},
		{"two windows later", a, t0 + 240, false},
		{"before it was made", a, t0 - 1, false},
		{"other port, same IP", netip.MustParseAddrPort("192.0.2.7:6882"), t0, true},
		{"other ip", netip.MustParseAddrPort("192.0.2.8:6881"), t0, false},
		{"v4-mapped is the same client", netip.MustParseAddrPort("[::ffff:192.0.2.7]:6881"), t0, true},
	} {
		if got := ids.valid(id, tc.addr, tc.now); got != tc.ok {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.ok)
		}
	}
	other, _ := newConnIDs()
	if other.valid(id, a, t0) {
		t.Error("id valid under another secret")
	}
}
