package swarm

import "testing"

// BenchmarkAnnounce re-announces 100k peers spread over 10k torrents: the
// steady state of a tracker, where most announces update a known peer.
func BenchmarkAnnounce(b *testing.B) {
	s, _ := newTestStore(b, 64<<20)
	const peers, torrents = 100000, 10000
	var buf PeerBuffer
	req := Request{NumWant: 50, Families: BothFamilies}
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
	var buf PeerBuffer
	for i := 0; i < peers; i++ {
		req := Request{InfoHash: hashN(i % torrents), Peer: peer4(i, 6881)}
		if _, err := s.Announce(&req, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf PeerBuffer
		req := Request{NumWant: 50, Families: BothFamilies}
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
	var buf PeerBuffer
	for i := 0; i < 10000; i++ {
		s.Announce(&Request{InfoHash: hashN(i), Peer: peer4(i, 1)}, &buf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Scrape(hashN(i % 10000))
	}
}
