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

// TestSyncsShowsDroppedRecords: mode=syncs keeps the reference's layout
// (records received first) with the records this tracker could not send as
// the second value, and both modes show records sent and dropped.
func TestSyncsShowsDroppedRecords(t *testing.T) {
	s := testStore(t)
	var c logic.Counters
	c.SyncReceived.Add(7)
	c.SyncSent.Add(5000)
	c.SyncDropped.Add(12)
	pages := &Pages{Store: s, Counters: &c}
	got, err := pages.Render(nil, "syncs", "")
	lines := strings.Split(string(got), "\n")
	if err != nil || len(lines) != 4 || lines[0] != "7" || lines[1] != "12" || !strings.HasSuffix(lines[3], "5000 records sent, 12 dropped.") {
		t.Errorf("syncs: %q, %v", got, err)
	}
	got, _ = pages.Render(nil, "everything", "")
	if !strings.Contains(string(got), "<livesync>\n    <count>7</count>\n    <sent>5000</sent>\n    <dropped>12</dropped>\n  </livesync>") {
		t.Errorf("everything: %q", got)
	}
}

// TestJSONAndPromShowSyncRecords: the JSON and Prometheus pages carry live
// sync's records sent and dropped, and a mode changed on SIGHUP.
func TestJSONAndPromShowSyncRecords(t *testing.T) {
	d := &DaemonState{AccessMode: "open", LiveSync: func() LiveSyncStats {
		return LiveSyncStats{PacketsSent: 139, RecordsSent: 5000, RecordsDropped: 12}
	}}
	d.SetAccessMode("whitelist")
	pages := &Pages{Store: testStore(t), Counters: new(logic.Counters), Daemon: d}
	got, err := pages.Render(nil, "json", "")
	for _, want := range []string{`"records_sent":5000`, `"records_dropped":12`, `"mode":"whitelist"`} {
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("json lacks %s: %s %v", want, got, err)
		}
	}
	got, err = pages.Render(nil, "prom", "")
	for _, want := range []string{"opentracker_livesync_records_sent_total 5000\n", "opentracker_livesync_records_dropped_total 12\n"} {
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("prom lacks %q: %v", want, err)
		}
	}
}
