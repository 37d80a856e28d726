package logic_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t testing.TB, budget int64) (*swarm.Store, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st, err := swarm.New(swarm.Config{MemoryBudget: budget, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return st, clk
}

// allowList is an access list of the hashes in it.
type allowList map[logic.InfoHash]bool

func (l allowList) Allowed(h logic.InfoHash) bool { return l[h] }

func hash(b byte) logic.InfoHash { return logic.InfoHash{0: b, 19: b} }

func peer(i byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, i}), port)
}

func announce(t *testing.T, tr *logic.Tracker, req logic.Request) (logic.Result, error) {
	t.Helper()
	var buf logic.PeerBuffer
	if req.Families == 0 {
		req.Families, req.NumWant = logic.BothFamilies, 50
	}
	return tr.Announce(&req, &buf)
}

func TestAnnounceRefusesWhatTheAccessListDoesNot(t *testing.T) {
	st, _ := newStore(t, 1<<20)
	var c logic.Counters
	tr := logic.New(logic.Config{Interval: 30 * time.Minute}, st, allowList{hash(1): true}, &c)
	if _, err := announce(t, tr, logic.Request{InfoHash: hash(2), Peer: peer(1, 1)}); err != logic.ErrNotAuthorized {
		t.Fatalf("unlisted torrent: %v, want ErrNotAuthorized", err)
	}
	if _, ok := tr.Scrape(hash(2)); ok {
		t.Fatal("a refused announce made a swarm")
	}
	// Synced records are refused alike but counted by live sync, not here.
	if _, err := announce(t, tr, logic.Request{InfoHash: hash(2), Peer: peer(1, 1), FromSync: true}); err != logic.ErrNotAuthorized {
		t.Fatalf("unlisted synced torrent: %v", err)
	}
	if n := c.NotAuthorized.Load(); n != 1 {
		t.Fatalf("NotAuthorized %d, want 1", n)
	}
	res, err := announce(t, tr, logic.Request{InfoHash: hash(1), Peer: peer(1, 1), Seeder: true})
	if err != nil || res.Seeders != 1 {
		t.Fatalf("listed torrent: %+v, %v", res, err)
	}
}

func TestAnnounceCountsFullBudgetRefusals(t *testing.T) {
	st, _ := newStore(t, 1<<20)
	var c logic.Counters
	tr := logic.New(logic.Config{Interval: time.Hour}, st, nil, &c)
	var err error
	var last logic.InfoHash // refused last
	refused := 0
	for i := 0; i < 1<<16 && refused < 3; i++ {
		h := logic.InfoHash{0: byte(i), 1: byte(i >> 8), 2: 7}
		if _, err = announce(t, tr, logic.Request{InfoHash: h, Peer: peer(1, 1)}); err != nil {
			if !errors.Is(err, logic.ErrFull) {
				t.Fatalf("announce %d: %v, want ErrFull", i, err)
			}
			refused++
			last = h
		}
	}
	if refused != 3 {
		t.Fatalf("a 1 MiB store took 65536 torrents")
	}
	// A synced record refused alike is live sync's to count.
	_, err = announce(t, tr, logic.Request{InfoHash: last, Peer: peer(1, 1), FromSync: true})
	if !errors.Is(err, logic.ErrFull) {
		t.Fatalf("synced announce into a full store: %v", err)
	}
	if n := c.Full.Load(); n != 3 {
		t.Fatalf("Full %d, want 3", n)
	}
}

func TestAnnounceSpreadsTheInterval(t *testing.T) {
	st, _ := newStore(t, 1<<20)
	tr := logic.New(logic.Config{Interval: 1800 * time.Second}, st, nil, nil)
	lo, hi := uint32(1<<31), uint32(0)
	for i := 0; i < 2000; i++ {
		res, err := announce(t, tr, logic.Request{InfoHash: hash(1), Peer: peer(1, 1)})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi = min(lo, res.Interval), max(hi, res.Interval)
	}
	// 2000 draws from 360 values: both ends of 1620..1979 are within 10 s.
	if lo < 1620 || hi > 1979 || lo > 1630 || hi < 1969 {
		t.Fatalf("intervals %d..%d, want 1620..1979 spread over the range", lo, hi)
	}
}

func TestAnnounceCountsCompletedOnce(t *testing.T) {
	st, _ := newStore(t, 1<<20)
	var c logic.Counters
	tr := logic.New(logic.Config{Interval: time.Hour}, st, nil, &c)
	for _, r := range []logic.Request{
		{InfoHash: hash(1), Peer: peer(1, 1), Event: logic.EventStarted},
		{InfoHash: hash(1), Peer: peer(1, 1), Event: logic.EventCompleted, Seeder: true},
		{InfoHash: hash(1), Peer: peer(1, 1), Event: logic.EventCompleted, Seeder: true},
		{InfoHash: hash(1), Peer: peer(2, 1), Event: logic.EventCompleted, Seeder: true, FromSync: true},
	} {
		if _, err := announce(t, tr, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Completed.Load(); n != 1 {
		t.Fatalf("Completed %d, want 1 (the synced download is not this tracker's)", n)
	}
	if cnt, _ := tr.Scrape(hash(1)); cnt.Completed != 2 {
		t.Fatalf("scrape says %d completed, want 2", cnt.Completed)
	}
}

func TestObserverSeesFreshAnnouncesButNotSyncedOnes(t *testing.T) {
	st, clk := newStore(t, 1<<20)
	tr := logic.New(logic.Config{Interval: time.Hour}, st, nil, nil)
	var seen []string
	tr.Observe(func(n logic.News) {
		seen = append(seen, fmt.Sprintf("%v/%d/%v", n.Peer, n.Event, n.NewDownload))
	})
	h, a, b := hash(9), peer(1, 1), peer(2, 2)
	ann := func(r logic.Request) {
		t.Helper()
		if _, err := announce(t, tr, r); err != nil {
			t.Fatal(err)
		}
	}
	ann(logic.Request{InfoHash: h, Peer: a, Event: logic.EventStarted})                 // new: seen
	ann(logic.Request{InfoHash: h, Peer: a})                                            // re-announce at once: not news
	ann(logic.Request{InfoHash: h, Peer: a, Event: logic.EventCompleted, Seeder: true}) // completed: seen
	ann(logic.Request{InfoHash: h, Peer: b, FromSync: true})                            // synced: not seen
	clk.advance(11 * time.Minute)
	st.Tick()
	ann(logic.Request{InfoHash: h, Peer: b})                            // 11 minutes later: seen again
	ann(logic.Request{InfoHash: h, Peer: a, Event: logic.EventStopped}) // stopped: seen
	want := []string{"10.0.0.1:1/2/false", "10.0.0.1:1/1/true", "10.0.0.2:2/0/false", "10.0.0.1:1/3/false"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("observer saw %v, want %v", seen, want)
	}
}

func TestAnnounceAndScrapeAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	st, _ := newStore(t, 4<<20)
	tr := logic.New(logic.Config{Interval: time.Hour}, st, allowList{hash(1): true}, nil)
	var news int
	tr.Observe(func(logic.News) { news++ }) // an observer must not make announces allocate
	// Both pass through the Store interface, so they escape: the front
	// ends keep them in long-lived buffers, as here.
	var buf logic.PeerBuffer
	var req logic.Request
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		req = logic.Request{InfoHash: hash(byte(i % 3)), Peer: peer(byte(i), 1), NumWant: 50, Families: logic.BothFamilies}
		tr.Announce(&req, &buf) // hash 0 and 2 are refused: refusals too
		i++
	})
	if allocs != 0 {
		t.Fatalf("announce allocates %v per call", allocs)
	}
	if news == 0 {
		t.Fatal("the observer saw nothing")
	}
	if allocs = testing.AllocsPerRun(1000, func() { tr.Scrape(hash(1)) }); allocs != 0 {
		t.Fatalf("scrape allocates %v per call", allocs)
	}
}
