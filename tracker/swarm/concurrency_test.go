package swarm

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestConcurrentUseKeepsInvariants hammers the store from several goroutines at once,
// announces of every kind with sweeps, ticks, scrapes, restores, stats and
// ranges, under a small budget (refusals happen), then checks the invariants.
// Run it with -race.
func TestConcurrentUseKeepsInvariants(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := New(Config{MemoryBudget: 128 << 10, MaxTorrents: 128, PeerTimeout: 3 * time.Minute, TorrentTimeout: 5 * time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			peers := randomPeers(300, rng)
			var buf logic.PeerBuffer
			for i := 0; i < 6000; i++ {
				req := logic.Request{
					InfoHash: hashN(rng.IntN(150)),
					Peer:     peers[rng.IntN(len(peers))],
					Event:    logic.Event(rng.IntN(5)),
					Seeder:   rng.IntN(3) == 0,
					NumWant:  rng.IntN(80),
					Families: logic.BothFamilies,
				}
				res, err := s.Announce(&req, &buf)
				if err != nil && !errors.Is(err, logic.ErrFull) {
					t.Error(err)
					return
				}
				if len(res.Peers4)%6 != 0 || len(res.Peers6)%18 != 0 {
					t.Error("ragged reply")
					return
				}
			}
		}(g)
	}
	var side sync.WaitGroup
	side.Add(1)
	go func() { // the Run loop: tick and sweep
		defer side.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			clk.Advance(20 * time.Second)
			s.Tick()
			s.Sweep()
			s.Stats()
			n := 0
			s.Range(func(logic.InfoHash, logic.Counts) bool { n++; return n < 50 })
			_ = s.Restore(hashN(n), uint32(n%3))
			s.Scrape(hashN(n))
		}
	}()
	wg.Wait()
	close(stop)
	side.Wait()
	if err := checkInvariants(s); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	s.Tick()
	s.SweepAll()
	if err := checkInvariants(s); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Torrents != 0 || st.ArenaUsedBytes != 0 || st.Peers4+st.Peers6+st.Seeders != 0 {
		t.Fatalf("after expiry: %+v", st)
	}
}
