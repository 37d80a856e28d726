//go:build linux

package main

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestInfoHashesDistinctAndSpread(t *testing.T) {
	w, err := NewWorkload(7, 50000, 10, 1, 2, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[20]byte]bool{}
	buckets := map[uint32]bool{}
	for i := 0; i < w.Torrents; i++ {
		var h [20]byte
		copy(h[:], w.Hash(uint32(i)))
		if seen[h] {
			t.Fatalf("duplicate hash for torrent %d", i)
		}
		seen[h] = true
		if got := binary.BigEndian.Uint32(h[:4]); got != uint32(i)*2654435761 {
			t.Fatalf("torrent %d prefix %#x", i, got)
		}
		buckets[binary.BigEndian.Uint32(h[:4])>>22] = true
	}
	if len(buckets) != 1024 {
		t.Errorf("hashes hit %d of opentracker's 1024 buckets", len(buckets))
	}
	// Same seed, same hashes: the reference's whitelist matches the load.
	var h [20]byte
	infoHash(h[:], 7, 123)
	if string(h[:]) != string(w.Hash(123)) {
		t.Errorf("infoHash not deterministic")
	}
}

func TestParetoPopularity(t *testing.T) {
	const n = 10000
	w, err := NewWorkload(1, n, 10, 1, 2, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < len(w.pick); k++ {
		if w.pick[k] < w.pick[k-1] {
			t.Fatalf("quantile table not monotone at %d", k)
		}
		if int(w.pick[k]) >= n {
			t.Fatalf("index out of range")
		}
	}
	// Draw and compare with the analytic CDF: P(index < n*(x-1)/100) = 1 - x^-2.
	r := rng{s: 99}
	const draws = 400000
	counts := make([]int, n)
	for i := 0; i < draws; i++ {
		counts[w.PickTorrent(&r)]++
	}
	cum := 0
	for idx := 0; idx < n; idx++ {
		cum += counts[idx]
		for _, x := range []float64{1.5, 2, 3, 5, 11} {
			if idx+1 == int(float64(n)*(x-1)/100) {
				got := float64(cum) / draws
				want := 1 - math.Pow(x, -2)
				if math.Abs(got-want) > 0.01 {
					t.Errorf("P(index < %d) = %.4f, want %.4f", idx+1, got, want)
				}
			}
		}
	}
	// The head is hot: torrent 0 is drawn far more often than one in the tail.
	if counts[0] < 50*counts[n/2]+1 {
		t.Errorf("torrent 0 drawn %d times, torrent %d %d times", counts[0], n/2, counts[n/2])
	}
}

func TestPeersPerSource(t *testing.T) {
	const sources = 7
	w, err := NewWorkload(1, 100, 1000, sources, 2, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	r := rng{s: 3}
	for i := 0; i < 10000; i++ {
		src := i % sources
		p := w.PickPeer(&r, src)
		if p < 0 || p >= len(w.Peers) || p%sources != src {
			t.Fatalf("PickPeer(%d) = %d", src, p)
		}
	}
	ports := map[[2]int]bool{}
	seeders := 0
	for p, pe := range w.Peers {
		k := [2]int{p % sources, int(pe.port)}
		if ports[k] {
			t.Fatalf("peer %d repeats (source, port) %v", p, k)
		}
		ports[k] = true
		if pe.flags&peerSeeder != 0 {
			seeders++
		}
	}
	if seeders < 150 || seeders > 350 {
		t.Errorf("%d of 1000 peers start as seeders, want about 250", seeders)
	}
	if w.PickPeer(&r, 0) < 0 {
		t.Errorf("no peer")
	}
	empty, _ := NewWorkload(1, 10, 2, 5, 2, 0)
	if empty.PickPeer(&r, 4) != -1 {
		t.Errorf("source without peers returned one")
	}
}

func TestPeerLifecycle(t *testing.T) {
	w, err := NewWorkload(1, 10, 1, 1, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.StopPer, w.DonePer = 4, 3
	r := rng{s: 5}
	ev, seeder := w.NextEvent(&r, 0)
	if ev != evStarted || seeder {
		t.Fatalf("first announce: event %d seeder %v", ev, seeder)
	}
	var stops, completes, periodic int
	wasSeeder := false
	started := true
	for i := 0; i < 5000; i++ {
		ev, seeder := w.NextEvent(&r, 0)
		switch ev {
		case evStarted:
			if started {
				t.Fatalf("started twice without a stop")
			}
			started = true
		case evStopped:
			if !started {
				t.Fatalf("stopped while not started")
			}
			started = false
			stops++
		case evCompleted:
			if wasSeeder {
				t.Fatalf("seeder completed again")
			}
			if !seeder {
				t.Fatalf("completed but still a leecher")
			}
			completes++
		default:
			periodic++
		}
		if !started && ev != evStopped {
			t.Fatalf("event %d while stopped", ev)
		}
		wasSeeder = seeder
	}
	if stops == 0 || completes != 1 || periodic == 0 {
		t.Errorf("stops %d completes %d periodic %d", stops, completes, periodic)
	}
}

func TestScrapeMix(t *testing.T) {
	w, _ := NewWorkload(1, 10, 10, 1, 2, 0)
	w.ScrapePct = 10
	r := rng{s: 11}
	n := 0
	for i := 0; i < 100000; i++ {
		if w.IsScrape(&r) {
			n++
		}
	}
	if n < 9000 || n > 11000 {
		t.Errorf("%d scrapes in 100000 at 10%%", n)
	}
	w.ScrapePct = 0
	if w.IsScrape(&r) {
		t.Errorf("scrape at 0%%")
	}
}

func TestHistQuantile(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(int64(i) * 1000) // 1..1000 µs
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500e3}, {0.99, 990e3}, {0, 1e3}} {
		got := h.quantile(c.q)
		if math.Abs(got-c.want)/c.want > 0.07 {
			t.Errorf("q%.2f = %.0f, want %.0f within 7%%", c.q, got, c.want)
		}
	}
	for v := uint64(1); v < 1<<40; v = v*3 + 1 {
		i := histIndex(v)
		if histLow(i) > v || histLow(i+1) <= v {
			t.Fatalf("value %d not inside bucket %d [%d, %d)", v, i, histLow(i), histLow(i+1))
		}
	}
	var empty hist
	if empty.quantile(0.5) != 0 {
		t.Errorf("empty histogram quantile")
	}
}

func TestParseCPUs(t *testing.T) {
	s, err := parseCPUs("0,2-3")
	if err != nil || s.Count() != 3 || !s.IsSet(0) || s.IsSet(1) || !s.IsSet(3) {
		t.Errorf("parseCPUs: %v %v", s, err)
	}
	if _, err := parseCPUs("x"); err == nil {
		t.Errorf("bad list accepted")
	}
}

func TestTargetsLoopbackOnly(t *testing.T) {
	if _, err := parseTargets("127.0.0.1:1,[::1]:2,127.9.9.9:3"); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	for _, bad := range []string{"10.0.0.1:1", "[2001:db8::1]:1", "8.8.8.8:53", ""} {
		if _, err := parseTargets(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
