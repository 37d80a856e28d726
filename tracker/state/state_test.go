package state

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
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
	var buf logic.PeerBuffer
	h1, h2 := logic.InfoHash{1}, logic.InfoHash{2}
	p := netip.MustParseAddrPort("10.0.0.1:1")
	a.Announce(&logic.Request{InfoHash: h1, Peer: p, Seeder: true, Event: logic.EventCompleted}, &buf)
	a.Announce(&logic.Request{InfoHash: h2, Peer: p}, &buf)
	path := filepath.Join(t.TempDir(), "state")
	if _, err := Save(path, a); err != nil {
		t.Fatal(err)
	}
	b := newStore(t)
	for round := 0; round < 2; round++ { // loading twice must not double counts
		n, problems, err := Load(path, b, nil)
		if err != nil || len(problems) != 0 || n.Torrents != 2 || n.Peers != 2 {
			t.Fatalf("load: %d %v %v", n, problems, err)
		}
	}
	if c, ok := b.Scrape(h1); !ok || c.Completed != 1 || c.Seeders != 1 {
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
	deny := logic.InfoHash{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}
	n, problems, err := Read(strings.NewReader(src), "st", s, func(h logic.InfoHash) bool { return h != deny }, now)
	if err != nil || n.Torrents != 1 {
		t.Fatalf("restored %d, err %v", n, err)
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0].Error(), "st:2:") || !strings.HasPrefix(problems[1].Error(), "st:4:") {
		t.Fatalf("problems %v", problems)
	}
	if _, _, err := Load("/nonexistent/state", s, nil); err == nil {
		t.Fatal("missing file not reported")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestLoadGoesOnPastProblems: an over-long line and torrents the store has
// no room for are reported, and every other line is still restored (found
// in review: a load used to stop at either, and the next save then wrote
// the partial store over the dump).
func TestLoadGoesOnPastProblems(t *testing.T) {
	m := time.Now().Unix() / 60
	line := func(c byte) string { return strings.Repeat(string(c), 40) + ":" + itoa(m) + ":5\n" }
	dump := line('A') + strings.Repeat("x", 70000) + "\n" + line('B') + line('C')
	s := newStore(t)
	n, problems, err := Read(strings.NewReader(dump), "st", s, nil, time.Now())
	if err != nil || n.Torrents != 3 || len(problems) != 1 || !strings.Contains(problems[0].Error(), "st:2: line longer than") {
		t.Fatalf("restored %d, problems %v, err %v", n, problems, err)
	}

	small, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20, MaxTorrents: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	const lines = 1500
	for i := 0; i < lines; i++ {
		var h logic.InfoHash
		h[0], h[1], h[2] = byte(i>>8), byte(i), 0x5a
		sb.WriteString(strings.ToUpper(hex.EncodeToString(h[:])) + ":" + itoa(m) + ":3\n")
	}
	n, problems, err = Read(strings.NewReader(sb.String()), "st", small, nil, time.Now())
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Error(), fmt.Sprintf("st: %d torrents not restored", lines-n.Torrents)) {
		t.Fatalf("restored %d of %d, problems %v, err %v", n, lines, problems, err)
	}
	// Loading went on: every shard is as full as it can get.
	if got := small.Stats().Torrents; got != n.Torrents || n.Torrents < small.Stats().TorrentCapacity*9/10 {
		t.Fatalf("restored %d (store holds %d) of capacity %d", n, got, small.Stats().TorrentCapacity)
	}
}

// TestAncientLinesAreSkipped: a time stamp so old that the age in minutes
// overflows a Duration is still too old.
func TestAncientLinesAreSkipped(t *testing.T) {
	dump := strings.Repeat("A", 40) + ":-9000000000000000000:5\n"
	n, problems, err := Read(strings.NewReader(dump), "st", newStore(t), nil, time.Now())
	if n.Torrents != 0 || len(problems) != 0 || err != nil {
		t.Fatalf("restored %d, problems %v, err %v", n, problems, err)
	}
}

// TestSaveRemovesStaleTemporaries: a save interrupted by a crash leaves a
// temporary file; the next one removes it.
func TestSaveRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".opentracker-state-123")
	os.WriteFile(stale, []byte("half"), 0o600)
	if _, err := Save(filepath.Join(dir, "state"), newStore(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temporary file left: %v", err)
	}
}
