package openwrt

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/internal/testdaemon"
)

func itoa(n int) string { return strconv.Itoa(n) }

// daemon is a running opentracker (maybe under qemu-user, or an init
// script's command line): testdaemon's, with waits long enough for
// qemu-user on a loaded machine.
type daemon struct{ *testdaemon.Process }

// startDaemon runs prefix+argv (prefix: the qemu command, or nil).
func startDaemon(t *testing.T, prefix, argv, env []string) *daemon {
	t.Helper()
	return &daemon{testdaemon.Start(t, prefix, argv, env)}
}

// waitLog waits for a logged line containing s.
func (d *daemon) waitLog(t *testing.T, s string) {
	t.Helper()
	d.WaitLog(t, s, 60*time.Second)
}

// hup sends SIGHUP (re-read the access list) and checks the daemon lives on.
func (d *daemon) hup(t *testing.T) {
	t.Helper()
	d.Signal(t, syscall.SIGHUP)
	select {
	case <-d.Done():
		t.Fatalf("daemon exited on SIGHUP (%v):\n%s", d.Err(), d.Log())
	case <-time.After(500 * time.Millisecond):
	}
}

// stop sends SIGTERM and expects a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.Stop(t, 30*time.Second)
}

// announce sends one HTTP announce over a raw TCP connection and checks for
// a bencoded reply with an interval.
func announce(t *testing.T, addr string) {
	t.Helper()
	var hash, peer strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&hash, "%%%02X", 0xa0+i)
	}
	peer.WriteString("-GO0001-openwrt-test")
	req := "GET /announce?info_hash=" + hash.String() + "&peer_id=" + peer.String() +
		"&port=6881&left=0&compact=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.") || !strings.Contains(status, " 200") {
		t.Fatalf("status line %q", status)
	}
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading headers: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			if length, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				t.Fatalf("Content-Length %q", v)
			}
		}
	}
	var body []byte
	if length >= 0 {
		body = make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("reading %d body bytes: %v", length, err)
		}
	} else {
		body, _ = io.ReadAll(r) // until close or deadline
	}
	if !bytes.HasPrefix(body, []byte("d")) || !bytes.Contains(body, []byte("8:interval")) {
		t.Fatalf("announce reply is not a bencoded dictionary with an interval: %q", body)
	}
}
