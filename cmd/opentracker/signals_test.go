package main

// Signals end to end: SIGTERM saves before anything else and exits within
// two seconds whatever the clients do; SIGHUP applies a changed config
// without a new process; restarts keep the swarm.

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopDaemon sends sig and returns how long the daemon took to exit.
func stopDaemon(t *testing.T, d *daemon, sig syscall.Signal) time.Duration {
	t.Helper()
	start := time.Now()
	d.cmd.Process.Signal(sig)
	select {
	case err := <-d.exited:
		if err != nil && sig == syscall.SIGTERM {
			t.Fatalf("exit after %v: %v", sig, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit 60 s after %v", sig)
	}
	return time.Since(start)
}

// nonReadingClient connects to addr and pipelines announces without ever
// reading, until the server stops reading too (our writes block): its
// replies then fill our receive buffer and its send buffer, and the
// connection's goroutine is stuck writing.
func nonReadingClient(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := []byte("GET " + announceURL(strings.Repeat("p", 20), 1, 5, "&numwant=200") + " HTTP/1.1\r\nHost: x\r\n\r\n")
	batch := bytes.Repeat(req, 64)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Write(batch); os.IsTimeout(err) {
			return c
		} else if err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	t.Fatal("the server kept reading a client that never reads")
	return nil
}

// TestSIGTERMWithANonReadingClient: with a client stuck as above, SIGTERM
// still exits in under 2 s, closing every connection (this used to take
// 27 s, the idle timeout's write deadline, past procd's 10 s before
// SIGKILL); and the state is saved before the connections are closed, so a
// SIGKILL soon after SIGTERM finds it written.
func TestSIGTERMWithANonReadingClient(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := map[bool]string{false: "exit", true: "SIGKILL 300ms after SIGTERM"}[kill]
		t.Run(name, func(t *testing.T) {
			stateFile := filepath.Join(t.TempDir(), "state")
			d := startDaemon(t, fmt.Sprintf("[state]\nfile = %q\nsave_interval = 0\n[http]\nidle_timeout = 30\n", stateFile))
			hash := strings.Repeat("t", 20)
			get(t, d.tcp[0], announceURL(hash, 4242, 0, ""))
			nonReadingClient(t, d.tcp[0].String())
			if kill {
				d.cmd.Process.Signal(syscall.SIGTERM)
				time.Sleep(300 * time.Millisecond)
				stopDaemon(t, d, syscall.SIGKILL)
			} else {
				took := stopDaemon(t, d, syscall.SIGTERM)
				t.Logf("SIGTERM to exit with a non-reading client: %v", took)
				if took > 2*time.Second || strings.Contains(d.logText(), "exiting anyway") {
					t.Errorf("SIGTERM took %v with a non-reading client (want under 2 s, everything closed):\n%s", took, d.logText())
				}
			}
			if b, err := os.ReadFile(stateFile); err != nil || !bytes.Contains(b, []byte(hash)) {
				t.Fatalf("state not saved: %v", err)
			}
		})
	}
}

// TestCloseWithinGivesUp: a close that blocks is abandoned after the limit
// and logged; one that finishes is waited for.
func TestCloseWithinGivesUp(t *testing.T) {
	var buf bytes.Buffer
	warn := log.New(&buf, "", 0)
	start := time.Now()
	block := make(chan struct{})
	defer close(block)
	closeWithin(100*time.Millisecond, warn, func() { <-block })
	if d := time.Since(start); d > 5*time.Second || !strings.Contains(buf.String(), "exiting anyway") {
		t.Fatalf("blocked close: returned after %v, log %q", d, buf.String())
	}
	buf.Reset()
	finished := false
	closeWithin(5*time.Second, warn, func() { time.Sleep(50 * time.Millisecond); finished = true })
	if !finished || buf.Len() != 0 {
		t.Fatalf("close not waited for: %v %q", finished, buf.String())
	}
}
