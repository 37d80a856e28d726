package swarm

import (
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// residentBytes counts the bytes of the pages of [p, p+n) that are in
// memory (mincore).
func residentBytes(t testing.TB, p unsafe.Pointer, n int) int64 {
	t.Helper()
	page := uintptr(unix.Getpagesize())
	start := uintptr(p) &^ (page - 1)
	end := (uintptr(p) + uintptr(n) + page - 1) &^ (page - 1)
	vec := make([]byte, (end-start)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	var c int64
	for _, v := range vec {
		if v&1 != 0 {
			c++
		}
	}
	return c * int64(page)
}

// arenaResident returns the resident bytes of the arena's words and head
// bits.
func arenaResident(t testing.TB, a *arena) (words, heads int64) {
	return residentBytes(t, unsafe.Pointer(&a.words[0]), len(a.words)*4),
		residentBytes(t, unsafe.Pointer(&a.heads[0]), len(a.heads)*8)
}

// A free block larger than a page keeps only its first page in memory:
// freeing a list's region gives the rest back to the kernel, and merging
// free neighbours gives back the upper one's first page too.
func TestArenaDropsFreePages(t *testing.T) {
	a := newArena(1 << 16) // 1 MiB, page-aligned as a large allocation
	if a.pageOrder > maxOrderCap {
		t.Skip("arena not page-aligned here")
	}
	pageUnits := uint32(1) << a.pageOrder
	// The arena may reuse heap pages an earlier test left resident.
	dropPages(a.words)
	w0, _ := arenaResident(t, a)
	n := 16 * pageUnits
	var us [2]uint32
	for i := range us {
		u, ok := a.allocRegion(n)
		if !ok {
			t.Fatal("alloc failed")
		}
		us[i] = u
		for j := u * unitWords; j < (u+n)*unitWords; j++ {
			a.words[j] = 0xdeadbeef
		}
	}
	w1, _ := arenaResident(t, a)
	if grown := w1 - w0; grown < int64(2*n*unitWords*4) {
		t.Fatalf("writing two regions of %d bytes made %d bytes resident", n*unitWords*4, grown)
	}
	region := int64(n * unitWords * 4)
	a.releaseRange(us[0], 0, n)
	w2, _ := arenaResident(t, a)
	if dropped := w1 - w2; dropped < region-int64(pageBytes) {
		t.Errorf("freeing a region of 16 pages gave back %d bytes, want all but its first page", dropped)
	}
	a.releaseRange(us[1], 0, n)
	w3, _ := arenaResident(t, a)
	if dropped := w2 - w3; dropped < region {
		t.Errorf("freeing the second region, which merges with the first, gave back %d bytes, want %d", dropped, region)
	}
	if got := freeUnits(t, a); got != 1<<16 {
		t.Errorf("%d units free after releasing everything", got)
	}
	// The pages come back as zeros when the arena hands them out again.
	u, _ := a.allocRegion(n)
	if a.words[(u+n-1)*unitWords] != 0 {
		t.Errorf("a dropped page kept its old contents")
	}
}

// freshPages drops every page of the store's tables and arena, so that
// what a fill makes resident is measured from nothing, as in a daemon that
// just started. (A store allocated in a test process may reuse heap pages
// that an earlier test left resident.)
func freshPages(s *Store) {
	// Not the whole arena: each free block's first words hold its free
	// list links and order, which a dropped page would read back as
	// zeros (a 4M fill then found no free block of 4 KiB in a 231 MB
	// arena). Pages after a free block's first are dropped, as the arena
	// itself drops them.
	a := s.arena
	for k := a.pageOrder + 1; k <= a.maxOrder; k++ {
		for e := a.free[k]; e != 0; e = a.words[(e-1)*unitWords] {
			u := e - 1
			a.drop(u+1<<a.pageOrder, u+1<<k)
		}
	}
	for i := range s.shards {
		sh := &s.shards[i]
		dropPages(unsafe.Slice((*uint32)(unsafe.Pointer(&sh.slots[0])), len(sh.slots)*int(unsafe.Sizeof(torrent{}))/4))
		dropPages(sh.index)
	}
}

// tableResident is the resident bytes of the store's torrent slots and
// indexes.
func tableResident(t testing.TB, s *Store) int64 {
	var n int64
	for i := range s.shards {
		sh := &s.shards[i]
		n += residentBytes(t, unsafe.Pointer(&sh.slots[0]), len(sh.slots)*int(unsafe.Sizeof(torrent{})))
		n += residentBytes(t, unsafe.Pointer(&sh.index[0]), len(sh.index)*4)
	}
	return n
}

// BenchmarkFillResident is BenchmarkFill1M measured the way the kernel
// sees it, at 1M and 4M peers over 10k torrents (otbench fill's sizes):
// what the fill makes resident (mincore) in the arena, its head bits and
// the torrent table, per peer, beside the bytes the lists hold. otbench
// fill's daemon RSS per peer adds the Go runtime's own growth.
func BenchmarkFillResident(b *testing.B) {
	const torrents = 10000
	for _, peers := range []int{1000000, 4000000} {
		b.Run(fmt.Sprintf("%dM", peers/1000000), func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				s, _ := newTestStore(b, 256<<20) // otbench fill's budget: not the limit
				freshPages(s)
				w0, h0 := arenaResident(b, s.arena)
				t0 := tableResident(b, s)
				var buf logic.PeerBuffer
				req := logic.Request{}
				for i := 0; i < peers; i++ {
					req.InfoHash, req.Peer = hashN(i%torrents), peer4(i, 6881)
					if _, err := s.Announce(&req, &buf); err != nil {
						b.Fatal(err)
					}
				}
				w1, h1 := arenaResident(b, s.arena)
				per := func(v int64) float64 { return float64(v) / float64(peers) }
				b.ReportMetric(per(s.Stats().ArenaUsedBytes), "arena-used-B/peer")
				b.ReportMetric(per(w1-w0+h1-h0), "arena-resident-B/peer")
				b.ReportMetric(per(tableResident(b, s)-t0), "table-resident-B/peer")
			}
		})
	}
}

// BenchmarkFullBudget16M fills the router default budget with distinct
// IPv4 peers over 10k torrents until the store refuses, and reports how
// many it held: peers per MiB of budget.
func BenchmarkFullBudget16M(b *testing.B) {
	const budget, torrents = 16 << 20, 10000
	for n := 0; n < b.N; n++ {
		s, _ := newTestStore(b, budget)
		var buf logic.PeerBuffer
		req := logic.Request{}
		held := 0
		for i := 0; ; i++ {
			req.InfoHash, req.Peer = hashN(i%torrents), peer4(i, 6881)
			if _, err := s.Announce(&req, &buf); err != nil {
				break
			}
			held++
		}
		b.ReportMetric(float64(held), "peers")
		b.ReportMetric(float64(held)/(budget>>20), "peers/MiB")
	}
}

// The torrent table is allocated for the whole budget but touched only
// where torrents are: 10,000 of them in a 256 MiB store (otbench fill's
// budget) must not spread over a page or two of every shard. With 256
// shards they made 2.1 MB resident, as much as the 1M peers' slack.
func TestTableStaysCompact(t *testing.T) {
	const torrents = 10000
	s, _ := newTestStore(t, 256<<20)
	freshPages(s)
	before := tableResident(t, s)
	for i := 0; i < torrents; i++ {
		announce(t, s, hashN(i), peer4(i, 6881), false, logic.EventStarted, 0)
	}
	if grown := tableResident(t, s) - before; grown > 3*torrents*int64(unsafe.Sizeof(torrent{})) {
		t.Errorf("%d torrents made %d bytes of the table resident (%d shards), more than 3x their %d slot bytes",
			torrents, grown, len(s.shards), torrents*int64(unsafe.Sizeof(torrent{})))
	}
}
