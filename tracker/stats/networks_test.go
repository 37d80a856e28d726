package stats

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

func TestNetworksMode(t *testing.T) {
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var buf logic.PeerBuffer
	add := func(ip string, port uint16) {
		p := netip.AddrPortFrom(netip.MustParseAddr(ip), port)
		if _, err := s.Announce(&logic.Request{InfoHash: logic.InfoHash{byte(port)}, Peer: p}, &buf); err != nil {
			t.Fatal(err)
		}
	}
	// 10.0.0.0/28 holds 3 peers, 10.0.0.16/28 two; all five share 10.0.0.0/24.
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.15", "10.0.0.17", "10.0.0.30", "192.168.1.1"} {
		add(ip, uint16(i+1))
	}
	add("10.0.0.1", 99) // a second peer (port) on the same address counts
	got, err := (&Pages{Store: s, Counters: new(logic.Counters)}).Render(nil, "s24s", "")
	if err != nil {
		t.Fatal(err)
	}
	want := "Networks, limit /28:\n00000004: 10.0.0.0\n00000002: 10.0.0.16\n00000001: 192.168.1.0\n\n" +
		"Networks, limit /24:\n00000006: 10.0.0.0\n00000001: 192.168.1.0\n\n"
	if string(got) != want {
		t.Fatalf("s24s:\n%s\nwant:\n%s", got, want)
	}
	add("2001:db8:0:1::1", 1)
	add("2001:db8:0:1::2", 2)
	add("2001:db8:0:2::1", 3)
	got, _ = (&Pages{Store: s, Counters: new(logic.Counters)}).Render(nil, "s24s", "")
	want6 := "IPv6 networks, limit /64:\n00000002: 2001:db8:0:1::\n00000001: 2001:db8:0:2::\n\n" +
		"IPv6 networks, limit /48:\n00000003: 2001:db8::\n\n"
	if !strings.HasSuffix(string(got), want6) {
		t.Fatalf("s24s with IPv6:\n%s\nwant it to end with:\n%s", got, want6)
	}
}

// TestNetCounterBounded: past maxSurveyNetworks distinct networks the table
// stops growing, a heavy network is still listed first, and its count is low
// by at most peers/maxSurveyNetworks.
func TestNetCounterBounded(t *testing.T) {
	c := newNetCounter()
	const spread = 4 * maxSurveyNetworks
	peers, heavy := 0, uint64(0)
	for i := 0; i < spread; i++ {
		c.add(uint64(1000 + i))
		peers++
		if i%6 == 0 {
			c.add(7)
			peers++
			heavy++
		}
		if len(c.n) > maxSurveyNetworks {
			t.Fatalf("%d networks tracked", len(c.n))
		}
	}
	top := c.top(1)
	if !c.approx || len(top) != 1 || top[0].prefix != 7 {
		t.Fatalf("approx %v, top %v", c.approx, top)
	}
	if n := top[0].peers; n > heavy || n < heavy-uint64(peers/maxSurveyNetworks) {
		t.Fatalf("heavy network counted %d, true count %d, error bound %d", n, heavy, peers/maxSurveyNetworks)
	}
	var out []byte
	if out = appendApprox(out, c); !strings.Contains(string(out), "lower bounds") {
		t.Fatalf("no warning: %q", out)
	}
}

func TestRenewMode(t *testing.T) {
	s := testStore(t)
	got, err := (&Pages{Store: s, Counters: new(logic.Counters)}).Render(nil, "renew", "")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != swarm.RenewMinutes || lines[0] != "00 0" || lines[44] != "44 0" {
		t.Fatalf("renew: %q", got)
	}
	// The three test peers announce again at once: minute 0.
	var buf logic.PeerBuffer
	for i := 0; i < 3; i++ {
		p := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1)
		s.Announce(&logic.Request{InfoHash: logic.InfoHash{0xAB, 1}, Peer: p}, &buf)
	}
	got, _ = (&Pages{Store: s, Counters: new(logic.Counters)}).Render(nil, "renew", "")
	if !strings.HasPrefix(string(got), "00 3\n01 0\n") {
		t.Fatalf("renew after re-announces: %q", got)
	}
	got, _ = (&Pages{Store: s, Counters: new(logic.Counters)}).Render(nil, "everything", "")
	if !strings.Contains(string(got), "<count interval=\"00\">3</count>") {
		t.Fatalf("everything lacks the renew histogram: %s", got)
	}
}
