package swarm

import (
	"testing"
	"unsafe"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// BenchmarkAnnounce re-announces 100k peers spread over 10k torrents: the
// steady state of a tracker, where most announces update a known peer.
func BenchmarkAnnounce(b *testing.B) {
	s, _ := newTestStore(b, 64<<20)
	const peers, torrents = 100000, 10000
	var buf logic.PeerBuffer
	req := logic.Request{NumWant: 50, Families: logic.BothFamilies}
	for i := 0; i < peers; i++ {
		req.InfoHash, req.Peer, req.Seeder = hashN(i%torrents), peer4(i, 6881), i%4 == 0
		if _, err := s.Announce(&req, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % peers
		req.InfoHash, req.Peer, req.Seeder = hashN(j%torrents), peer4(j, 6881), j%4 == 0
		if _, err := s.Announce(&req, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnnounceParallel is BenchmarkAnnounce from GOMAXPROCS goroutines.
func BenchmarkAnnounceParallel(b *testing.B) {
	s, _ := newTestStore(b, 64<<20)
	const peers, torrents = 100000, 10000
	var buf logic.PeerBuffer
	for i := 0; i < peers; i++ {
		req := logic.Request{InfoHash: hashN(i % torrents), Peer: peer4(i, 6881)}
		if _, err := s.Announce(&req, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf logic.PeerBuffer
		req := logic.Request{NumWant: 50, Families: logic.BothFamilies}
		i := 0
		for pb.Next() {
			j := (i * 7919) % peers
			req.InfoHash, req.Peer = hashN(j%torrents), peer4(j, 6881)
			s.Announce(&req, &buf)
			i++
		}
	})
}

func BenchmarkScrape(b *testing.B) {
	s, _ := newTestStore(b, 16<<20)
	var buf logic.PeerBuffer
	for i := 0; i < 10000; i++ {
		s.Announce(&logic.Request{InfoHash: hashN(i), Peer: peer4(i, 1)}, &buf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Scrape(hashN(i % 10000))
	}
}

// BenchmarkFill1M announces 1M distinct IPv4 peers over 10k torrents (the
// reference's memory measurement) and reports the store's bytes per peer:
// arena blocks in use plus the torrent slots and index entries touched.
// RSS per peer of the whole daemon is measured by cmd/otbench fill.
func BenchmarkFill1M(b *testing.B) {
	const peers, torrents = 1000000, 10000
	for n := 0; n < b.N; n++ {
		s, _ := newTestStore(b, 64<<20)
		var buf logic.PeerBuffer
		req := logic.Request{}
		for i := 0; i < peers; i++ {
			req.InfoHash, req.Peer = hashN(i%torrents), peer4(i, 6881)
			if _, err := s.Announce(&req, &buf); err != nil {
				b.Fatal(err)
			}
		}
		st := s.Stats()
		tables := int64(st.Torrents) * int64(unsafe.Sizeof(torrent{})+2*4) // slot + index share at half load
		b.ReportMetric(float64(st.ArenaUsedBytes)/peers, "arena-B/peer")
		b.ReportMetric(float64(st.ArenaUsedBytes+tables)/peers, "B/peer")
	}
}
