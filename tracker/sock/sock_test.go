package sock

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestListenTCPFamilies(t *testing.T) {
	v4, err := ListenTCP("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v4.Close()
	echo(t, v4, "tcp", v4.Addr().String())

	v6, err := ListenTCP("[::1]:0", Options{})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer v6.Close()
	echo(t, v6, "tcp", v6.Addr().String())

	// An IPv6 literal is IPv6-only: the same port is still free for IPv4.
	port := v6.Addr().(*net.TCPAddr).Port
	beside, err := ListenTCP(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String(), Options{})
	if err != nil {
		t.Fatalf("IPv4 bind beside [::1]:%d: %v", port, err)
	}
	beside.Close()

	// An empty host is one dual-stack socket: IPv4 clients reach it too.
	dual, err := ListenTCP(":0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dual.Close()
	dport := dual.Addr().(*net.TCPAddr).Port
	echo(t, dual, "tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(dport)).String())
	echo(t, dual, "tcp", netip.AddrPortFrom(netip.IPv6Loopback(), uint16(dport)).String())
}

// echo dials addr and checks that ln accepts the connection.
func echo(t *testing.T, ln *net.TCPListener, network, addr string) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	ln.SetDeadline(time.Now().Add(2 * time.Second))
	s, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept on %s: %v", ln.Addr(), err)
	}
	s.Close()
}

func TestListenUDP(t *testing.T) {
	c, err := ListenUDP("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := c.LocalAddr().(*net.UDPAddr).AddrPort()
	cl, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cl.Write([]byte("ping"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [16]byte
	n, from, err := c.ReadFromUDPAddrPort(b[:])
	if err != nil || string(b[:n]) != "ping" || from != cl.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("read %q from %v: %v", b[:n], from, err)
	}

	// A second bind of the port fails unless both ask for SO_REUSEPORT.
	if again, err := ListenUDP(to.String(), Options{}); err == nil {
		again.Close()
		t.Fatal("a second bind of the same port succeeded")
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second bind: %v, want EADDRINUSE", err)
	}
	a, err := ListenUDP("127.0.0.1:0", Options{ReusePort: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b2, err := ListenUDP(a.LocalAddr().String(), Options{ReusePort: true})
	if err != nil {
		t.Fatalf("SO_REUSEPORT group: %v", err)
	}
	b2.Close()
}

func TestBadAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		"localhost:6969":  "not an IP address",
		"127.0.0.1:http":  "not a number",
		"127.0.0.1:0:1":   "too many colons",
		"127.0.0.1":       "missing port",
		"127.0.0.1:99999": "not a number",
	} {
		if ln, err := ListenTCP(addr, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("ListenTCP(%q): %v, want an error with %q", addr, err, want)
		}
		if c, err := ListenUDP(addr, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			if c != nil {
				c.Close()
			}
			t.Errorf("ListenUDP(%q): %v, want an error with %q", addr, err, want)
		}
	}
}
