// Package testdaemon is how tests build and start the daemon: Build compiles
// cmd/opentracker once per test binary, Launch runs it with a configuration
// and waits, with a deadline, until its log says it is ready, and Start runs
// any command line (the daemon under qemu-user or an init script) the same
// way. A Process keeps the merged stdout and stderr, the addresses the
// daemon logged as bound, and is killed when the test ends.
package testdaemon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var built struct {
	sync.Once
	dir, bin string
	err      error
}

// Build compiles ./cmd/opentracker of this module into a temporary
// directory, once per test binary, and returns the binary's path. Call
// Cleanup from TestMain after m.Run to remove it.
func Build() (string, error) {
	built.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			built.err = err
			return
		}
		if built.dir, err = os.MkdirTemp("", "opentracker-test-"); err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(built.dir, "opentracker")
		cmd := exec.Command("go", "build", "-o", built.bin, "./cmd/opentracker")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("building the daemon: %v\n%s", err, out)
		}
	})
	return built.bin, built.err
}

// Main is a TestMain for packages whose tests start the daemon: it builds
// it (Build) into *bin, runs the tests and removes the build.
func Main(m *testing.M, bin *string) {
	var err error
	if *bin, err = Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// Cleanup removes what Build made.
func Cleanup() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// moduleRoot is the directory of go.mod above the working directory (a
// test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Process is a running command whose output is kept line by line.
type Process struct {
	Cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	tcp  []netip.AddrPort // as logged: "opentracker: listening tcp ADDR"
	udp  []netip.AddrPort
	more chan struct{} // signalled on each new line and at exit
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

// Start runs prefix+argv (prefix: say "ip netns exec NS" or a qemu-user
// command; nil for none) with env (nil: this process's environment),
// stdout and stderr merged into its log. It is killed when the test ends,
// and its log is shown if the test failed.
func Start(t testing.TB, prefix, argv, env []string) *Process {
	t.Helper()
	return StartIn(t, "", prefix, argv, env)
}

// StartIn is Start in the working directory dir ("": this process's).
func StartIn(t testing.TB, dir string, prefix, argv, env []string) *Process {
	t.Helper()
	args := append(append([]string{}, prefix...), argv...)
	p := &Process{Cmd: exec.Command(args[0], args[1:]...), more: make(chan struct{}, 1), done: make(chan struct{})}
	p.Cmd.Env, p.Cmd.Dir = env, dir
	pr, pw := io.Pipe()
	p.Cmd.Stdout, p.Cmd.Stderr = pw, pw // routine messages: stdout; problems: stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logged := make(chan struct{})
	go func() { p.readLog(pr); close(logged) }()
	go func() {
		err := p.Cmd.Wait()
		pw.Close()
		<-logged // every line is in the log once done is closed
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
		p.poke()
	}()
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("process %d did not exit 5 s after SIGKILL", p.Cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(argv[0]), tail(p.Log(), 16000))
		}
	})
	return p
}

// tail is the last n bytes of s: clients in end-to-end tests log a lot.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Launch runs the daemon bin (under prefix) with toml as its configuration
// file and args after it, and returns once ready holds for its log,
// failing the test if it exits first or ready does not hold within 10 s.
func Launch(t testing.TB, bin string, prefix []string, toml string, ready func(log string) bool, args ...string) *Process {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "opentracker.toml")
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Start(t, prefix, append([]string{bin, "-f", cfg}, args...), nil)
	p.Wait(t, "the daemon to be ready", 10*time.Second, ready)
	return p
}

// Binds is a ready function: the daemon logged n UDP binds (they follow
// the TCP ones).
func Binds(n int) func(log string) bool {
	return func(log string) bool { return strings.Count(log, "opentracker: listening udp ") >= n }
}

// readLog keeps the output and the addresses the daemon says it bound.
func (p *Process) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.log.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "opentracker: listening "); ok {
			proto, addr, _ := strings.Cut(rest, " ")
			if ap, err := netip.ParseAddrPort(addr); err == nil {
				if proto == "tcp" {
					p.tcp = append(p.tcp, ap)
				} else {
					p.udp = append(p.udp, ap)
				}
			}
		}
		p.mu.Unlock()
		p.poke()
	}
	io.Copy(io.Discard, r) // after an overlong line: never block the writer
}

func (p *Process) poke() {
	select {
	case p.more <- struct{}{}:
	default:
	}
}

// Log is the output so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// TCP and UDP are the addresses the daemon logged as bound, in order.
func (p *Process) TCP() []netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]netip.AddrPort(nil), p.tcp...)
}

func (p *Process) UDP() []netip.AddrPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]netip.AddrPort(nil), p.udp...)
}

// Done is closed when the process has exited; Err is then Wait's result.
func (p *Process) Done() <-chan struct{} { return p.done }

func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Exited says whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits until cond holds for the log, failing the test (naming what
// it waited for, with the log) if the process exits first or limit passes.
func (p *Process) Wait(t testing.TB, what string, limit time.Duration, cond func(log string) bool) {
	t.Helper()
	deadline := time.After(limit)
	for !cond(p.Log()) {
		if p.Exited() && !cond(p.Log()) {
			t.Fatalf("waiting for %s: exited (%v):\n%s", what, p.Err(), p.Log())
		}
		select {
		case <-p.more:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("waiting for %s: not after %v:\n%s", what, limit, p.Log())
		}
	}
}

// WaitLog waits until a line containing s was logged.
func (p *Process) WaitLog(t testing.TB, s string, limit time.Duration) {
	t.Helper()
	p.Wait(t, fmt.Sprintf("a logged line with %q", s), limit, func(log string) bool { return strings.Contains(log, s) })
}

// Signal sends sig, failing the test if it cannot.
func (p *Process) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// Stop sends SIGTERM and expects a clean exit within limit.
func (p *Process) Stop(t testing.TB, limit time.Duration) {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	select {
	case <-p.done:
		if err := p.Err(); err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.Log())
		}
	case <-time.After(limit):
		t.Errorf("still running %v after SIGTERM:\n%s", limit, p.Log())
	}
}

// Buffer is output collected from a running process: safe for the
// process's writes and a test's reads at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
