//go:build linux

package livesync

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/internal/netns"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/sock"
)

// inNetns runs fn on a thread inside a fresh network namespace (loopback up,
// multicast routed over it); sockets fn makes stay in that namespace.
func inNetns(t *testing.T, fn func()) {
	t.Helper()
	netns.Run(t, func(ip func(...string)) {
		ip("link", "set", "lo", "multicast", "on")
		ip("route", "add", "224.0.0.0/4", "dev", "lo")
	}, fn)
}

// TestSockets: what goes on the wire, seen by a plain group member: from
// <listen ip>:<port> to 224.0.23.5:9696, TTL 1, loop as configured.
func TestSockets(t *testing.T) {
	var s *Syncer
	var listener *net.UDPConn
	var err error
	inNetns(t, func() {
		nodes, _ := logic.ParseNetworks([]string{"127.0.0.0/8"})
		s, err = Open(Config{Listen: netip.MustParseAddrPort("127.0.0.1:9696"), Nodes: nodes,
			FlushDelay: 10 * time.Millisecond, Loopback: true}, newTracker(nil, nil, nil))
		if err != nil {
			return
		}
		if listener, err = sock.ListenUDP("0.0.0.0:9696", sock.Options{ReuseAddr: true}); err != nil {
			return
		}
		err = sock.Control(listener, func(fd int) error {
			return syscall.SetsockoptIPMreq(fd, syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP,
				&syscall.IPMreq{Multiaddr: Group.As4(), Interface: [4]byte{127, 0, 0, 1}})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	defer s.Close()
	sock.Control(s.send, func(fd int) error {
		ttl, _ := syscall.GetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL)
		loop, _ := syscall.GetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_MULTICAST_LOOP)
		if ttl != 1 || loop != 1 {
			t.Errorf("multicast ttl %d loop %d", ttl, loop)
		}
		return nil
	})
	s.Start()
	n := goldenNews()[1]
	s.Send(n)
	listener.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	got, src, err := listener.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	id := s.ID()
	if src != netip.MustParseAddrPort("127.0.0.1:9696") || got != 48 || string(buf[:4]) != string(id[:]) || buf[7] != TypeV6 {
		t.Fatalf("from %v: %x", src, buf[:got])
	}
	// Our own packet came back to our receive socket too (loop on) and was
	// dropped by id. The loopback delivers it inside the send call, so the
	// receiver can count the rejection before the sender counts the packet
	// sent: wait for both. (The namespace is this test's own, so no other
	// tracker's packet can arrive.)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st := s.Stats(); st.PacketsRejected != 0 && st.PacketsSent != 0 {
			break
		}
	}
	if st := s.Stats(); st.PacketsRejected != 1 || st.PacketsReceived != 0 || st.PacketsSent != 1 {
		t.Fatalf("%+v", st)
	}
}
