//go:build linux

package http

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/sock"
)

// rawServe connects a client to a throwaway listener, sends first, and hands
// the server side to tt's serveRaw as the raw accept loop would, once first
// has arrived (unless wait is false). It returns the client side.
func inlineServe(t *testing.T, tt *testTracker, first string, wait bool) (net.Conn, *bufio.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, br := dial(t, ln.Addr().String())
	if _, err := io.WriteString(c, first); err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := sc.(*net.TCPConn).SyscallConn()
	fd := -1
	rc.Control(func(s uintptr) { fd, err = unix.Dup(int(s)) }) // shares O_NONBLOCK
	sc.Close()
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); wait; time.Sleep(time.Millisecond) {
		n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		if err != nil || n >= len(first) || time.Now().After(deadline) {
			break
		}
	}
	peer := c.LocalAddr().(*net.TCPAddr).AddrPort()
	cn := tt.srv.acquire(peer.Addr(), nil) // as the accept loop
	if cn == nil {
		t.Fatal("no slot")
	}
	tt.srv.serveInline(fd, peer, cn, nil)
	return c, br
}

func readAllResponses(t *testing.T, br *bufio.Reader, n int) []*response {
	t.Helper()
	var rs []*response
	for i := 0; i < n; i++ {
		r, err := readResponse(br)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func expectCleanEOF(t *testing.T, br *bufio.Reader) {
	t.Helper()
	if b, err := io.ReadAll(br); err != nil || len(b) > 0 {
		t.Fatalf("after the reply: %q, %v; want a clean EOF", b, err)
	}
}

func TestInlineOneShot(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(7)
	for i, req := range []string{
		"GET " + announceURL(h, 1000, "&left=1") + " HTTP/1.0\r\n\r\n",
		"GET " + announceURL(h, 1001, "&left=0") + " HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET " + announceURL(h, 1002, "&left=1") + "\n\n",
		"GET /scrape?info_hash=" + esc(h[:]) + " HTTP/1.0\r\nHost: x\r\n\r\n",
	} {
		before := tt.srv.inlineAnswers.Load()
		_, br := inlineServe(t, tt, req, true)
		r := readAllResponses(t, br, 1)[0]
		if r.status != 200 || r.header["connection"] != "close" {
			t.Fatalf("%d: %d %v", i, r.status, r.header)
		}
		expectCleanEOF(t, br)
		if tt.srv.inlineAnswers.Load() != before+1 {
			t.Fatalf("%d: not answered inline", i)
		}
	}
	r := get(t, tt.addr, "/scrape?info_hash="+esc(h[:]))
	if f := scrapeFiles(t, r.body)[h]; f != [3]int64{1, 0, 2} {
		t.Fatalf("scrape %v", f)
	}
	// The peer address is the client's.
	a := decodeAnnounce(t, get(t, tt.addr, announceURL(h, 1003, "&left=1&compact=1")).body)
	if !peerSet(a.peers)[netip.MustParseAddrPort("127.0.0.1:1000")] {
		t.Fatalf("peers %v", a.peers)
	}
}

func TestInlineKeepAliveAndPipelining(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(8)
	ann := func(port int) string { return "GET " + announceURL(h, port, "&left=1") + " HTTP/1.1\r\n\r\n" }
	// Keep-alive after an inline first request: served on a goroutine.
	c, br := inlineServe(t, tt, ann(1), true)
	readAllResponses(t, br, 1)
	io.WriteString(c, ann(2)+ann(3))
	readAllResponses(t, br, 2)
	// Pipelined in the first packet: the second is not lost.
	c, br = inlineServe(t, tt, ann(4)+ann(5)+"GET /stats HTTP/1.1\r\n\r\n", true)
	rs := readAllResponses(t, br, 3)
	if rs[2].status != 403 {
		t.Fatalf("stats: %d", rs[2].status)
	}
	c.Close()
	// HTTP/1.0 with a second request: one reply, then a graceful close.
	_, br = inlineServe(t, tt, "GET "+announceURL(h, 6, "&left=1")+" HTTP/1.0\r\n\r\n"+ann(7), true)
	readAllResponses(t, br, 1)
	expectCleanEOF(t, br)
	if n := tt.srv.inlineAnswers.Load(); n != 3 {
		t.Fatalf("%d requests answered inline, want 3", n)
	}
}

func TestInlineFallbacks(t *testing.T) {
	tt := startTracker(t, Config{Admin: mustNets(t, "127.0.0.1/32"), FullScrape: true, Redirect: "http://x/"}, nil, nil, "")
	h := ih(9)
	full := "GET " + announceURL(h, 1, "&left=1") + " HTTP/1.1\r\nConnection: close\r\n\r\n"
	// Incomplete head, then the rest.
	c, br := inlineServe(t, tt, full[:20], true)
	io.WriteString(c, full[20:])
	readAllResponses(t, br, 1)
	expectCleanEOF(t, br)
	// Nothing read yet (EAGAIN).
	c, br = inlineServe(t, tt, "", false)
	io.WriteString(c, full)
	readAllResponses(t, br, 1)
	// Other routes.
	for target, want := range map[string]int{"/stats": 200, "/scrape": 200, "/": 302, "/nope": 404} {
		_, br := inlineServe(t, tt, "GET "+target+" HTTP/1.0\r\n\r\n", true)
		if r := readAllResponses(t, br, 1)[0]; r.status != want {
			t.Fatalf("%s: %d", target, r.status)
		}
		expectCleanEOF(t, br)
	}
	if n := tt.srv.inlineAnswers.Load(); n != 0 {
		t.Fatalf("%d requests answered inline, want 0", n)
	}
	// One routing rule: an announce whose path is %-encoded is an announce
	// on the inline path as well.
	_, br = inlineServe(t, tt, "GET /%61nnounce?port=1 HTTP/1.0\r\n\r\n", true)
	if r := readAllResponses(t, br, 1)[0]; r.status != 200 || !strings.Contains(string(r.body), "failure reason") {
		t.Fatalf("/%%61nnounce: %d %q", r.status, r.body)
	}
	if n := tt.srv.inlineAnswers.Load(); n != 1 {
		t.Fatalf("/%%61nnounce: %d requests answered inline, want 1", n)
	}
}

// TestInlineServe drives the inline accept loop through Serve: connections
// queue behind a held slot and are then taken with accept4.
func TestInlineServe(t *testing.T) {
	defer func() { Inline = true }()
	for _, inline := range []bool{true, false} {
		Inline = inline
		tt := startTracker(t, Config{MaxConnections: 1}, nil, nil, "")
		hold, _ := dial(t, tt.addr)
		waitFor(t, "the holding connection", func() bool { return tt.c.TCPAccepts.Load() >= 1 })
		h := ih(10)
		var brs []*bufio.Reader
		for i := 0; i < 5; i++ {
			c, br := dial(t, tt.addr)
			io.WriteString(c, "GET "+announceURL(h, 100+i, "&left=1")+" HTTP/1.0\r\n\r\n")
			brs = append(brs, br)
		}
		waitFor(t, "a queued connection", func() bool { return tt.c.TCPAccepts.Load() >= 2 })
		time.Sleep(20 * time.Millisecond)
		hold.Close()
		for _, br := range brs {
			readAllResponses(t, br, 1)
			expectCleanEOF(t, br)
		}
		// The slot came back each time.
		if r := get(t, tt.addr, announceURL(h, 200, "&left=1")); r.status != 200 {
			t.Fatal(r.status)
		}
		n := tt.srv.inlineAnswers.Load()
		if inline && n == 0 || !inline && n != 0 {
			t.Errorf("Inline %v: %d inline", inline, n)
		}
		if a := tt.c.TCPAccepts.Load(); a != 7 {
			t.Errorf("Inline %v: %d accepts, want 7", inline, a)
		}
	}
	Inline = true
}

func TestInlineClose(t *testing.T) {
	tt := startTracker(t, Config{MaxConnections: 2}, nil, nil, "")
	h := ih(11)
	// A keep-alive connection handed off after an inline reply, one waiting
	// for its head, and queued clients.
	c1, br1 := inlineServe(t, tt, "GET "+announceURL(h, 1, "&left=1")+" HTTP/1.1\r\n\r\n", true)
	readAllResponses(t, br1, 1)
	c2, br2 := inlineServe(t, tt, "GET /announce", true)
	for i := 0; i < 3; i++ {
		c, _ := dial(t, tt.addr)
		io.WriteString(c, "GET "+announceURL(h, 10+i, "&left=1")+" HTTP/1.0\r\n\r\n")
	}
	done := make(chan struct{})
	go func() { tt.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	for _, br := range []*bufio.Reader{br1, br2} {
		if b, err := io.ReadAll(br); len(b) > 0 || err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("after Close: %q %v", b, err)
		}
	}
	c1.Close()
	c2.Close()
}

// TestInlineZeroAlloc: accepting, answering a compact announce inline and
// closing allocate nothing on the server.
func TestInlineZeroAlloc(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(12)
	for i := 0; i < 20; i++ {
		get(t, tt.addr, announceURL(h, 2000+i, "&left=1"))
	}
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	lsa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(lfd, lsa); err != nil {
		t.Fatal(err)
	}
	unix.Listen(lfd, 16)
	sa, _ := unix.Getsockname(lfd)
	req := []byte("GET " + announceURL(h, 3000, "&left=1&numwant=10&compact=1") + " HTTP/1.0\r\n\r\n")
	a := &inlineAcceptor{s: tt.srv}
	var resp [4096]byte
	before := tt.srv.inlineAnswers.Load()
	allocs := testing.AllocsPerRun(100, func() {
		cfd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		unix.Connect(cfd, sa)
		unix.Write(cfd, req)
		a.acceptFd(uintptr(lfd))
		for n, _ := unix.IoctlGetInt(a.fd, unix.SIOCINQ); n < len(req); n, _ = unix.IoctlGetInt(a.fd, unix.SIOCINQ) {
		}
		peer := a.peer()
		tt.srv.serveInline(a.fd, peer, tt.srv.acquire(peer.Addr(), nil), nil)
		unix.Read(cfd, resp[:])
		unix.Close(cfd)
	})
	if got := tt.srv.inlineAnswers.Load() - before; got != 101 {
		t.Fatalf("%d of 101 answered inline", got)
	}
	if allocs != 0 {
		t.Fatalf("inline announce on a new connection allocates %v times", allocs)
	}
}

// TestDeferredAccept: on a listener made with sock.Options.DeferAccept a
// connection is taken from the kernel once its request has arrived, and
// then answered inline; a client that connects and sends later is still
// served.
func TestDeferredAccept(t *testing.T) {
	ln, err := sock.ListenTCP("127.0.0.1:0", sock.Options{DeferAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	var c logic.Counters
	srv := newServer(t, Config{}, newTracker(newStore(t, 4<<20), nil, &c))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := serveResult(t, errc); err != ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	}()
	conn, br := dial(t, ln.Addr().String())
	time.Sleep(300 * time.Millisecond)
	if n := c.TCPAccepts.Load(); n != 0 {
		t.Fatalf("%d accepts before the client sent anything", n)
	}
	io.WriteString(conn, "GET "+announceURL(ih(13), 2, "&left=1")+" HTTP/1.0\r\n\r\n")
	if r, err := readResponse(br); err != nil || r.status != 200 {
		t.Fatalf("%v %v", r, err)
	}
	if n := srv.inlineAnswers.Load(); n != 1 {
		t.Fatalf("the deferred connection's request was not answered inline (%d)", n)
	}
}

// TestServeStopsWhenListenerClosed: closing the listener without Close ends
// Serve and frees the port, although the accept loop waits on a duplicate.
func TestServeStopsWhenListenerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Config{}, newTracker(newStore(t, 4<<20), nil, nil))
	defer srv.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if r := get(t, ln.Addr().String(), announceURL(ih(14), 1, "&left=1")); r.status != 200 {
		t.Fatal(r.status)
	}
	ln.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve returned %v, want net.ErrClosed", err)
		}
	case <-time.After(3 * listenerCheck):
		t.Fatal("Serve still running after its listener was closed")
	}
	again, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("port still held: %v", err)
	}
	again.Close()
}

// TestServeTwiceOnOneListener: Close ends both accept loops.
func TestServeTwiceOnOneListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := newServer(t, Config{}, newTracker(newStore(t, 4<<20), nil, nil))
	errc := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { errc <- srv.Serve(ln) }()
	}
	for i := 0; i < 4; i++ {
		if r := get(t, ln.Addr().String(), announceURL(ih(15), i+1, "&left=1")); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	for i := 0; i < 2; i++ {
		if err := serveResult(t, errc); err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	}
}

// TestBlockingListenerDoesNotFreeze: accept4 is a raw syscall, which holds
// the P while it runs. If something made the listener blocking (os.File.Fd
// does), SO_RCVTIMEO still bounds each accept4 to a millisecond: at
// GOMAXPROCS 1 other goroutines keep running and requests are still served.
func TestBlockingListenerDoesNotFreeze(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Config{}, newTracker(newStore(t, 4<<20), nil, nil))
	defer srv.Close()
	go srv.Serve(ln)
	if r := get(t, ln.Addr().String(), announceURL(ih(16), 1, "&left=1")); r.status != 200 {
		t.Fatal(r.status)
	}
	rc, _ := ln.(*net.TCPListener).SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetNonblock(int(fd), false) })
	for i := 0; i < 3; i++ {
		start := time.Now()
		time.Sleep(20 * time.Millisecond)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("a 20 ms sleep took %v: the accept loop holds the only P", d)
		}
		if r := get(t, ln.Addr().String(), announceURL(ih(16), 2+i, "&left=1")); r.status != 200 {
			t.Fatal(r.status)
		}
	}
}

// TestKeepAliveReplyNotCorked: accepted sockets inherit the listener's
// TCP_CORK, under which a reply left in the socket goes out only after
// 200 ms (or at close). A keep-alive connection stays open, so handOff must
// uncork: the best of five second replies (the first is answered inline)
// comes well before that.
func TestKeepAliveReplyNotCorked(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	if r := get(t, tt.addr, announceURL(ih(17), 1, "&left=1")); r.status != 200 {
		t.Fatal(r.status) // Serve has corked the listener
	}
	best := time.Hour
	for i := 0; i < 5; i++ {
		c, br := dial(t, tt.addr)
		io.WriteString(c, "GET "+announceURL(ih(17), 10+i, "&left=1")+" HTTP/1.1\r\n\r\n")
		readAllResponses(t, br, 1)
		start := time.Now()
		io.WriteString(c, "GET "+announceURL(ih(17), 20+i, "&left=1")+" HTTP/1.1\r\n\r\n")
		readAllResponses(t, br, 1)
		best = min(best, time.Since(start))
		c.Close()
	}
	if best >= 150*time.Millisecond {
		t.Fatalf("fastest keep-alive reply took %v: left corked", best)
	}
}
