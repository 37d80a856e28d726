package udp

import (
	"fmt"
	"net/netip"
	"sort"
	"testing"
	"time"
)

func startServer(t *testing.T, cfg Config, addrs ...string) (*Server, []netip.AddrPort) {
	return startServerIO(t, cfg, false, addrs...)
}

func startServerIO(t *testing.T, cfg Config, plainIO bool, addrs ...string) (*Server, []netip.AddrPort) {
	t.Helper()
	s, _ := newTestServer(t, cfg, nil)
	s.plainIO = plainIO
	var bound []netip.AddrPort
	for _, a := range addrs {
		b, err := s.Listen(a)
		if err != nil {
			if a == "[::1]:0" {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			t.Fatal(err)
		}
		bound = append(bound, b)
	}
	s.Start()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, bound
}

func peerSet(ps []netip.AddrPort) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	sort.Strings(s)
	return fmt.Sprint(s)
}

// One server, a v4 and a v6 bind: each family gets its own peers, with its
// own stride, and nobody gets itself. Run with the batched (recvmmsg) loop
// and the plain one.
func TestEndToEndDualStack(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "batched", true: "plain"}[plain], func(t *testing.T) { dualStack(t, plain) })
	}
}

func dualStack(t *testing.T, plainIO bool) {
	s, bound := startServerIO(t, Config{Workers: 2}, plainIO, "127.0.0.1:0", "[::1]:0")
	v4, v6 := bound[0], bound[1]
	if !v4.Addr().Is4() || v4.Port() == 0 || !v6.Addr().Is6() || v6.Port() == 0 {
		t.Fatalf("bound %v %v", v4, v6)
	}
	h := hashOf("e2e dual stack")
	a := dial(t, netip.MustParseAddr("127.0.0.1"), v4)
	b := dial(t, netip.MustParseAddr("127.0.0.2"), v4)
	c := dial(t, netip.MustParseAddr("::1"), v6)
	d := dial(t, netip.MustParseAddr("::1"), v6)

	ra := a.announce(a.connect(), annArgs{hash: h, left: 5, event: 2, numWant: -1, port: 6881})
	rb := b.announce(b.connect(), annArgs{hash: h, left: 5, event: 2, numWant: -1, port: 6882})
	rc := c.announce(c.connect(), annArgs{hash: h, left: 5, event: 2, numWant: -1, port: 6883})
	idD := d.connect()
	rd := d.announce(idD, annArgs{hash: h, left: 0, event: 2, numWant: -1, port: 6884})
	if len(ra.peers) != 0 || peerSet(rb.peers) != "[127.0.0.1:6881]" {
		t.Fatalf("v4 peers: a %v, b %v", ra.peers, rb.peers)
	}
	if len(rc.peers) != 0 || peerSet(rd.peers) != "[[::1]:6883]" {
		t.Fatalf("v6 peers: c %v, d %v", rc.peers, rd.peers)
	}
	if rd.leechers != 3 || rd.seeders != 1 {
		t.Fatalf("counts over both families: %+v", rd)
	}
	ra = a.announce(a.connect(), annArgs{hash: h, left: 5, numWant: -1, port: 6881})
	if peerSet(ra.peers) != "[127.0.0.2:6882]" {
		t.Fatalf("a sees %v", ra.peers)
	}
	if got := d.scrape(idD, h, hashOf("none")); fmt.Sprint(got) != "[{1 0 3} {0 0 0}]" {
		t.Fatalf("scrape %v", got)
	}
	// The id is bound to the address: a's id from b is refused.
	idA := a.connect()
	if msg := decodeError(t, b.mustExchange(scrapePkt(idA, 9, h)), 9); msg != msgMismatch {
		t.Fatalf("foreign id: %q", msg)
	}
	// Garbage gets no answer and does not stop the server.
	if r := a.exchange([]byte("GET / HTTP/1.0\r\n\r\n"), 200*time.Millisecond); r != nil {
		t.Fatalf("garbage answered: %x", r)
	}
	a.connect()
	if s.stats.UDPMalformed.Load() != 1 {
		t.Fatalf("malformed counted %d", s.stats.UDPMalformed.Load())
	}
}

// A ":port" bind is one dual-stack socket set: a v4 client arrives
// v4-mapped and must still be served as v4.
func TestEndToEndDualStackSocket(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "batched", true: "plain"}[plain], func(t *testing.T) { dualStackSocket(t, plain) })
	}
}

func dualStackSocket(t *testing.T, plainIO bool) {
	_, bound := startServerIO(t, Config{Workers: 1}, plainIO, ":0")
	port := bound[0].Port()
	h := hashOf("one socket")
	a := dial(t, netip.MustParseAddr("127.0.0.1"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	c := dial(t, netip.MustParseAddr("::1"), netip.AddrPortFrom(netip.MustParseAddr("::1"), port))
	a.announce(a.connect(), annArgs{hash: h, left: 1, port: 1})
	c.announce(c.connect(), annArgs{hash: h, left: 1, port: 2})
	b := dial(t, netip.MustParseAddr("127.0.0.2"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	if r := b.announce(b.connect(), annArgs{hash: h, left: 1, numWant: -1, port: 3}); peerSet(r.peers) != "[127.0.0.1:1]" || r.leechers != 3 {
		t.Fatalf("v4 client on dual-stack socket: %+v", r)
	}
}

// Several loops share a port; Close stops them all and frees the port.
func TestListenReusePortAndClose(t *testing.T) {
	s, _ := newTestServer(t, Config{Workers: 4}, nil)
	b, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.conns) != 4 {
		t.Fatalf("%d sockets", len(s.conns))
	}
	// The port is taken by our group: binding it again (another daemon)
	// fails instead of splitting the traffic.
	if _, err := s.Listen(b.String()); err == nil {
		t.Fatal("second group on the same port")
	}
	s.Start()
	// Many source addresses spread over the sockets; all are answered.
	for i := 1; i <= 8; i++ {
		c := dial(t, netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}), b)
		c.connect()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c := dial(t, netip.MustParseAddr("127.0.0.1"), b)
	if r := c.exchange(connectPkt(1), 100*time.Millisecond); r != nil {
		t.Fatal("answered after Close")
	}
	if _, err := s.Listen("127.0.0.1:0"); err == nil {
		t.Fatal("Listen after Close")
	}
	s2, _ := newTestServer(t, Config{Workers: 2}, nil)
	if _, err := s2.Listen(b.String()); err != nil {
		t.Fatalf("port not freed: %v", err)
	}
	s2.Close()
}
