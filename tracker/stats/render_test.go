package stats

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

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
	// The reference's modes are compared with the reference itself
	// (reference_test.go); these are this tracker's own, and the counters
	// feeding the MRTG pages.
	c.SyncReceived.Add(5)
	c.SyncDropped.Add(2)
	for mode, want := range map[string]string{
		"syncs": "5\n2\n",
		"scrp":  "3\n4\n",
		"store": "peers4 3\n",
		"heap":  "heap_live_bytes ",
	} {
		got, err := (&Pages{Store: s, Counters: &c}).Render(nil, mode, "")
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("mode %s: %q, %v; want it to contain %q", mode, got, err, want)
		}
	}
	for _, bad := range [][2]string{{"nonsense", ""}, {"tpbs", ""}, {"tpbs", "xml"}} {
		if _, err := (&Pages{Store: s, Counters: &c}).Render(nil, bad[0], bad[1]); !errors.Is(err, ErrUnknownMode) {
			t.Errorf("mode %v: err %v", bad, err)
		}
	}
}
