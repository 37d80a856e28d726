package udp

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// benchWorker is a handler over a swarm of 200 v4 leechers and 200 v4 seeders.
func benchWorker(b *testing.B) (*worker, netip.AddrPort, uint64) {
	w, _ := newTestWorker(b, Config{Logf: func(string, ...any) {}})
	h := hashOf("bench")
	for i := 0; i < 400; i++ {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 1)
		announceVia(b, w, src, annArgs{hash: h, left: uint64(i % 2), port: 6881})
	}
	src := netip.MustParseAddrPort("192.0.2.1:6881")
	return w, src, connectID(b, w, src)
}

// BenchmarkPacket is the whole packet path minus the socket: announce with
// id check, store update and 50 peers out.
func BenchmarkPacket(b *testing.B) {
	w, src, id := benchWorker(b)
	pkt := announcePkt(id, 1, annArgs{hash: hashOf("bench"), left: 1, numWant: 50, port: 6881})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := w.handle(pkt, src); len(r) != 20+50*6 {
			b.Fatalf("reply %d bytes", len(r))
		}
	}
}

// BenchmarkAnnounce is BenchmarkPacket at the default numwant (-1: 200 peers).
func BenchmarkAnnounce(b *testing.B) {
	w, src, id := benchWorker(b)
	pkt := announcePkt(id, 1, annArgs{hash: hashOf("bench"), left: 1, numWant: -1, port: 6881})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.handle(pkt, src)
	}
}

func BenchmarkConnect(b *testing.B) {
	w, src, _ := benchWorker(b)
	pkt := connectPkt(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.handle(pkt, src)
	}
}

func BenchmarkScrape10(b *testing.B) {
	w, src, id := benchWorker(b)
	hs := make([]logic.InfoHash, 10)
	for i := range hs {
		hs[i] = hashOf("bench")
	}
	pkt := scrapePkt(id, 1, hs...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.handle(pkt, src)
	}
}

// BenchmarkLoopbackAnnounce measures announces per second through real
// sockets: 16 closed-loop clients (one request in flight each, from 16
// loopback addresses so SO_REUSEPORT spreads them) against one server with
// GOMAXPROCS loops, batched (recvmmsg/sendmmsg) and plain. Clients and
// server share the CPUs; cmd/otbench is the real load generator.
func BenchmarkLoopbackAnnounce(b *testing.B) {
	for _, plain := range []bool{false, true} {
		b.Run(map[bool]string{false: "batched", true: "plain"}[plain], func(b *testing.B) {
			s, _ := newTestServer(b, Config{Logf: func(string, ...any) {}}, nil)
			s.plainIO = plain
			addr, err := s.Listen("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s.Start()
			defer s.Close()
			loopbackClients(b, addr)
		})
	}
}

// loopbackClients runs b.N announces from closed-loop clients against addr.
func loopbackClients(b *testing.B, addr netip.AddrPort) {
	const clients = 16
	h := hashOf("loopback")
	conns := make([]*net.UDPConn, clients)
	pkts := make([][]byte, clients)
	for i := range conns {
		c := dial(b, netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}), addr)
		conns[i] = c.conn
		pkts[i] = announcePkt(c.connect(), uint32(i), annArgs{hash: h, left: uint64(i % 2), numWant: 50, port: uint16(6000 + i)})
	}
	var next atomic.Int64
	var lost atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func(c *net.UDPConn, pkt []byte) {
			defer wg.Done()
			buf := make([]byte, 2048)
			for next.Add(1) <= int64(b.N) {
				c.WriteToUDPAddrPort(pkt, addr)
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					lost.Add(1)
				}
			}
		}(conns[i], pkts[i])
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "announces/s")
	if lost.Load() > 0 {
		b.Logf("%d requests unanswered", lost.Load())
	}
}
