package stats

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestReportPagesAllocateNothing: with room in the buffer, rendering the
// JSON and Prometheus pages allocates nothing (no allocation per field).
func TestReportPagesAllocateNothing(t *testing.T) {
	p := &Pages{Store: testStore(t), Counters: new(logic.Counters), Version: "v1",
		Daemon: &DaemonState{AccessMode: "whitelist", LiveSync: func() LiveSyncStats { return LiveSyncStats{PacketsSent: 1} }}}
	r := p.report()
	buf := make([]byte, 0, 64<<10)
	for name, page := range map[string]func([]byte, *Report) []byte{"json": AppendJSON, "prom": AppendProm} {
		if n := testing.AllocsPerRun(20, func() { buf = page(buf[:0], &r) }); n != 0 {
			t.Errorf("%s: %v allocations per page", name, n)
		}
	}
}

// TestJSONStrings: strings are escaped so that any version text parses
// back to itself, and the outcome matrix lands under its names.
func TestJSONStrings(t *testing.T) {
	c := new(logic.Counters)
	c.Announces.Count(logic.ProtoUDP, netip.MustParseAddr("::ffff:10.0.0.1"), logic.OutcomeFull) // v4-mapped counts as IPv4
	c.Announces.Record(logic.ProtoHTTP, netip.MustParseAddr("2001:db8::1"), errors.New("no address"))
	r := (&Pages{Store: testStore(t), Counters: c}).report()
	r.Version = "v1 \"quoted\" \\ \n\t\x01 ü"
	var m struct {
		Version   string
		Announces map[string]map[string]map[string]uint64
		Access    struct{ Mode string }
		Livesync  struct{ Enabled bool }
	}
	out := AppendJSON(nil, &r)
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if m.Version != r.Version || m.Announces["udp"]["ipv4"]["full"] != 1 || m.Announces["http"]["ipv6"]["bad_input"] != 1 ||
		m.Announces["udp"]["ipv6"]["full"] != 0 || m.Access.Mode != "open" || m.Livesync.Enabled {
		t.Fatalf("decoded %+v from\n%s", m, out)
	}
	p := string(AppendProm(nil, &r))
	if !strings.Contains(p, `opentracker_info{version="v1 \"quoted\" \\ \n`) {
		t.Fatalf("label not escaped:\n%s", p[:200])
	}
}
