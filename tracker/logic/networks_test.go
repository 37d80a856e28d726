package logic

import (
	"net/netip"
	"testing"
)

func TestNetworks(t *testing.T) {
	n, err := ParseNetworks([]string{"127.0.0.1", "192.168.1.0/24", "fd00::/8", "::ffff:10.0.0.0/104"})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"127.0.0.1": true, "::ffff:127.0.0.1": true, "127.0.0.2": false,
		"192.168.1.77": true, "192.168.2.1": false, "fd12::1": true, "fe80::1": false, "10.9.8.7": true,
	} {
		if got := n.Contains(netip.MustParseAddr(s)); got != want {
			t.Errorf("Contains(%s) = %v", s, got)
		}
	}
	for _, bad := range []string{"300.1.1.1", "::ffff:10.0.0.0/80"} {
		if _, err := ParseNetworks([]string{bad}); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
	var zero Networks
	if zero.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("the zero Networks contains something")
	}
}
