package udp

import (
	"net/netip"
	"testing"
)

// SipHash-2-4 reference vector: key 00..0f, message 00..1f (vectors.h,
// entry 32, read little-endian).
func TestSipHashVector(t *testing.T) {
	var k, m [4]uint64
	le := func(start byte) uint64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(start+byte(i))
		}
		return v
	}
	k[0], k[1] = le(0), le(8)
	for i := range m {
		m[i] = le(byte(8 * i))
	}
	if got, want := sipHash4(k[0], k[1], m[0], m[1], m[2], m[3]), uint64(0x7127512f72f27cce); got != want {
		t.Fatalf("siphash = %#x, want %#x", got, want)
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
