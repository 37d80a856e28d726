package openwrt

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// daemon is a running opentracker (maybe under qemu-user) whose stderr is
// collected line by line.
type daemon struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string
	more chan struct{} // signalled on each new line and at exit
	done chan struct{} // closed when the process exited
	err  error         // exit status, valid after done
}

// startDaemon runs prefix+argv (prefix: the qemu command, or nil).
func startDaemon(t *testing.T, prefix, argv, env []string) *daemon {
	t.Helper()
	args := append(append([]string{}, prefix...), argv...)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr // routine messages: stdout; problems: stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.log = append(d.log, sc.Text())
			d.mu.Unlock()
			d.poke()
		}
		d.err = cmd.Wait()
		close(d.done)
		d.poke()
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.text())
		}
	})
	return d
}

func (d *daemon) poke() {
	select {
	case d.more <- struct{}{}:
	default:
	}
}

func (d *daemon) text() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.log, "\n")
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// waitLog waits for a stderr line containing s.
func (d *daemon) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if strings.Contains(d.text(), s) {
			return
		}
		if d.exited() {
			t.Fatalf("daemon exited (%v) before logging %q:\n%s", d.err, s, d.text())
		}
		select {
		case <-d.more:
		case <-deadline:
			t.Fatalf("no %q in the daemon's log after 60s:\n%s", s, d.text())
		}
	}
}

// hup sends SIGHUP (re-read the access list) and checks the daemon lives on.
func (d *daemon) hup(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
		t.Fatalf("daemon exited on SIGHUP (%v):\n%s", d.err, d.text())
	case <-time.After(500 * time.Millisecond):
	}
}

// stop sends SIGTERM and expects a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			t.Errorf("daemon exit after SIGTERM: %v\n%s", d.err, d.text())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("daemon still running 30s after SIGTERM:\n%s", d.text())
	}
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
