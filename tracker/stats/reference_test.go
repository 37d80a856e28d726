package stats

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/internal/reftest"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// TestPagesLikeReference renders the opentracker modes beside the reference
// holding the same swarm (one seeder and two leechers, announced over
// HTTP): the store-derived pages must be equal, the counter pages equal
// once numbers are masked (the counts are each tracker's own), so that
// MRTG scripts written for the reference read ours.
func TestPagesLikeReference(t *testing.T) {
	h := logic.InfoHash{0xAB, 1}
	ref := reftest.Start(t, []logic.InfoHash{h})
	st, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// The reference keeps reftest's probe torrent, without peers.
	if err := st.Restore(reftest.Probe, 0); err != nil {
		t.Fatal(err)
	}
	var buf logic.PeerBuffer
	for port, left := range []int{0, 1, 1} {
		port++
		if _, err := ref.Get(fmt.Sprintf("/announce?info_hash=%s&port=%d&left=%d&event=started", reftest.Escape(h[:]), port, left)); err != nil {
			t.Fatal(err)
		}
		req := logic.Request{InfoHash: h, Peer: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), Seeder: left == 0, Event: logic.EventStarted}
		if _, err := st.Announce(&req, &buf); err != nil {
			t.Fatal(err)
		}
	}
	pages := &Pages{Store: st, Counters: new(logic.Counters), Version: "test"}
	digits := regexp.MustCompile(`[0-9]+`)
	for _, c := range []struct {
		mode, format string
		mask         bool // compare with numbers masked
		lines        int  // compare the first lines only (0: all)
		anyOrder     bool // one line per torrent, in each store's own order
	}{
		{"peer", "", false, 0, false}, {"torr", "", false, 0, false},
		{"tpbs", "txt", false, 0, true}, {"tpbs", "txtp", false, 0, true},
		{"statedump", "", true, 0, true}, // minutes since the epoch masked: the clocks tick apart
		{"top10", "", false, 4, false},   // the reference stops after seeds; ours adds leechers
		{"conn", "", true, 0, false}, {"scrp", "", true, 0, false}, {"udp4", "", true, 0, false}, {"tcp4", "", true, 0, false},
		{"completed", "", true, 0, false}, {"fscr", "", true, 0, false},
		{"herr", "", true, 7, false}, // ours adds a FAILURE line
	} {
		target := "/stats?mode=" + c.mode
		if c.format != "" {
			target += "&format=" + c.format
		}
		want, err := ref.Get(target)
		if err != nil {
			t.Fatalf("reference mode %s: %v", c.mode, err)
		}
		want = gunzip(t, want) // the reference always gzips some pages
		got, err := pages.Render(nil, c.mode, c.format)
		if err != nil {
			t.Fatalf("mode %s: %v", c.mode, err)
		}
		w, g := string(want), string(got)
		if c.mask {
			w, g = digits.ReplaceAllString(w, "N"), digits.ReplaceAllString(g, "N")
		}
		if c.anyOrder {
			w, g = sortedLines(w), sortedLines(g)
		}
		if c.lines > 0 {
			w, g = firstLines(w, c.lines), firstLines(g, c.lines)
		}
		if g != w {
			t.Errorf("mode %s %s:\nours      %q\nreference %q", c.mode, c.format, g, w)
		}
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "")
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "")
}
