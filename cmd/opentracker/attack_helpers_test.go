package main

// Connection attacks for the end-to-end tests: many clients from
// 127.0.0.2-127.0.0.251 that hold connections, and a legitimate client on
// 127.0.0.1 whose wait for an answer is measured.

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type attackKind int

const (
	// keepAlivePartial: one keep-alive request answered, then a partial
	// second request growing by a byte every attack.every.
	keepAlivePartial attackKind = iota
	// silent: connect and send nothing; reconnect when closed.
	silent
	// trickle: send the request a byte every attack.every; reconnect when
	// closed.
	trickle
	// bigPartial: an unfinished 4000-byte request, then nothing.
	bigPartial
)

func (k attackKind) String() string {
	return [...]string{"keep-alive partial", "silent", "byte-a-second", "4000-byte partial"}[k]
}

// attack is n attacking connections, each reconnecting when closed, until
// stop (or its time limit).
type attack struct {
	kind     attackKind
	every    time.Duration
	stopc    chan struct{}
	wg       sync.WaitGroup
	connects atomic.Int64 // connections made
	closed   atomic.Int64 // closed by the server
	held     atomic.Int64 // open now

	// Open connections, closed by stop: attackers block in reads without
	// polling, so that thousands of them cost the test process (under the
	// race detector too) little CPU beside the daemon's.
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// attackSource is the source address of attacker i.
func attackSource(i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%250))}
}

// startAttack opens n attacking connections to target; they stop after
// limit at the latest.
func startAttack(t *testing.T, target netip.AddrPort, kind attackKind, n int, every, limit time.Duration) *attack {
	t.Helper()
	a := newAttack(kind, every)
	timer := time.AfterFunc(limit, a.stop)
	t.Cleanup(func() { timer.Stop(); a.stop() })
	for i := 0; i < n; i++ {
		a.wg.Add(1)
		go a.run(i, target)
		if i%64 == 63 {
			time.Sleep(time.Millisecond) // do not overflow the SYN queue
		}
	}
	return a
}

func newAttack(kind attackKind, every time.Duration) *attack {
	return &attack{kind: kind, every: every, stopc: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

var stopOnce sync.Map

func (a *attack) stop() {
	if _, done := stopOnce.LoadOrStore(a, true); !done {
		close(a.stopc)
		a.mu.Lock()
		for c := range a.conns {
			c.Close()
		}
		a.mu.Unlock()
		a.wg.Wait()
	}
}

// track registers c to be closed by stop; false if stop came first.
func (a *attack) track(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped() {
		return false
	}
	a.conns[c] = struct{}{}
	return true
}

func (a *attack) untrack(c net.Conn) {
	a.mu.Lock()
	delete(a.conns, c)
	a.mu.Unlock()
}

func (a *attack) stopped() bool {
	select {
	case <-a.stopc:
		return true
	default:
		return false
	}
}

func (a *attack) run(i int, target netip.AddrPort) {
	defer a.wg.Done()
	d := net.Dialer{LocalAddr: attackSource(i), Timeout: 2 * time.Second}
	for !a.stopped() {
		c, err := d.Dial("tcp", target.String())
		if err != nil {
			a.pause(50 * time.Millisecond)
			continue
		}
		if !a.track(c) {
			c.Close()
			return
		}
		a.connects.Add(1)
		a.held.Add(1)
		if a.hold(c, i) {
			a.closed.Add(1)
		}
		a.held.Add(-1)
		a.untrack(c)
		c.Close()
		a.pause(10 * time.Millisecond)
	}
}

func (a *attack) pause(d time.Duration) {
	select {
	case <-a.stopc:
	case <-time.After(d):
	}
}

// hold plays the attack on c until the server closes it (true) or the
// attack stops (false).
func (a *attack) hold(c net.Conn, i int) bool {
	var buf [4096]byte
	// waitClose reads for d (0: until closed); it reports whether the
	// server closed the connection (rather than d passing or stop).
	waitClose := func(d time.Duration) (closed bool) {
		var deadline time.Time
		if d > 0 {
			deadline = time.Now().Add(d)
		}
		c.SetReadDeadline(deadline)
		for {
			_, err := c.Read(buf[:])
			if err == nil {
				continue // a reply to the first request, or a 503
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() || a.stopped() {
				return false
			}
			return true
		}
	}
	req := fmt.Sprintf("GET /announce?info_hash=%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%%AA%02X&peer_id=-XX0001-%012d&port=%d&left=1 HTTP/1.1\r\nHost: tracker\r\n\r\n", i%256, i, 1000+i%60000)
	switch a.kind {
	case keepAlivePartial:
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			return true
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf[:]); err != nil {
			return true
		}
		fallthrough
	case trickle:
		for k := 0; !a.stopped(); k++ {
			if _, err := c.Write([]byte{req[k%len(req)]}); err != nil {
				return true
			}
			if waitClose(a.every) {
				return true
			}
		}
	case silent:
		return waitClose(0)
	case bigPartial:
		big := "GET /announce?x=" + strings.Repeat("a", 4000-16)
		if _, err := io.WriteString(c, big); err != nil {
			return true
		}
		return waitClose(0)
	}
	return false
}

// waitHeld waits until n attacking connections are open, the server took
// them in (want accepted, read from the counter given), or limit passes.
func (a *attack) waitHeld(t *testing.T, n int64, limit time.Duration) {
	t.Helper()
	for end := time.Now().Add(limit); a.held.Load() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Logf("%s: only %d of %d attacking connections open after %v", a.kind, a.held.Load(), n, limit)
			return
		}
	}
}

// legitWaits makes rounds fresh-connection announces from 127.0.0.1, one
// every gap, and returns how long each took to be answered with 200 (limit
// when it was not, within limit).
func legitWaits(target netip.AddrPort, rounds int, gap, limit time.Duration) []time.Duration {
	var waits []time.Duration
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: limit}
	for r := 0; r < rounds; r++ {
		if r > 0 {
			time.Sleep(gap)
		}
		start := time.Now()
		wait := limit
		if c, err := d.Dial("tcp", target.String()); err == nil {
			c.SetDeadline(start.Add(limit))
			fmt.Fprintf(c, "GET /announce?info_hash=%%01%%02%%03%%04%%05%%06%%07%%08%%09%%10%%11%%12%%13%%14%%15%%16%%17%%18%%19%%20&peer_id=-LG0001-000000000001&port=6881&left=1 HTTP/1.0\r\n\r\n")
			// Answered means served: a 503 for want of a slot is not.
			if b, err := io.ReadAll(c); err == nil && (strings.HasPrefix(string(b), "HTTP/1.0 200") || strings.HasPrefix(string(b), "HTTP/1.1 200")) {
				wait = time.Since(start)
			}
			c.Close()
		}
		waits = append(waits, wait)
	}
	return waits
}

func maxWait(w []time.Duration) time.Duration {
	s := append([]time.Duration(nil), w...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)-1]
}

func medianWait(w []time.Duration) time.Duration {
	s := append([]time.Duration(nil), w...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func fmtWaits(w []time.Duration) string {
	var parts []string
	for _, d := range w {
		parts = append(parts, fmt.Sprintf("%.3fs", d.Seconds()))
	}
	return strings.Join(parts, " ")
}

// reference is Debian's opentracker, started on 127.0.0.1 for the figures
// beside ours; nil when it is not installed.
type reference struct {
	cmd *exec.Cmd
	tcp netip.AddrPort
}

func startReference(t *testing.T) *reference {
	t.Helper()
	bin := "/usr/bin/opentracker"
	if _, err := os.Stat(bin); err != nil {
		return nil
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "whitelist.txt"), []byte("0102030405060708091011121314151617181920\n"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{"-i", "127.0.0.1", "-p", fmt.Sprint(port), "-d", dir, "-w", "whitelist.txt"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := &reference{cmd: cmd, tcp: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", r.tcp.String()); err == nil {
			c.Close()
			return r
		}
	}
	t.Fatal("reference opentracker did not listen")
	return nil
}
