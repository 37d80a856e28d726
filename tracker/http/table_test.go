package http

import (
	"bufio"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialFrom connects to addr from the loopback source address src
// (127.0.0.x), so that tests can play several clients.
func dialFrom(t testing.TB, src, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// waitUsed waits until n slots of tt's table are taken.
func waitUsed(t testing.TB, tt *testTracker, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); tt.srv.TableStats().Used != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d slots used, want %d", tt.srv.TableStats().Used, n)
		}
	}
}

// TestFullTableEvictsLongestWaiting: a new client is served at once when
// the table is full of connections that hold partial requests; the one
// that has waited longest is closed to make room.
func TestFullTableEvictsLongestWaiting(t *testing.T) {
	defer func() { Inline = true }()
	for _, fast := range []bool{true, false} {
		Inline = fast
		tt := startTracker(t, Config{MaxConnections: 2, MaxPerAddress: -1}, nil, nil, "")
		c1, br1 := dialFrom(t, "127.0.0.2", tt.addr)
		io.WriteString(c1, "GET /x HTTP/1.1\r\n")
		waitUsed(t, tt, 1)
		time.Sleep(5 * time.Millisecond) // c1 is the older
		c2, br2 := dialFrom(t, "127.0.0.3", tt.addr)
		io.WriteString(c2, "GET /x HTTP/1.1\r\n")
		waitUsed(t, tt, 2)

		start := time.Now()
		c3, br3 := dialFrom(t, "127.0.0.4", tt.addr)
		io.WriteString(c3, "GET /y HTTP/1.0\r\n\r\n")
		if r, err := readResponse(br3); err != nil || r.status != 404 {
			t.Fatalf("fast=%v: new client behind a full table: %v %v", fast, r, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("fast=%v: new client answered after %v", fast, d)
		}
		expectEOF(t, c1, br1)
		// The younger one is still served.
		io.WriteString(c2, "\r\n")
		if r, err := readResponse(br2); err != nil || r.status != 404 {
			t.Fatalf("fast=%v: younger partial request: %v %v", fast, r, err)
		}
		if n := tt.c.HTTPEvicted.Load(); n != 1 {
			t.Errorf("fast=%v: %d evictions, want 1", fast, n)
		}
	}
}

// TestIdleKeepAliveEvictedFirst: an idle keep-alive connection goes before
// an older connection that is partway through a request.
func TestIdleKeepAliveEvictedFirst(t *testing.T) {
	tt := startTracker(t, Config{MaxConnections: 2, MaxPerAddress: -1}, nil, nil, "")
	w, wbr := dialFrom(t, "127.0.0.2", tt.addr)
	io.WriteString(w, "GET /x HTTP/1.1\r\n")
	waitUsed(t, tt, 1)
	time.Sleep(5 * time.Millisecond)
	i, ibr := dialFrom(t, "127.0.0.3", tt.addr)
	io.WriteString(i, "GET /x HTTP/1.1\r\n\r\n")
	if _, err := readResponse(ibr); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, tt, 2)
	if r := get(t, tt.addr, "/z"); r.status != 404 {
		t.Fatalf("new client: %d", r.status)
	}
	expectEOF(t, i, ibr)
	io.WriteString(w, "\r\n")
	if r, err := readResponse(wbr); err != nil || r.status != 404 {
		t.Fatalf("partial request evicted before the idle keep-alive: %v %v", r, err)
	}
}

// TestPerAddressCap: an address at its cap evicts its own oldest
// connection; other addresses are untouched, and trusted proxies have no cap.
func TestPerAddressCap(t *testing.T) {
	tt := startTracker(t, Config{MaxConnections: 16, MaxPerAddress: 2, Proxies: mustNets(t, "127.0.0.9")}, nil, nil, "")
	other, obr := dialFrom(t, "127.0.0.3", tt.addr)
	io.WriteString(other, "GET /x HTTP/1.1\r\n")
	a1, abr1 := dialFrom(t, "127.0.0.2", tt.addr)
	io.WriteString(a1, "GET /x HTTP/1.1\r\n")
	waitUsed(t, tt, 2)
	time.Sleep(5 * time.Millisecond)
	a2, abr2 := dialFrom(t, "127.0.0.2", tt.addr)
	io.WriteString(a2, "GET /x HTTP/1.1\r\n")
	waitUsed(t, tt, 3)
	time.Sleep(2 * evictGrace) // a1 is past its grace
	a3, abr3 := dialFrom(t, "127.0.0.2", tt.addr)
	io.WriteString(a3, "GET /x HTTP/1.0\r\n\r\n")
	if r, err := readResponse(abr3); err != nil || r.status != 404 {
		t.Fatalf("third from one address: %v %v", r, err)
	}
	expectEOF(t, a1, abr1)
	for _, c := range []struct {
		c  net.Conn
		br *bufio.Reader
	}{{a2, abr2}, {other, obr}} {
		io.WriteString(c.c, "\r\n")
		if r, err := readResponse(c.br); err != nil || r.status != 404 {
			t.Fatalf("%v lost its connection: %v %v", c.c.LocalAddr(), r, err)
		}
	}
	// A proxy may hold more.
	var proxied []*bufio.Reader
	for i := 0; i < 4; i++ {
		c, br := dialFrom(t, "127.0.0.9", tt.addr)
		io.WriteString(c, "GET /x HTTP/1.1\r\n")
		proxied = append(proxied, br)
		defer io.WriteString(c, "\r\n")
	}
	waitUsed(t, tt, 6) // a2 and other are idle keep-alives now
	if n := tt.c.HTTPEvicted.Load(); n != 1 {
		t.Errorf("%d evictions, want 1", n)
	}
	_ = proxied
}

// TestTLSHelloClosesAtOnce: a TLS ClientHello on the plain port is closed
// at once, not held until the idle timeout.
func TestTLSHelloClosesAtOnce(t *testing.T) {
	defer func() { Inline = true }()
	for _, fast := range []bool{true, false} {
		Inline = fast
		tt := startTracker(t, Config{IdleTimeout: time.Minute}, nil, nil, "")
		c, br := dial(t, tt.addr)
		c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03})
		start := time.Now()
		expectEOF(t, c, br)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("fast=%v: ClientHello held for %v", fast, d)
		}
		// After a keep-alive request too.
		c, br = dial(t, tt.addr)
		io.WriteString(c, "GET /x HTTP/1.1\r\n\r\n")
		readResponse(br)
		c.Write([]byte{0x16, 0x03, 0x01})
		start = time.Now()
		expectEOF(t, c, br)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("fast=%v: ClientHello after a request held for %v", fast, d)
		}
	}
}

// TestTableIsFixed: the table's buffers are allocated once and reported.
func TestTableIsFixed(t *testing.T) {
	tt := startTracker(t, Config{MaxConnections: 3}, nil, nil, "")
	st := tt.srv.TableStats()
	if st.Slots != 3 || st.BufferBytes != 3*MaxRequestBytes || st.Used != 0 {
		t.Fatalf("%+v", st)
	}
	c, _ := dial(t, tt.addr)
	io.WriteString(c, "GET /x HTTP/1.1\r\n")
	waitUsed(t, tt, 1)
	c.Close()
	waitUsed(t, tt, 0)
}

// TestBlockedWriterEvicted: a client that pipelines requests and never
// reads its replies leaves the server blocked writing to it; that slot can
// be taken back too.
func TestBlockedWriterEvicted(t *testing.T) {
	tt := startTracker(t, Config{MaxConnections: 1, MaxPerAddress: -1}, nil, nil, "")
	d := net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	w, err := d.Dial("tcp", tt.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Requests until the server stops reading them: its replies fill both
	// socket buffers and it blocks in a write (bounded: 64 MiB or 10 s).
	reqs := []byte(strings.Repeat("GET /x HTTP/1.1\r\n\r\n", 400))
	blocked := false
	for sent, end := 0, time.Now().Add(10*time.Second); sent < 64<<20 && time.Now().Before(end); sent += len(reqs) {
		w.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := w.Write(reqs); err != nil {
			blocked = true
			break
		}
	}
	if !blocked {
		t.Fatal("the server never stopped reading")
	}
	// The server still answers what it has read until its send buffer
	// (autotuned up to megabytes) is full: wait until one write has been
	// blocked for a while.
	cn := &tt.srv.table.all[0]
	for end := time.Now().Add(10 * time.Second); cn.state.Load() != stWriting || tt.srv.table.age(cn) < 2*evictGrace; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the slot is in state %d, not blocked writing", cn.state.Load())
		}
	}
	if r := get(t, tt.addr, "/z"); r.status != 404 {
		t.Fatalf("new client behind a blocked writer: %d", r.status)
	}
	if n := tt.c.HTTPEvicted.Load(); n != 1 {
		t.Errorf("%d evictions", n)
	}
}
