package state

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// BenchmarkWrite writes a store of 1000 torrents with 200 IPv4 peers each
// (200,000 peers) in format 2; b.N is the number of whole dumps.
func BenchmarkWrite(b *testing.B) {
	s, err := swarm.New(swarm.Config{MemoryBudget: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var buf logic.PeerBuffer
	for i := 0; i < 1000; i++ {
		for j := 0; j < 200; j++ {
			p := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(j)}), 6881)
			if _, err := s.Announce(&logic.Request{InfoHash: logic.InfoHash{byte(i), byte(i >> 8), 7}, Peer: p}, &buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	var n Restored
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n, _ = Write(io.Discard, s, time.Now())
	}
	b.ReportMetric(float64(n.Peers), "peers/dump")
}
