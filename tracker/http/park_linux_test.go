//go:build linux

package http

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

// startDeferred serves a fresh store on a loopback listener made as the
// daemon makes its own (TCP_DEFER_ACCEPT): a connection is accepted once its
// first request has arrived, so that the inline path takes it.
func startDeferred(t *testing.T, cfg Config) *testTracker {
	t.Helper()
	ln, err := sock.ListenTCP("127.0.0.1:0", sock.Options{DeferAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	return serveTracker(t, cfg, newStore(t, 4<<20), nil, ln)
}

// goroutineConns is the number of connections served by goroutines.
func goroutineConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// keepAlive opens a connection and has its first request answered.
func keepAlive(t *testing.T, tt *testTracker, port int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br := dial(t, tt.addr)
	io.WriteString(c, "GET "+announceURL(ih(30), port, "&left=1")+" HTTP/1.1\r\n\r\n")
	if r := readAllResponses(t, br, 1)[0]; r.status != 200 || r.header["connection"] == "close" {
		t.Fatalf("first reply: %d %v", r.status, r.header)
	}
	return c, br
}

// TestParkedKeepAlive: every request of a keep-alive connection is
// answered inline by the accept loop, and no goroutine serves it.
func TestParkedKeepAlive(t *testing.T) {
	tt := startDeferred(t, Config{})
	c, br := keepAlive(t, tt, 1)
	for i := 0; i < 20; i++ {
		io.WriteString(c, "GET "+announceURL(ih(30), 100+i, "&left=1")+" HTTP/1.1\r\n\r\n")
		readAllResponses(t, br, 1)
	}
	if n := tt.srv.inlineAnswers.Load(); n != 21 {
		t.Errorf("%d of 21 requests answered inline", n)
	}
	if n := goroutineConns(tt.srv); n != 0 {
		t.Errorf("%d connection goroutines; want none", n)
	}
	// What the loop cannot answer with one read and one write (a scrape
	// page, pipelined requests) continues on a goroutine, in order.
	io.WriteString(c, "GET /stats HTTP/1.1\r\n\r\nGET "+announceURL(ih(30), 200, "&left=1")+" HTTP/1.1\r\n\r\n")
	rs := readAllResponses(t, br, 2)
	if rs[0].status != 403 || rs[1].status != 200 {
		t.Fatalf("after the hand-off: %d, %d", rs[0].status, rs[1].status)
	}
	if n := goroutineConns(tt.srv); n != 1 {
		t.Errorf("%d connection goroutines after the hand-off; want 1", n)
	}
}

// TestParkedIdleTimeout: a parked connection is closed once it has been
// idle for IdleTimeout (the loop's sweep), not before, not much after.
func TestParkedIdleTimeout(t *testing.T) {
	tt := startDeferred(t, Config{IdleTimeout: 300 * time.Millisecond})
	c, br := keepAlive(t, tt, 1)
	start := time.Now()
	expectEOF(t, c, br)
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("idle connection closed after %v; idle timeout 300 ms", d)
	}
	waitFor(t, "the slot freed", func() bool { return tt.srv.TableStats().Used == 0 })
}

// TestParkedEvictedByOwnAccept: with every slot held by connections parked
// in the accept loop, a new client evicts the oldest at once. The loop that
// accepts it is the one that would close the victim, so it closes it
// itself; waiting for it to notice the eviction would stall every accept
// for evictWait (1 s) and then refuse the client.
func TestParkedEvictedByOwnAccept(t *testing.T) {
	tt := startDeferred(t, Config{MaxConnections: 4, MaxPerAddress: -1})
	var conns []net.Conn
	var brs []*bufio.Reader
	for i := 0; i < 4; i++ {
		c, br := keepAlive(t, tt, 10+i)
		conns, brs = append(conns, c), append(brs, br)
	}
	time.Sleep(2 * evictGrace) // the parked ones come of age
	start := time.Now()
	r := get(t, tt.addr, announceURL(ih(30), 20, "&left=1"))
	if d := time.Since(start); r.status != 200 || d > evictWait/2 {
		t.Fatalf("new client: %d after %v", r.status, d)
	}
	expectEOF(t, conns[0], brs[0]) // the oldest
	if n := tt.srv.c.HTTPEvicted.Load(); n < 1 {
		t.Fatalf("%d evictions", n)
	}
}

// TestParkedEvictedByAnotherLoop: a connection parked in one listener's
// loop, evicted by an accept on another listener, is shut down and then
// closed by its own loop.
func TestParkedEvictedByAnotherLoop(t *testing.T) {
	tt := startDeferred(t, Config{MaxConnections: 2, MaxPerAddress: -1})
	ln2, err := sock.ListenTCP("127.0.0.1:0", sock.Options{DeferAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	go tt.srv.Serve(ln2) // ended by the Close in startDeferred's cleanup
	c1, br1 := keepAlive(t, tt, 1)
	keepAlive(t, tt, 2)
	time.Sleep(2 * evictGrace)
	r := get(t, ln2.Addr().String(), announceURL(ih(30), 3, "&left=1"))
	if r.status != 200 {
		t.Fatalf("client of the second listener: %d", r.status)
	}
	expectEOF(t, c1, br1)
	waitFor(t, "the evicted slot freed", func() bool { return tt.srv.TableStats().Used <= 1 })
}

// TestParkedZeroAlloc: answering a keep-alive connection's announces from
// the accept loop allocates nothing (the client side here is raw system
// calls, so that every allocation counted is the server's).
func TestParkedZeroAlloc(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	tt := startDeferred(t, Config{})
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
	_, portStr, _ := net.SplitHostPort(tt.addr)
	port, _ := strconv.Atoi(portStr)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		t.Fatal(err)
	}
	req := []byte("GET " + announceURL(ih(31), 1, "&left=1&numwant=10&compact=1") + " HTTP/1.1\r\n\r\n")
	var resp [4096]byte
	exchange := func() {
		unix.Write(fd, req)
		unix.Read(fd, resp[:])
	}
	exchange() // accepted and parked
	before := tt.srv.inlineAnswers.Load()
	allocs := testing.AllocsPerRun(100, exchange)
	if got := tt.srv.inlineAnswers.Load() - before; got != 101 {
		t.Fatalf("%d of 101 answered inline", got)
	}
	if allocs != 0 {
		t.Fatalf("a keep-alive announce answered by the loop allocates %v times", allocs)
	}
}

// TestParkedPartialRequestKeepsItsDeadline: a parked connection that sends
// part of a request goes on to a goroutine, and must still complete it
// within IdleTimeout of the reply before it, not of the hand-off.
func TestParkedPartialRequestKeepsItsDeadline(t *testing.T) {
	tt := startDeferred(t, Config{IdleTimeout: time.Second})
	c, br := keepAlive(t, tt, 1)
	replied := time.Now()
	time.Sleep(700 * time.Millisecond)
	io.WriteString(c, "GET /ann")
	expectEOF(t, c, br)
	if d := time.Since(replied); d < 900*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("closed %v after the reply; idle timeout 1 s, counted from the reply", d)
	}
}
