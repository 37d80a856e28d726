// Package reftest starts Debian's opentracker, the reference implementation,
// for differential tests (Start; they skip when the binary is missing), and
// tells cmd/otbench how to run it (Binary, Args), so that one place knows.
//
// Facts about Debian's build that shape this helper: it is whitelist-only
// and IPv4-only; run as root it chroots to -d DIR and must drop to -u
// nobody, so the whitelist path is resolved inside DIR; the whitelist is
// loaded by a thread after startup, so the first announces can be refused. Start therefore whitelists one extra probe hash and polls it
// until the list is live.
package reftest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Probe is whitelisted in addition to the caller's hashes and announced (then
// stopped) once during Start to detect that the whitelist is loaded. It stays
// known to the reference with zero peers, so a full scrape of the reference
// lists it; tests comparing full scrapes should drop it.
var Probe = logic.InfoHash{0xff, 0xfe, 0xfd, 0xfc, 'r', 'e', 'f', 't', 'e', 's', 't', '-', 'p', 'r', 'o', 'b', 'e', 0, 0, 1}

// Ref is a running reference tracker bound to 127.0.0.1.
type Ref struct {
	TCP, UDP netip.AddrPort
	Dir      string // chroot / working directory holding whitelist.txt

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// Args are the reference's arguments for serving HTTP on 127.0.0.1:tcp and
// UDP on 127.0.0.1:udp with dir/whitelist.txt, /stats and full scrapes for
// 127.0.0.1: the one place, shared with cmd/otbench, that knows how to run
// Debian's build. The whitelist path is relative: chrooted to dir (as root)
// the tracker does chdir("/"), otherwise chdir(dir); either way it resolves
// in dir. As root it must then drop to nobody.
func Args(dir string, tcp, udp uint16) []string {
	args := []string{
		"-i", "127.0.0.1", "-p", fmt.Sprint(tcp), "-P", fmt.Sprint(udp),
		"-d", dir, "-w", "whitelist.txt", "-A", "127.0.0.1",
	}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	return args
}

// Binary returns the path of the reference binary, or "" if not installed.
func Binary() string {
	for _, p := range []string{"/usr/bin/opentracker", "/usr/sbin/opentracker"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Start runs the reference with hashes whitelisted and stops it when the test
// ends. 127.0.0.1 is blessed (-A) so /stats and full scrape work from tests.
func Start(t testing.TB, hashes []logic.InfoHash) *Ref {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("reference opentracker not installed (/usr/bin/opentracker); apt-get install opentracker to run differential tests")
	}
	dir := t.TempDir()
	// After chroot the tracker runs as nobody: the directory (its new "/")
	// and the whitelist must be readable by it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var wl strings.Builder
	for _, h := range hashes {
		wl.WriteString(hex.EncodeToString(h[:]))
		wl.WriteByte('\n')
	}
	wl.WriteString(hex.EncodeToString(Probe[:]))
	wl.WriteByte('\n')
	if err := os.WriteFile(filepath.Join(dir, "whitelist.txt"), []byte(wl.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var lastErr error
	// Ports are picked by binding :0 and closing, which can race with other
	// processes; retry a few times with fresh ports.
	for attempt := 0; attempt < 5; attempt++ {
		r, err := start(bin, dir)
		if err == nil {
			t.Cleanup(r.stop)
			return r
		}
		lastErr = err
	}
	t.Fatalf("reftest: cannot start reference opentracker: %v", lastErr)
	return nil
}

func start(bin, dir string) (*Ref, error) {
	tcp, udp, err := freePorts()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, Args(dir, tcp, udp)...)
	out := &lockedBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &Ref{
		TCP:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), tcp),
		UDP:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), udp),
		Dir:  dir,
		cmd:  cmd,
		out:  out,
		done: make(chan struct{}),
	}
	go func() { cmd.Wait(); close(r.done) }()
	if err := r.waitReady(5 * time.Second); err != nil {
		r.stop()
		return nil, fmt.Errorf("%v (output: %q)", err, out.String())
	}
	return r, nil
}

// waitReady waits until the TCP port answers and the whitelist is loaded.
func (r *Ref) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	probe := "/announce?info_hash=" + escape(Probe[:]) + "&port=1&left=1"
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return errors.New("reference exited during startup")
		default:
		}
		body, err := r.Get(probe)
		if err == nil && bytes.HasPrefix(body, []byte("d8:complete")) {
			// Remove the probe peer so it never shows up in peer lists.
			if _, err := r.Get(probe + "&event=stopped"); err != nil {
				return err
			}
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("reference not ready (port closed or whitelist not loaded) after " + limit.String())
}

// Get sends one HTTP/1.0 GET for target (path and query) over a fresh
// connection, as the reference closes after every reply, and returns the
// body of a 200 reply; other statuses are returned as *StatusError.
func (r *Ref) Get(target string) ([]byte, error) {
	status, body, err := r.Do("GET " + target + " HTTP/1.0\r\n\r\n")
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return body, &StatusError{Code: status, Body: body}
	}
	return body, nil
}

// Do writes a raw request and returns the reply's status code and body
// (everything after the header block; the reference closes the connection).
func (r *Ref) Do(raw string) (status int, body []byte, err error) {
	c, err := net.DialTimeout("tcp", r.TCP.String(), 2*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		return 0, nil, err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, nil, fmt.Errorf("reading status line: %w", err)
	}
	if _, err := fmt.Sscanf(line, "HTTP/1.%d %d", new(int), &status); err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return status, nil, fmt.Errorf("reading headers: %w", err)
		}
		if h == "\r\n" || h == "\n" {
			break
		}
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(br)
	return status, buf.Bytes(), err
}

// Output returns what the reference printed so far (for failure messages).
func (r *Ref) Output() string { return r.out.String() }

func (r *Ref) stop() {
	// SIGTERM: the default action exits at once. SIGINT aborts the
	// reference when it runs chrooted on glibc.
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// StatusError is a non-200 reply from the reference.
type StatusError struct {
	Code int
	Body []byte
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %q", e.Code, e.Body) }

// freePorts picks a TCP and a UDP port that were free a moment ago.
func freePorts() (tcp, udp uint16, err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	tcp = uint16(ln.Addr().(*net.TCPAddr).Port)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return 0, 0, err
	}
	udp = uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	ln.Close()
	pc.Close()
	return tcp, udp, nil
}

// escape percent-encodes every byte, which any tracker accepts.
func escape(b []byte) string {
	const hexd = "0123456789ABCDEF"
	out := make([]byte, 0, 3*len(b))
	for _, c := range b {
		out = append(out, '%', hexd[c>>4], hexd[c&15])
	}
	return string(out)
}

// Escape percent-encodes b for use in a query string.
func Escape(b []byte) string { return escape(b) }

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
