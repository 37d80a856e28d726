package http

import (
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// benchSetup returns a server on a store with one torrent of n peers and a
// compact announce request head for it.
func benchSetup(tb testing.TB, n int) (*Server, []byte, netip.AddrPort) {
	st := newStore(tb, 16<<20)
	s := newServer(tb, Config{}, newTracker(st, nil, new(logic.Counters)))
	h := ih(42)
	var pb logic.PeerBuffer
	for i := 0; i < n; i++ {
		req := logic.Request{InfoHash: h, Peer: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 6881), Seeder: i%4 == 0, NumWant: 0}
		if _, err := st.Announce(&req, &pb); err != nil {
			tb.Fatal(err)
		}
	}
	head := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: tracker\r\nUser-Agent: bench\r\n\r\n",
		announceURL(h, 51413, "&uploaded=0&downloaded=0&left=1000&compact=1&numwant=50&key=abcd&event=started")))
	return s, head, netip.MustParseAddrPort("192.0.2.1:40000")
}

func TestAnnounceZeroAlloc(t *testing.T) {
	s, head, peer := benchSetup(t, 200)
	buf := make([]byte, len(head))
	w := getWork()
	allocs := testing.AllocsPerRun(500, func() {
		copy(buf, head) // parsing decodes in place
		if big, keep := s.respond(w, buf, peer); big != nil || !keep {
			t.Fatal("unexpected reply shape")
		}
	})
	if allocs != 0 {
		t.Fatalf("compact announce allocates %v times per request", allocs)
	}
	a := decodeAnnounce(t, w.out[len(w.out)-len(w.body):])
	if len(a.peers) != 50 || a.incomplete != 151 {
		t.Fatalf("reply %+v", a)
	}
	// Scrape and failures allocate nothing either.
	for _, target := range []string{"/scrape?info_hash=" + esc(h42()) + "&info_hash=" + esc(h42()), "/announce?port=1"} {
		head := []byte("GET " + target + " HTTP/1.1\r\n\r\n")
		buf := make([]byte, len(head))
		if allocs := testing.AllocsPerRun(500, func() { copy(buf, head); s.respond(w, buf, peer) }); allocs != 0 {
			t.Errorf("%s allocates %v times", target, allocs)
		}
	}
}

func h42() []byte { h := ih(42); return h[:] }

// TestAnnounceZeroAllocSocket measures a whole keep-alive round trip over
// loopback, server and client together, with the client's buffers reused.
func TestAnnounceZeroAllocSocket(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(43)
	for i := 0; i < 20; i++ {
		get(t, tt.addr, announceURL(h, 2000+i, "&left=1"))
	}
	c, br := dial(t, tt.addr)
	req := []byte("GET " + announceURL(h, 3000, "&left=1&numwant=10") + " HTTP/1.1\r\n\r\n")
	r, err := roundTripOn(c, br, req)
	if err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, len(r))
	allocs := testing.AllocsPerRun(200, func() {
		c.Write(req)
		if _, err := io.ReadFull(br, resp); err != nil {
			t.Fatal(err)
		}
	})
	// Allow a little for runtime background work (timers, netpoll).
	if allocs > 0.5 {
		t.Fatalf("keep-alive announce round trip allocates %v times", allocs)
	}
}
