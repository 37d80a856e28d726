package http

import (
	"io"
	"net/netip"
	"testing"
)

// BenchmarkAnnounce is parse + store + reply for a compact announce into a
// torrent of 1000-2000 peers, numwant=50, without socket I/O.
func BenchmarkAnnounce(b *testing.B) {
	s, head, _ := benchSetup(b, 1000)
	buf := make([]byte, len(head))
	w := getWork()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, head)
		// Re-announces cycling over 1000 more peers: a steady-state swarm.
		j := i % 1000
		peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, byte(j >> 8), byte(j)}), 40000)
		s.respond(w, buf, peer)
	}
}

// BenchmarkAnnounceParallel runs BenchmarkAnnounce's work on all CPUs.
func BenchmarkAnnounceParallel(b *testing.B) {
	s, head, peer := benchSetup(b, 1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, len(head))
		w := getWork()
		for pb.Next() {
			copy(buf, head)
			s.respond(w, buf, peer)
		}
	})
}

// BenchmarkScrape is parse + store + reply for a scrape of 4 hashes.
func BenchmarkScrape(b *testing.B) {
	s, _, peer := benchSetup(b, 10)
	h := esc(h42())
	head := []byte("GET /scrape?info_hash=" + h + "&info_hash=%00%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13&info_hash=" + h + "&info_hash=abcdefghijklmnopqrst HTTP/1.1\r\n\r\n")
	buf := make([]byte, len(head))
	w := getWork()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, head)
		s.respond(w, buf, peer)
	}
}

// BenchmarkAnnounceLoopback is a whole keep-alive round trip over loopback
// TCP (client included), one request at a time.
func BenchmarkAnnounceLoopback(b *testing.B) {
	tt := startTracker(b, Config{}, nil, nil, "")
	h := ih(44)
	for i := 0; i < 100; i++ {
		get(b, tt.addr, announceURL(h, 2000+i, "&left=1"))
	}
	c, br := dial(b, tt.addr)
	req := []byte("GET " + announceURL(h, 3000, "&left=1&numwant=50&compact=1") + " HTTP/1.1\r\n\r\n")
	r, err := roundTripOn(c, br, req)
	if err != nil {
		b.Fatal(err)
	}
	resp := make([]byte, len(r))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(req)
		if _, err := io.ReadFull(br, resp); err != nil {
			b.Fatal(err)
		}
	}
}
