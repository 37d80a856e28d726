//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opentracker-go/opentracker/internal/reftest"
)

// server is a tracker process started for a run.
type server struct {
	name    string
	cmd     *exec.Cmd
	pid     int
	udp     netip.AddrPort
	udp6    netip.AddrPort // ours only, when asked for
	tcp     netip.AddrPort
	logMu   sync.Mutex
	log     bytes.Buffer
	exited  chan struct{}
	exitErr error
	env     []string // added to the environment
}

// freePort returns a loopback port that is free for both TCP and UDP right
// now.
func freePort() (uint16, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return uint16(port), nil
	}
	return 0, fmt.Errorf("no free port")
}

func (s *server) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if s.log.Len() < 1<<16 {
		s.log.Write(p)
	}
	return len(p), nil
}

func (s *server) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return strings.TrimSpace(s.log.String())
}

// start runs argv pinned to cpus (through `otbench pin`, so the PID is the
// tracker's own).
func (s *server) start(cpus string, argv []string, dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	full := argv
	if cpus != "" {
		full = append([]string{self, "pin", "-cpus", cpus, "--"}, argv...)
	}
	s.cmd = exec.Command(full[0], full[1:]...)
	s.cmd.Dir = dir
	s.cmd.Stdout = s
	s.cmd.Stderr = s
	if s.env != nil {
		s.cmd.Env = append(os.Environ(), s.env...)
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.pid = s.cmd.Process.Pid
	s.exited = make(chan struct{})
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return nil
}

func (s *server) stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// refBinary is flagPath, or else Debian's opentracker if installed.
func refBinary(flagPath string) string {
	if flagPath != "" {
		return flagPath
	}
	return reftest.Binary()
}

// startRef starts the reference: IPv4 only, whitelist mode (the only mode
// Debian builds), chrooted to dir when root, stats and full scrape blessed
// for 127.0.0.1.
func startRef(bin, dir, cpus string, seed uint64, torrents int) (*server, error) {
	return startRefWith(nil, "", bin, dir, cpus, seed, torrents)
}

// startRefWith runs the reference under a wrapper (qemu-user, with ldRoot
// the unpacked Debian root that holds its loader and libraries).
func startRefWith(wrapper []string, ldRoot, bin, dir, cpus string, seed uint64, torrents int) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := reftest.WriteWhitelist(dir, workloadHashes(seed, torrents)); err != nil {
		return nil, err
	}
	s, err := newLoopbackServer("reference")
	if err != nil {
		return nil, err
	}
	// qemu-user: -L makes the guest's loader and libraries come from ldRoot;
	// it must come before the program.
	argv := append([]string{bin}, reftest.Args(dir, s.tcp.Port(), s.udp.Port())...)
	if ldRoot != "" {
		argv = append([]string{"-L", ldRoot}, argv...)
	}
	argv = append(append([]string{}, wrapper...), argv...)
	if err := s.start(cpus, argv, dir); err != nil {
		return nil, err
	}
	return s, nil
}

// startOurs starts this tracker with a TOML config of its own.
func startOurs(bin, dir, cpus, budget string, v6 bool, extra string) (*server, error) {
	return startOursWith(nil, bin, dir, cpus, budget, v6, extra)
}

// startOursWith runs this tracker under a wrapper command (qemu-user).
func startOursWith(wrapper []string, bin, dir, cpus, budget string, v6 bool, extra string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s, err := newLoopbackServer("ours")
	if err != nil {
		return nil, err
	}
	up := s.udp.Port()
	udps := fmt.Sprintf("%q", s.udp.String())
	if v6 {
		s.udp6 = netip.AddrPortFrom(netip.IPv6Loopback(), up)
		udps += fmt.Sprintf(", %q", s.udp6.String())
	}
	cfg := fmt.Sprintf(`# written by otbench
memory_budget = %q

[listen]
tcp = [%q]
udp = [%s]

[access]
mode = "open"
admin = ["127.0.0.1", "::1"]

[http]
max_connections = 4096
full_scrape = true
%s`, budget, s.tcp.String(), udps, extra)
	path := filepath.Join(dir, "opentracker.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	argv := append(append([]string{}, wrapper...), abs, "-f", path)
	if err := s.start(cpus, argv, dir); err != nil {
		return nil, err
	}
	return s, nil
}

// waitReady polls until the tracker answers a UDP announce for torrent 0 (or,
// with udp false, an HTTP announce) with a real reply. The reference loads
// its whitelist asynchronously, so a listening socket is not enough.
func (s *server) waitReady(seed uint64, udp bool, limit time.Duration) error {
	var h [20]byte
	infoHash(h[:], seed, 0)
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if !s.alive() {
			return fmt.Errorf("%s exited: %v\n%s", s.name, s.exitErr, s.logText())
		}
		if udp {
			last = probeUDP(s.udp, h[:])
		} else {
			last = probeHTTP(s.tcp, h[:])
		}
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v: %v\n%s", s.name, limit, last, s.logText())
}

func probeUDP(ap netip.AddrPort, hash []byte) error {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 2048)
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	n := putConnect(buf, 7)
	if _, err := c.Write(buf[:n]); err != nil {
		return err
	}
	n, err = c.Read(buf)
	if err != nil {
		return err
	}
	var r udpResp
	if !parseUDPResp(buf[:n], 6, &r) || r.action != actConnect {
		return fmt.Errorf("bad connect reply")
	}
	var id [20]byte
	peerID(id[:], 1<<30)
	// A plain announce: opentracker answers "stopped" even for torrents its
	// access list refuses, so only this shows that the whitelist is loaded.
	// The probe peer is then stopped again.
	for _, ev := range []uint32{evStarted, evStopped} {
		n = putAnnounce(buf, &announceReq{connID: r.connID, tid: 8, hash: hash, peerID: id[:], event: ev, port: 1})
		if _, err := c.Write(buf[:n]); err != nil {
			return err
		}
		n, err = c.Read(buf)
		if err != nil {
			return err
		}
		if !parseUDPResp(buf[:n], 6, &r) || r.action != actAnnounce {
			return fmt.Errorf("announce refused (%d-byte reply)", n)
		}
	}
	return nil
}

func probeHTTP(ap netip.AddrPort, hash []byte) error {
	c, err := net.DialTimeout("tcp", ap.String(), 300*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	req := appendAnnounce(nil, &httpAnnounce{hash: hash, peer: 1 << 30, port: 1, event: evStarted, close: true})
	if _, err := c.Write(req); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(c, 1<<16))
	if len(b) == 0 && err != nil {
		return err
	}
	var r httpResp
	ok, _ := parseHTTPHead(b, &r)
	if !ok || r.status != 200 {
		return fmt.Errorf("bad reply %q", b)
	}
	if _, ok := announceBody(b[r.headLen:]); !ok {
		return fmt.Errorf("refused: %q", b[r.headLen:])
	}
	return nil
}

// httpGet does one plain GET and returns the body (used for stats and full
// scrape; not a hot path).
func httpGet(ap netip.AddrPort, path string, gzip bool, timeout time.Duration) (status int, body []byte, err error) {
	c, err := net.DialTimeout("tcp", ap.String(), timeout)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	req := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	if gzip {
		req += "Accept-Encoding: gzip\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return 0, nil, err
	}
	var r httpResp
	ok, bad := parseHTTPHead(b, &r)
	if !ok || bad {
		return 0, nil, fmt.Errorf("bad HTTP reply (%d bytes)", len(b))
	}
	body = b[r.headLen:]
	if r.chunked {
		body = dechunk(body)
	} else if r.contentLen >= 0 && r.contentLen <= len(body) {
		body = body[:r.contentLen]
	} else if r.contentLen > len(body) {
		return r.status, body, errTruncated{want: r.contentLen, got: len(body)}
	}
	return r.status, body, nil
}

// errTruncated reports a reply that ended before its Content-Length.
type errTruncated struct{ want, got int }

func (e errTruncated) Error() string {
	return fmt.Sprintf("reply truncated: %d of %d bytes (Content-Length)", e.got, e.want)
}

// dechunk decodes a chunked body (upstream HEAD sends full scrapes chunked).
func dechunk(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			break
		}
		var n uint64
		for _, c := range b[:i] {
			v := strings.IndexByte("0123456789abcdef", c|0x20)
			if v < 0 {
				break
			}
			n = n*16 + uint64(v)
		}
		b = b[i+2:]
		if n == 0 || uint64(len(b)) < n {
			break
		}
		out = append(out, b[:n]...)
		b = b[n:]
		b = bytes.TrimPrefix(b, []byte("\r\n"))
	}
	return out
}

var _ = binary.BigEndian

// startNull runs the null responder (`otbench null`, or a cross-built
// otbench under a qemu wrapper) on fresh loopback ports, serving UDP or TCP.
func startNull(wrapper []string, bin, dir, cpus string, peers int, udp bool) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s, err := newLoopbackServer("null")
	if err != nil {
		return nil, err
	}
	// Its loop holds the P in raw blocking system calls: while it waits
	// there, the runtime's sysmon would send it a preemption signal at
	// every check, each interrupting the receive (seen under qemu-mipsel:
	// 0.4 signals per request). (qemu-user passes the environment on.)
	s.env = []string{"GODEBUG=asyncpreemptoff=1"}
	argv := append(append([]string{}, wrapper...), bin, "null", "-peers", fmt.Sprint(peers))
	if udp {
		argv = append(argv, "-udp", s.udp.String())
	} else {
		argv = append(argv, "-tcp", s.tcp.String())
	}
	if err := s.start(cpus, argv, dir); err != nil {
		return nil, err
	}
	return s, nil
}

// newLoopbackServer picks free TCP and UDP ports on 127.0.0.1 for a server.
func newLoopbackServer(name string) (*server, error) {
	tp, err := freePort()
	if err != nil {
		return nil, err
	}
	up, err := freePort()
	if err != nil {
		return nil, err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	return &server{name: name, tcp: netip.AddrPortFrom(lo, tp), udp: netip.AddrPortFrom(lo, up)}, nil
}
