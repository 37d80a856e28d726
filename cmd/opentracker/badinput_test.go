package main

// Bad input gets a clear answer: configuration and list files name the
// file, line and key; switches that make no sense print why; the state
// directory is checked before it is needed.

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runDaemon runs the binary to completion (10 s at most) and returns its
// exit code and output.
func runDaemon(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(daemonBin, args...)
	done := make(chan struct{})
	timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	close(done)
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputAnswers(t *testing.T) {
	dir := t.TempDir()
	listen := "[listen]\ntcp = [\"127.0.0.1:0\"]\nudp = [\"127.0.0.1:0\"]\n"
	long := writeFile(t, dir, "long.txt", "0123456789012345678901234567890123456789\n"+strings.Repeat("a", 2<<20)+"\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"max_torrents beyond the budget", []string{"-t", "-f", writeFile(t, dir, "mt.toml", "memory_budget = \"4M\"\nmax_torrents = 1000000\n")},
			1, "mt.toml:2: max_torrents: 1000000 torrents need"},
		{"whitelist without a list", []string{"-t", "-f", writeFile(t, dir, "wl.toml", "\n[access]\nmode = \"whitelist\"\n")},
			1, "wl.toml:3: access.mode: whitelist needs access.list"},
		{"-w and -b", []string{"-w", "a", "-b", "b"}, 2, "-w and -b exclude each other"},
		{"stray argument", []string{"-t", "config.toml"}, 2, `unexpected argument "config.toml"`},
		{"list line too long", []string{"-f", writeFile(t, dir, "l.toml", listen+"[access]\nmode = \"whitelist\"\nlist = \""+long+"\"\n")},
			1, long + ":2: line longer than"},
		// The state directory: a warning (the init script makes it after
		// -t; the tracker serves without its state), and a failed save at
		// exit exits non-zero (TestFailedLastSaveExitsNonZero).
		{"state directory missing (-t)", []string{"-t", "-l", filepath.Join(dir, "nowhere", "state")},
			0, "warning: state.file " + filepath.Join(dir, "nowhere", "state") + ": directory " + filepath.Join(dir, "nowhere") + " does not exist: the state cannot be saved"},
	}
	if os.Geteuid() == 0 {
		ro := filepath.Join(dir, "rootonly")
		os.Mkdir(ro, 0o755)
		cases = append(cases, struct {
			name string
			args []string
			code int
			want string
		}{"state directory the dropped user cannot write", []string{"-t", "-u", "nobody", "-l", filepath.Join(ro, "state")},
			0, "is not writable by uid"})
	}
	for _, c := range cases {
		code, out := runDaemon(t, c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, want %d and %q in:\n%s", c.name, code, c.code, c.want, out)
		}
	}
}

// TestFailedLastSaveExitsNonZero: the state directory vanishes while the
// daemon runs; the save at exit fails and so does the exit status.
func TestFailedLastSaveExitsNonZero(t *testing.T) {
	sdir := filepath.Join(t.TempDir(), "state")
	os.Mkdir(sdir, 0o755)
	d := startDaemon(t, "[state]\nfile = \""+filepath.Join(sdir, "dump")+"\"\n")
	os.RemoveAll(sdir)
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() == 0 {
			t.Fatalf("exit %v after a failed save:\n%s", err, d.logText())
		}
		if !strings.Contains(d.logText(), "the last save failed") {
			t.Errorf("no message:\n%s", d.logText())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not exit")
	}
}

// TestTLSHelloClosedAtOnce: tracker checkers try https first; the
// ClientHello on the plain port is closed at once, not after the idle
// timeout (30 s by default).
func TestTLSHelloClosedAtOnce(t *testing.T) {
	d := startDaemon(t, "")
	c, err := net.DialTimeout("tcp", d.tcp[0].String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The start of a TLS 1.2 ClientHello record.
	c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03})
	start := time.Now()
	c.SetReadDeadline(start.Add(10 * time.Second))
	var b [16]byte
	n, err := c.Read(b[:])
	if err == nil || n > 0 {
		t.Fatalf("answered %q", b[:n])
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

// TestUDPPortZeroRefused: an announce of port 0 gets an error packet and
// is not handed to other peers (HTTP refuses it too).
func TestUDPPortZeroRefused(t *testing.T) {
	d := startDaemon(t, "")
	c, err := net.Dial("udp", d.udp[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	id := udpConnect(t, c, buf)
	announce := func(port uint16, peer byte) []byte {
		req := make([]byte, 98)
		binary.BigEndian.PutUint64(req, id)
		binary.BigEndian.PutUint32(req[8:], 1)
		binary.BigEndian.PutUint32(req[12:], uint32(port))
		copy(req[16:36], bytes.Repeat([]byte{0xcd}, 20))
		copy(req[36:56], bytes.Repeat([]byte{peer}, 20))
		binary.BigEndian.PutUint64(req[64:], 1)          // left
		binary.BigEndian.PutUint32(req[92:], 0xffffffff) // numwant -1
		binary.BigEndian.PutUint16(req[96:], port)
		c.Write(req)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	if r := announce(0, 1); binary.BigEndian.Uint32(r) != 3 || !strings.Contains(string(r[8:]), "invalid port") {
		t.Fatalf("port 0: %q", r)
	}
	if r := announce(6001, 2); binary.BigEndian.Uint32(r) != 1 || len(r) != 20 || binary.BigEndian.Uint32(r[12:]) != 1 {
		t.Fatalf("the next peer was given %q (want itself alone, no peers)", r)
	}
}

// TestStateDirectoryWarnedAtStart: the daemon says at start, not at the
// first save, that its state directory is missing, and serves anyway.
func TestStateDirectoryWarnedAtStart(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere", "state")
	d := startDaemon(t, "[state]\nfile = \""+missing+"\"\n")
	d.waitLog(t, "state.file "+missing+": directory "+filepath.Dir(missing)+" does not exist: the state cannot be saved")
	if code, _ := get(t, d.tcp[0], announceURL("aaaaaaaaaaaaaaaaaaaa", 7001, 1, "")); code != 200 {
		t.Fatalf("not serving: %d", code)
	}
}
