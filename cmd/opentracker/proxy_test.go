package main

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// getVia sends one request from 127.0.0.1 with extra header lines, as a
// reverse proxy on the same host would, and returns the status and body.
func getVia(t *testing.T, addr netip.AddrPort, target, headers string) (int, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: tracker\r\n%s\r\n", target, headers)
	return readReply(t, c)
}

// A client behind a trusted proxy cannot claim the proxy's own (admin)
// address by sending X-Forwarded-For itself: nginx and HAProxy append the
// real address, so the forged value is on the left and the client is the
// rightmost address that is not a trusted proxy.
func TestForgedForwardedForGetsNoAdminRights(t *testing.T) {
	d := startDaemon(t, "[access]\nproxies = [\"127.0.0.1\", \"127.0.0.2\"]\nadmin = [\"127.0.0.1\"]\n")
	addr := d.tcp[0]
	hash := "forwarded-for-test-1"
	forged := []string{
		"X-Forwarded-For: 127.0.0.1, 203.0.113.5\r\n",
		"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-For: 203.0.113.5\r\n",
		"X-Forwarded-For: 127.0.0.1, 203.0.113.5, 127.0.0.2\r\n",
	}
	for _, h := range forged {
		if code, body := getVia(t, addr, "/stats?mode=statedump", h); code != 403 {
			t.Errorf("%q: /stats answered %d %q, want 403", h, code, body)
		}
		_, body := getVia(t, addr, "/scrape", h)
		if r := decode(t, body); r["failure reason"] == nil {
			t.Errorf("%q: full scrape served: %q", h, body)
		}
		// ip= is not honoured for the forger, and the peer is the real address.
		_, body = getVia(t, addr, announceURL(hash, 4000, 1, "&ip=127.0.0.9"), h)
		if r := decode(t, body); r["failure reason"] != nil {
			t.Fatalf("%q: announce refused: %v", h, r)
		}
	}
	_, body := getVia(t, addr, announceURL(hash, 5000, 0, ""), "X-Forwarded-For: 198.51.100.1\r\n")
	peers, _ := decode(t, body)["peers"].(string)
	want := string(netip.MustParseAddrPort("203.0.113.5:4000").Addr().AsSlice()) + "\x0f\xa0"
	if peers != want {
		t.Fatalf("peers %q, want only 203.0.113.5:4000 (%q)", peers, want)
	}

	// The proxy's own requests and a fully trusted chain keep their rights.
	if code, _ := getVia(t, addr, "/stats?mode=statedump", ""); code != 200 {
		t.Errorf("the admin proxy itself: /stats answered %d", code)
	}
	if code, _ := getVia(t, addr, "/stats?mode=statedump", "X-Forwarded-For: 127.0.0.1, 127.0.0.2\r\n"); code != 200 {
		t.Errorf("a chain of trusted proxies from 127.0.0.1: /stats answered %d", code)
	}
}
