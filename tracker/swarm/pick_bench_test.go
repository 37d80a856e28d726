package swarm

import "testing"

// BenchmarkPick: a reply's 50 peers from a swarm of 5,000 IPv4 peers (the
// popular torrents of the otbench workload), or all 40 of a small one.
func BenchmarkPick(b *testing.B) {
	for _, c := range []struct {
		name    string
		n, want int
	}{{"5000of50", 5000, 50}, {"40of200", 40, 200}} {
		recs := make([]uint32, c.n*2)
		for i := range c.n {
			recs[2*i], recs[2*i+1] = uint32(0x0a000000+i), uint32(6881)<<16
		}
		dst := make([]byte, 0, 6*200)
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				dst = pick(dst[:0], recs, 2, c.want, 7, false)
			}
		})
	}
}

// BenchmarkPickCold: as BenchmarkPick, but each reply from another of 200
// swarms of 5,000 peers (8 MB of records), so that most record loads miss
// the cache, as with the popular torrents of a busy tracker.
func BenchmarkPickCold(b *testing.B) {
	const swarms, n = 200, 5000
	lists := make([][]uint32, swarms)
	for s := range lists {
		recs := make([]uint32, n*2)
		for i := range n {
			recs[2*i], recs[2*i+1] = uint32(s<<16+i), uint32(6881)<<16
		}
		lists[s] = recs
	}
	dst := make([]byte, 0, 6*200)
	b.ResetTimer()
	for k := range b.N {
		dst = pick(dst[:0], lists[k*97%swarms], 2, 50, -1, false)
	}
}
