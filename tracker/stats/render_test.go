package stats

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

func testStore(t *testing.T) *swarm.Store {
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var buf logic.PeerBuffer
	h := logic.InfoHash{0xAB, 1}
	for i, seeder := range []bool{true, false, false} {
		p := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1)
		if _, err := s.Announce(&logic.Request{InfoHash: h, Peer: p, Seeder: seeder}, &buf); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestRenderModes(t *testing.T) {
	s := testStore(t)
	var c logic.Counters
	c.HTTPScrapes.Add(3)
	c.UDPScrapes.Add(4)
	for mode, want := range map[string]string{
		"peer":      "3\n1\nopentracker serving 1 torrents\nopentracker",
		"torr":      "1\n0\nopentracker serving 1 torrents\nopentracker",
		"scrp":      "3\n4\n",
		"top10":     "Top 10 torrents by peers:\n\t3\tAB01000000000000000000000000000000000000\n",
		"statedump": "AB01000000000000000000000000000000000000:",
		"store":     "peers4 3\n",
		"heap":      "heap_live_bytes ",
	} {
		got, err := (&Pages{Store: s, Counters: &c}).Render(nil, mode, "")
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("mode %s: %q, %v; want it to contain %q", mode, got, err, want)
		}
	}
	got, _ := (&Pages{Store: s, Counters: &c}).Render(nil, "tpbs", "txtp")
	if string(got) != "AB01000000000000000000000000000000000000:1:2:0\n" {
		t.Errorf("tpbs txtp: %q", got)
	}
	got, _ = (&Pages{Store: s, Counters: &c}).Render(nil, "statedump", "")
	want := "AB01000000000000000000000000000000000000:" + strconv.FormatInt(time.Now().Unix()/60, 10)[:5]
	if !strings.HasPrefix(string(got), want) || !strings.HasSuffix(string(got), ":0\n") {
		t.Errorf("statedump %q, want %q...:0", got, want)
	}
	for _, bad := range [][2]string{{"nonsense", ""}, {"tpbs", ""}, {"tpbs", "xml"}} {
		if _, err := (&Pages{Store: s, Counters: &c}).Render(nil, bad[0], bad[1]); !errors.Is(err, ErrUnknownMode) {
			t.Errorf("mode %v: err %v", bad, err)
		}
	}
}
