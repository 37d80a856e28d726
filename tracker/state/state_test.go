package state

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/swarm"
)

func newStore(t *testing.T) *swarm.Store {
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSaveLoadRoundTrip(t *testing.T) {
	a := newStore(t)
	var buf swarm.PeerBuffer
	h1, h2 := swarm.InfoHash{1}, swarm.InfoHash{2}
	p := netip.MustParseAddrPort("10.0.0.1:1")
	a.Announce(&swarm.Request{InfoHash: h1, Peer: p, Seeder: true, Event: swarm.EventCompleted}, &buf)
	a.Announce(&swarm.Request{InfoHash: h2, Peer: p}, &buf)
	path := filepath.Join(t.TempDir(), "state")
	if err := Save(path, a); err != nil {
		t.Fatal(err)
	}
	b := newStore(t)
	for round := 0; round < 2; round++ { // loading twice must not double counts
		n, problems, err := Load(path, b, nil, 24*time.Hour)
		if err != nil || len(problems) != 0 || n != 2 {
			t.Fatalf("load: %d %v %v", n, problems, err)
		}
	}
	if c, ok := b.Scrape(h1); !ok || c.Completed != 1 || c.Seeders != 0 {
		t.Fatalf("h1 after load: %+v %v", c, ok)
	}
	if _, ok := b.Scrape(h2); !ok {
		t.Fatal("h2 not restored")
	}
}

func TestBadLinesAreReportedAndSkipped(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	m := now.Unix() / 60
	src := strings.Join([]string{
		"0101010101010101010101010101010101010101:" + itoa(m) + ":5",
		"garbage",
		"0202020202020202020202020202020202020202:" + itoa(m-3*24*60) + ":7", // too old
		"zz02020202020202020202020202020202020202:" + itoa(m) + ":7",
		"0303030303030303030303030303030303030303:" + itoa(m) + ":1",
	}, "\n")
	s := newStore(t)
	deny := swarm.InfoHash{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}
	n, problems, err := Read(strings.NewReader(src), "st", s, func(h swarm.InfoHash) bool { return h != deny }, 24*time.Hour, now)
	if err != nil || n != 1 {
		t.Fatalf("restored %d, err %v", n, err)
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0].Error(), "st:2:") || !strings.HasPrefix(problems[1].Error(), "st:4:") {
		t.Fatalf("problems %v", problems)
	}
	if _, _, err := Load("/nonexistent/state", s, nil, 0); err == nil {
		t.Fatal("missing file not reported")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
