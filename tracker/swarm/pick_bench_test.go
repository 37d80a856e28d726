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
