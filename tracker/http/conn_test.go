package http

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestKeepAliveAndPipelining(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h := ih(20)
	c, br := dial(t, tt.addr)
	// Two requests one after another on one HTTP/1.1 connection.
	for i, port := range []int{1, 2} {
		io.WriteString(c, "GET "+announceURL(h, port, "&left=1")+" HTTP/1.1\r\nHost: x\r\n\r\n")
		r, err := readResponse(br)
		if err != nil {
			t.Fatal(err)
		}
		if a := decodeAnnounce(t, r.body); a.incomplete != int64(i+1) || r.header["connection"] != "" {
			t.Fatalf("request %d: %+v %v", i, a, r.header)
		}
	}
	// Three pipelined requests in one write, the last one closing.
	io.WriteString(c, "GET "+announceURL(h, 3, "&left=1")+" HTTP/1.1\r\n\r\n"+
		"GET /scrape?info_hash="+esc(h[:])+" HTTP/1.1\r\n\r\n"+
		"GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
	r1, err1 := readResponse(br)
	r2, err2 := readResponse(br)
	r3, err3 := readResponse(br)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if a := decodeAnnounce(t, r1.body); a.incomplete != 3 {
		t.Fatalf("pipelined announce: %+v", a)
	}
	if f := scrapeFiles(t, r2.body); f[h] != [3]int64{0, 0, 3} {
		t.Fatalf("pipelined scrape: %v", f)
	}
	if r3.status != 404 || r3.header["connection"] != "close" {
		t.Fatalf("pipelined 404: %d %v", r3.status, r3.header)
	}
	expectEOF(t, c, br)

	// HTTP/1.0 keep-alive is honoured and announced.
	c, br = dial(t, tt.addr)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		r, err := readResponse(br)
		if err != nil || r.header["connection"] != "keep-alive" {
			t.Fatalf("HTTP/1.0 keep-alive %d: %v %v", i, r, err)
		}
	}
}

func expectEOF(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := br.ReadByte(); err == nil {
		t.Fatalf("connection still open, read %q", b)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("connection not closed by the server")
	}
}

func TestHTTP10Closes(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	c, br := dial(t, tt.addr)
	io.WriteString(c, "GET /announce HTTP/1.0\r\n\r\n")
	r, err := readResponse(br)
	if err != nil || r.header["connection"] != "close" {
		t.Fatalf("%v %v", r, err)
	}
	expectEOF(t, c, br)
	// HTTP/0.9 style head with bare LFs, as opentracker accepts.
	c, br = dial(t, tt.addr)
	io.WriteString(c, "GET /nothing\n\n")
	if r, err := readResponse(br); err != nil || r.status != 404 {
		t.Fatalf("%v %v", r, err)
	}
	expectEOF(t, c, br)
}

func TestBadRequests(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	cases := []struct {
		raw    string
		status int
	}{
		{"POST /announce HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405},
		{"HEAD / HTTP/1.1\r\n\r\n", 405},
		{"GARBAGE\r\n\r\n", 400},
		{"GET http://x/announce HTTP/1.1\r\n\r\n", 400},
		{"GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n\r\n", 414},
		{"GET / HTTP/1.1\r\n" + strings.Repeat("X-Junk: 0123456789\r\n", 500) + "\r\n", 431},
	}
	for _, c := range cases {
		conn, br := dial(t, tt.addr)
		io.WriteString(conn, c.raw)
		r, err := readResponse(br)
		if err != nil {
			t.Errorf("%.40q: %v", c.raw, err)
			continue
		}
		if r.status != c.status || r.header["connection"] != "close" {
			t.Errorf("%.40q: status %d %v, want %d and close", c.raw, r.status, r.header, c.status)
		}
		expectEOF(t, conn, br)
	}
	// A request of just under 8 KiB still works.
	long := "GET /announce?pad=" + strings.Repeat("x", 8000) + " HTTP/1.0\r\n\r\n"
	if r := roundTrip(t, tt.addr, long); r.status != 200 {
		t.Fatalf("8000-byte request: %d", r.status)
	}
}

func TestRouting(t *testing.T) {
	tt := startTracker(t, Config{Redirect: "https://example.org/", Admin: mustNets(t, "127.0.0.1"), StatsPath: "astats"}, nil, nil, "")
	r := get(t, tt.addr, "/")
	if r.status != 302 || r.header["location"] != "https://example.org/" {
		t.Fatalf("redirect: %d %v", r.status, r.header)
	}
	for _, p := range []string{"/foo", "/?info_hash=x", "/stats"} {
		if r = get(t, tt.addr, p); r.status != 404 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	// Any "/a..." path announces and "/sc..." scrapes, as in opentracker;
	// the stats path is matched first even though it starts with "a".
	if a := decodeAnnounce(t, get(t, tt.addr, "/announce.php").body); a.failure != reasonMissingHash {
		t.Errorf("/announce.php: %+v", a)
	}
	if r = get(t, tt.addr, "/astats"); r.status != 200 {
		t.Errorf("stats: %d %q", r.status, r.body)
	}
	if r = get(t, tt.addr, "/astats?mode=bogus"); r.status != 400 {
		t.Errorf("stats bogus mode: %d %q", r.status, r.body)
	}
	if r = get(t, tt.addr, "/astats?info_hash=x"); r.status != 400 {
		t.Errorf("stats with info_hash: %d", r.status)
	}
	if tt.c.HTTPRedirects.Load() != 1 || tt.c.HTTPNotFound.Load() != 3 {
		t.Errorf("counters: redirects %d notfound %d", tt.c.HTTPRedirects.Load(), tt.c.HTTPNotFound.Load())
	}
	// Stats from outside the admin networks: 403.
	tt2 := startTracker(t, Config{}, nil, nil, "")
	if r = get(t, tt2.addr, "/stats"); r.status != 403 {
		t.Errorf("non-admin stats: %d", r.status)
	}
	// Without a redirect, "/" is the landing page (with no statistics
	// links for a client outside the admin networks).
	if r = get(t, tt2.addr, "/"); r.status != 200 || !strings.Contains(string(r.body), "/announce") || strings.Contains(string(r.body), "/metrics") {
		t.Errorf("/ without redirect: %d %s", r.status, r.body)
	}
}

func TestIdleTimeout(t *testing.T) {
	tt := startTracker(t, Config{IdleTimeout: 150 * time.Millisecond}, nil, nil, "")
	start := time.Now()
	c, br := dial(t, tt.addr)
	expectEOF(t, c, br)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
	// Slowloris: bytes trickling in, for as long as the connection lasts
	// (3 s at most), do not extend the deadline.
	c, br = dial(t, tt.addr)
	start = time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		br.ReadByte() // EOF or reset when the server closes
		closed <- time.Since(start)
	}()
	var held time.Duration
	for trickle := time.NewTicker(30 * time.Millisecond); held == 0; {
		select {
		case held = <-closed:
			trickle.Stop()
		case <-trickle.C:
			if time.Since(start) > 3*time.Second {
				t.Fatal("a trickling client held the connection for 3 s (idle timeout 150 ms)")
			}
			io.WriteString(c, "G")
		}
	}
	if held > 2*time.Second {
		t.Fatalf("slow client held the connection for %v", held)
	}
}

func TestCloseEndsConnections(t *testing.T) {
	tt := startTracker(t, Config{IdleTimeout: time.Minute}, nil, nil, "")
	c, br := dial(t, tt.addr)
	io.WriteString(c, "GET /x HTTP/1.1\r\n\r\n")
	if _, err := readResponse(br); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { tt.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on an idle keep-alive connection")
	}
	expectEOF(t, c, br)
	if _, err := net.DialTimeout("tcp", tt.addr, time.Second); err == nil {
		t.Error("listener still accepting after Close")
	}
}
