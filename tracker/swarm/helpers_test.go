package swarm

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestStore(t testing.TB, budget int64) (*Store, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := New(Config{MemoryBudget: budget, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func hashN(n int) logic.InfoHash {
	var h logic.InfoHash
	binary.BigEndian.PutUint64(h[:], uint64(n)*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint32(h[16:], uint32(n))
	return h
}

func peer4(i int, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), port)
}

func peer6(i int, port uint16) netip.AddrPort {
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	binary.BigEndian.PutUint32(b[12:], uint32(i))
	return netip.AddrPortFrom(netip.AddrFrom16(b), port)
}

func announce(t testing.TB, s *Store, h logic.InfoHash, p netip.AddrPort, seeder bool, ev logic.Event, numwant int) logic.Result {
	t.Helper()
	var buf logic.PeerBuffer
	res, err := s.Announce(&logic.Request{InfoHash: h, Peer: p, Seeder: seeder, Event: ev, NumWant: numwant, Families: logic.BothFamilies}, &buf)
	if err != nil {
		t.Fatalf("announce %v: %v", p, err)
	}
	// copy out of buf so results can be kept
	res.Peers4 = append([]byte(nil), res.Peers4...)
	res.Peers6 = append([]byte(nil), res.Peers6...)
	return res
}

// decodePeers splits a compact peer string into address:port values.
func decodePeers(b []byte, size int) []netip.AddrPort {
	var out []netip.AddrPort
	for ; len(b) >= size; b = b[size:] {
		a, _ := netip.AddrFromSlice(b[:size-2])
		out = append(out, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[size-2:])))
	}
	return out
}
