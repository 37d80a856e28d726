//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// standInUDP is a minimal BEP 15 tracker: one valid connection id, which it
// invalidates once after the first few announces so that the generator has
// to renew it.
func standInUDP(t *testing.T, network, addr string) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	c := pc.(*net.UDPConn)
	t.Cleanup(func() { c.Close() })
	var connects atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		out := make([]byte, 2048)
		be := binary.BigEndian
		valid := uint64(0x1111)
		announces := 0
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 16 {
				continue
			}
			action, tid := be.Uint32(buf[8:]), be.Uint32(buf[12:])
			be.PutUint32(out[4:], tid)
			var m int
			switch {
			case action == actConnect && be.Uint64(buf) == udpProtocolID:
				connects.Add(1)
				be.PutUint32(out, actConnect)
				be.PutUint64(out[8:], valid)
				m = 16
			case be.Uint64(buf) != valid:
				be.PutUint32(out, actError)
				m = 8 + copy(out[8:], "Connection ID missmatch.\x00")
			case action == actAnnounce && n >= 98:
				announces++
				if announces == 50 {
					valid++ // the next requests carry a stale id
				}
				stride := 6
				if from.Addr().Is6() && !from.Addr().Is4In6() {
					stride = 18
				}
				be.PutUint32(out, actAnnounce)
				be.PutUint32(out[8:], 1800)
				be.PutUint32(out[12:], 1)
				be.PutUint32(out[16:], 2)
				m = 20 + 2*stride
			case action == actScrape:
				be.PutUint32(out, actScrape)
				m = 8 + 12*((n-16)/20)
			default:
				continue
			}
			c.WriteToUDPAddrPort(out[:m], from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), &connects
}

func TestSmokeUDPStandIn(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			ap, connects := standInUDP(t, tc.network, tc.addr)
			w, err := NewWorkload(1, 1000, 5000, 4, 2, 0.25)
			if err != nil {
				t.Fatal(err)
			}
			w.ScrapePct = 20
			c, el, err := runUDP(loadConfig{W: w, Targets: []netip.AddrPort{ap}, Conns: 4, Depth: 8,
				Duration: time.Second, MaxRequests: 20000})
			if err != nil {
				t.Fatal(err)
			}
			r := makeResult("udp", ap.String(), c, el)
			t.Logf("%+v", r)
			if c.announces == 0 || c.scrapes == 0 {
				t.Fatalf("announces %d scrapes %d", c.announces, c.scrapes)
			}
			if c.requests > 20000+4 { // connects may go beyond the quota
				t.Errorf("sent %d requests, bound was 20000", c.requests)
			}
			// Each peer got 2 peers back; the stale id cost some error
			// replies and a renewal.
			if got := float64(c.peers) / float64(c.announces); got != 2 {
				t.Errorf("peers per announce %.2f, want 2", got)
			}
			if c.errors == 0 || connects.Load() < 5 {
				t.Errorf("errors %d connects %d: the stale connection id was not renewed", c.errors, connects.Load())
			}
			if c.timeouts != 0 || c.ioErrors != 0 {
				t.Errorf("timeouts %d io errors %d", c.timeouts, c.ioErrors)
			}
		})
	}
}

func TestSmokeFillStandIn(t *testing.T) {
	ap, _ := standInUDP(t, "udp4", "127.0.0.1:0")
	w, sources, err := fillWorkload(1, 3000, 100)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := runFill(w, sources, ap, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Every peer is announced once; the ones refused for the stale id are retried.
	if c.announces != 3000 {
		t.Errorf("fill answered %d announces, want 3000 (errors %d)", c.announces, c.errors)
	}
}

func standInHTTP(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("d8:completei1e10:incompletei2e8:intervali1800e5:peers12:aaaaaabbbbbbe")
	scrape := []byte("d5:filesd20:hhhhhhhhhhhhhhhhhhhhd8:completei1e10:downloadedi0e10:incompletei2eeee")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/scrape" {
			w.Write(scrape)
			return
		}
		if len(r.URL.Query().Get("info_hash")) != 20 {
			w.Write([]byte("d14:failure reason4:hashe"))
			return
		}
		w.Write(body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).AddrPort()
}

func TestSmokeHTTPStandIn(t *testing.T) {
	ap := standInHTTP(t)
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepalive=%v", keep), func(t *testing.T) {
			w, _ := NewWorkload(1, 1000, 5000, 8, 2, 0.25)
			w.ScrapePct = 10
			c, el, err := runHTTP(loadConfig{W: w, Targets: []netip.AddrPort{ap}, Conns: 8, KeepAlive: keep,
				Duration: time.Second, MaxRequests: 5000, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", makeResult("http", ap.String(), c, el))
			if c.announces == 0 || c.scrapes == 0 || c.errors != 0 {
				t.Fatalf("announces %d scrapes %d errors %d", c.announces, c.scrapes, c.errors)
			}
			if c.peers != 2*c.announces {
				t.Errorf("peers %d for %d announces", c.peers, c.announces)
			}
			if keep && c.reconnects > 8 {
				t.Errorf("keep-alive opened %d connections for 8 slots", c.reconnects)
			}
			if !keep && c.reconnects < c.responses {
				t.Errorf("one-per-connection mode opened %d connections for %d replies", c.reconnects, c.responses)
			}
		})
	}
}

// TestSmokeReference runs a short load against Debian's opentracker when it
// is installed.
func TestSmokeReference(t *testing.T) {
	bin := refBinary("")
	if bin == "" {
		t.Skip("reference opentracker not installed (apt-get install opentracker); skipping")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	s, err := startRef(bin, dir, "", 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	if err := s.waitReady(1, true, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	f := loadFlags{udp: s.udp.String(), duration: time.Second, conns: 4, depth: 4, torrents: 1000, peers: 2000,
		shape: 2, seedProb: 0.25, scrapePct: 10, scrapeN: 5, numWant: 20, timeout: time.Second, seed: 1, pid: s.pid}
	r, err := runLoad(&f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("UDP: %+v", r)
	if r.Announces == 0 || r.Scrapes == 0 || r.Refused != 0 || r.PeakRSSKB == 0 {
		t.Errorf("UDP against the reference: %+v", r)
	}
	f.udp, f.http, f.keepAlive = "", s.tcp.String(), true
	r, err = runLoad(&f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("HTTP: %+v", r)
	// The reference closes after every reply, so "keep-alive" costs a
	// connection per request.
	if r.Announces == 0 || r.Refused != 0 || r.ServerClose == 0 {
		t.Errorf("HTTP against the reference: %+v", r)
	}
}
