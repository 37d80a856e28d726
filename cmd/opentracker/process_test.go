package main

import (
	"bufio"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// process is a running opentracker daemon.
type process struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	log      strings.Builder
	tcp, udp []netip.AddrPort // as it logged them: "listening tcp|udp ADDR"
	exited   chan error       // Wait's result, for tests that stop the daemon
	done     chan struct{}    // closed when it has exited
}

// launch is the one way the tests start the daemon: the built binary, under
// prefix (say "ip netns exec NS"), with toml as its configuration file and
// args after it. It returns once ready holds for the log (stdout and
// stderr, merged), failing the test if the daemon exits first or ready
// does not hold within 10 s. The daemon is killed when the test ends.
func launch(t *testing.T, prefix []string, toml string, ready func(log string) bool, args ...string) *process {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "opentracker.toml")
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append(append(append([]string{}, prefix...), daemonBin, "-f", cfg), args...)
	d := &process{exited: make(chan error, 1), done: make(chan struct{})}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw // routine messages: stdout; problems: stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go d.readLog(pr)
	go func() {
		err := d.cmd.Wait()
		pw.Close()
		d.exited <- err
		close(d.done)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			t.Errorf("daemon %d did not exit 5 s after SIGKILL", d.cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logText())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !ready(d.logText()); time.Sleep(10 * time.Millisecond) {
		select {
		case <-d.done:
			t.Fatalf("daemon exited:\n%s", d.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready after 10 s:\n%s", d.logText())
		}
	}
	return d
}

// readLog keeps the daemon's output and the addresses it says it bound.
func (d *process) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		d.mu.Lock()
		d.log.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "opentracker: listening "); ok {
			proto, addr, _ := strings.Cut(rest, " ")
			if ap, err := netip.ParseAddrPort(addr); err == nil {
				if proto == "tcp" {
					d.tcp = append(d.tcp, ap)
				} else {
					d.udp = append(d.udp, ap)
				}
			}
		}
		d.mu.Unlock()
	}
}

// startDaemon runs the daemon with a config made of the given TOML (binds
// default to 127.0.0.1 and ::1 on ephemeral ports, the budget to 8 MiB)
// and waits for its binds.
func startDaemon(t *testing.T, toml string, args ...string) *process {
	t.Helper()
	if !strings.Contains(toml, "[listen]") {
		toml += "\n[listen]\ntcp = [\"127.0.0.1:0\", \"[::1]:0\"]\nudp = [\"127.0.0.1:0\", \"[::1]:0\"]\n"
	}
	if !strings.Contains(toml, "memory_budget") {
		toml = "memory_budget = \"8M\"\n" + toml
	}
	d := launch(t, nil, toml, func(log string) bool { return strings.Count(log, "listening udp") == 2 }, args...)
	time.Sleep(50 * time.Millisecond) // files are read after binding
	return d
}

func (d *process) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// waitLog waits until the daemon logged a line containing s.
func (d *process) waitLog(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(d.logText(), s) {
			return
		}
	}
	t.Fatalf("daemon never logged %q:\n%s", s, d.logText())
}
