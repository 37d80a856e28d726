package udp

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/internal/secret"
)

// idWindow is the lifetime step of connection ids in seconds. An id made in
// window w is accepted in w and w+1: 2 to 4 minutes, at least the 2 minutes
// BEP 15 asks trackers to honour (clients reuse an id for 1 minute).
const idWindow = 120

// connIDs makes and checks connection ids without keeping state: an id is a
// keyed hash of the client's address and the time window, like a SYN cookie.
// A client cannot forge one for an address it does not receive at, and a
// captured id expires with its window.
type connIDs struct{ k0, k1 uint64 }

func newConnIDs() (connIDs, error) {
	var k [16]byte
	if err := secret.Read(k[:]); err != nil {
		return connIDs{}, err
	}
	return connIDs{binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])}, nil
}

// make returns the id for addr at unix time now (seconds).
func (c *connIDs) make(addr netip.AddrPort, now int64) uint64 {
	return c.sum(addr, uint64(now/idWindow))
}

// valid reports whether id was made for addr in this window or the last one.
func (c *connIDs) valid(id uint64, addr netip.AddrPort, now int64) bool {
	w := uint64(now / idWindow)
	return id == c.sum(addr, w) || id == c.sum(addr, w-1)
}

// sum hashes the 16-byte form of the IP (v4 as v4-mapped, so a client seen
// on a dual-stack socket and on a v4 one gets the same id) and the window,
// padded to 32 bytes: four SipHash blocks.
//
// The port is left out on purpose. An id proves that the IP receives our
// packets, which is all the amplification defence needs; and clients share
// ids between sockets: libtorrent caches them per tracker, process-wide, so
// a second session (or listen socket) announces from another port with the
// first one's id. Keyed on the port, that client never gets an answer
// (seen with python3-libtorrent 2.0.8). opentracker keys on the IP too.
func (c *connIDs) sum(addr netip.AddrPort, window uint64) uint64 {
	ip := addr.Addr().As16()
	return sipHash4(c.k0, c.k1,
		binary.LittleEndian.Uint64(ip[:8]),
		binary.LittleEndian.Uint64(ip[8:]),
		window,
		0)
}

// sipHash4 is SipHash-2-4 of the 32-byte message whose little-endian 64-bit
// words are m0..m3. Hand-rolled for a fixed length so that it inlines the
// rounds and allocates nothing.
func sipHash4(k0, k1, m0, m1, m2, m3 uint64) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	for _, m := range [...]uint64{m0, m1, m2, m3, 32 << 56} { // last: length block
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
