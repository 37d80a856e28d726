package udp

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// FuzzPacket feeds arbitrary datagrams to the handler. mode bit 0 replaces
// the first 8 bytes with a valid connection id (a fuzzer cannot guess a keyed
// 64-bit hash, and the announce and scrape paths sit behind it); bit 1 makes
// the source IPv6. Seeds are in testdata/fuzz/FuzzPacket.
//
// Properties: no panic; a reply echoes the transaction id with a sensible
// action and size; without a valid id the reply is never longer than the
// request (no amplification).
func FuzzPacket(f *testing.F) {
	f.Add(connectPkt(1), byte(0))
	f.Add(announcePkt(0, 2, annArgs{hash: hashOf("fuzz"), left: 1, numWant: -1, port: 6881}), byte(1))
	f.Add(append(announcePkt(0, 2, annArgs{hash: hashOf("fuzz"), numWant: 10, port: 1}), 1, 2, 3, '/', 'x', 'y', 0), byte(3))
	f.Add(scrapePkt(0, 3, hashOf("fuzz"), hashOf("other")), byte(1))

	s, _ := newTestServer(f, Config{Logf: func(string, ...any) {}}, nil)
	w := newWorker(s)
	h := hashOf("fuzz")
	for i := 0; i < 40; i++ { // a swarm with peers of both families to answer with
		a4 := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(i)}), 1)
		var b6 [16]byte
		b6[0], b6[15] = 0x20, byte(i)
		a6 := netip.AddrPortFrom(netip.AddrFrom16(b6), 1)
		for _, src := range []netip.AddrPort{a4, a6} {
			w.handle(announcePkt(connectID(f, w, src), 1, annArgs{hash: h, left: uint64(i % 2), port: 7000}), src)
		}
	}

	v4 := netip.MustParseAddrPort("192.0.2.1:6881")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:6881")
	f.Fuzz(func(t *testing.T, pkt []byte, mode byte) {
		src := v4
		if mode&2 != 0 {
			src = v6
		}
		validID := mode&1 != 0 && len(pkt) >= 8
		if validID {
			pkt = append([]byte(nil), pkt...)
			binary.BigEndian.PutUint64(pkt, s.ids.make(src, s.now().Unix()))
		}
		reply := w.handle(pkt, src)
		if reply == nil {
			return
		}
		if len(reply) < 8 || len(pkt) < 16 {
			t.Fatalf("reply %x to %d-byte packet", reply, len(pkt))
		}
		if binary.BigEndian.Uint32(reply[4:]) != binary.BigEndian.Uint32(pkt[12:]) {
			t.Fatal("transaction id not echoed")
		}
		req, act := binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint32(reply)
		if act != req && act != actionError {
			t.Fatalf("action %d answered with %d", req, act)
		}
		connect := act == actionConnect
		if !connect && !validID && len(reply) > len(pkt) {
			t.Fatalf("amplification: %d-byte reply to %d-byte packet without a valid id", len(reply), len(pkt))
		}
		switch act {
		case actionConnect:
			if len(reply) != 16 {
				t.Fatalf("connect reply %d bytes", len(reply))
			}
		case actionScrape:
			if len(reply) != 8+12*scrapeCount(pkt) {
				t.Fatalf("scrape reply %d bytes for %d-byte request", len(reply), len(pkt))
			}
		case actionAnnounce:
			stride, most := logic.CompactV4Size, int(s.maxWant4.Load())
			if src.Addr().Is6() {
				stride, most = logic.CompactV6Size, int(s.maxWant6.Load())
			}
			if n := len(reply) - 20; n < 0 || n%stride != 0 || n/stride > most {
				t.Fatalf("announce reply %d bytes", len(reply))
			}
		}
	})
}
