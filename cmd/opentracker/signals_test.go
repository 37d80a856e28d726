package main

// Signals end to end: SIGTERM saves before anything else and exits within
// two seconds whatever the clients do; SIGHUP applies a changed config
// without a new process; restarts keep the swarm.

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/state"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// stopDaemon sends sig and returns how long the daemon took to exit.
func stopDaemon(t *testing.T, d *process, sig syscall.Signal) time.Duration {
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

// agedState writes a state file as a tracker that ran at now would have:
// one torrent with two peers, one announced 40 and one 5 minutes before,
// and one torrent without peers whose last announce was 23 hours before.
func agedState(t *testing.T, path string, now time.Time) {
	t.Helper()
	clock := now.Add(-23 * time.Hour)
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	var buf logic.PeerBuffer
	at := func(when time.Time, h logic.InfoHash, peer string, ev logic.Event) {
		clock = when
		s.Tick()
		if _, err := s.Announce(&logic.Request{InfoHash: h, Peer: netip.MustParseAddrPort(peer), Seeder: true, Event: ev}, &buf); err != nil {
			t.Fatal(err)
		}
	}
	at(now.Add(-23*time.Hour), oldTorrent, "10.1.1.1:1", logic.EventCompleted)
	at(now.Add(-23*time.Hour), oldTorrent, "10.1.1.1:1", logic.EventStopped)
	at(now.Add(-40*time.Minute), swarmTorrent, "10.0.0.40:6881", logic.EventNone)
	at(now.Add(-5*time.Minute), swarmTorrent, "[fd00::5]:51413", logic.EventNone)
	clock = now
	s.Tick()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := state.Write(f, s, now); err != nil {
		t.Fatal(err)
	}
}

var (
	swarmTorrent = logic.InfoHash([]byte("swarmswarmswarmswarm"))
	oldTorrent   = logic.InfoHash([]byte("oldoldoldoldoldoldol"))
)

// stateAges reads a state file as of now and returns the torrents' and the
// peers' ages in minutes, keyed by hash and by hash and peer.
func stateAges(t *testing.T, path string, now time.Time) map[string]uint32 {
	t.Helper()
	s, err := swarm.New(swarm.Config{MemoryBudget: 1 << 20, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, problems, err := state.Read(f, path, s, nil, now); err != nil || len(problems) > 0 {
		t.Fatalf("reading %s: %v %v", path, problems, err)
	}
	ages := map[string]uint32{}
	var c swarm.SnapshotCursor
	var h logic.InfoHash
	for s.Snapshot(&c, 1<<20, func(r *swarm.TorrentRecord) { h = r.InfoHash; ages[string(h[:])] = r.Age },
		func(r *swarm.PeerRecord) { ages[string(h[:])+" "+r.Peer.String()] = r.Age }) {
	}
	return ages
}

// TestRestartKeepsPeersWithTheirAge: a tracker restarted from a state file
// hands out the peers it held, and saves them again with their real ages
// (45 - age = the time they have left), whether it was stopped by SIGTERM
// or killed after a periodic save; a torrent last announced 23 hours
// before keeps that age instead of starting its 24 hours again.
func TestRestartKeepsPeersWithTheirAge(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state")
	start := time.Now()
	agedState(t, stateFile, start)
	toml := fmt.Sprintf("[state]\nfile = %q\nsave_interval = 5\n", stateFile)

	check := func(when string) {
		t.Helper()
		ages := stateAges(t, stateFile, time.Now())
		elapsed := uint32(time.Since(start) / time.Minute)
		for key, want := range map[string]uint32{
			string(oldTorrent[:]):                        23 * 60,
			string(swarmTorrent[:]) + " 10.0.0.40:6881":  40,
			string(swarmTorrent[:]) + " [fd00::5]:51413": 5,
		} {
			got, ok := ages[key]
			if !ok || got < want || got > want+elapsed+1 {
				t.Fatalf("%s: %q has age %d min (present %v), want %d", when, key, got, ok, want)
			}
			if strings.Contains(key, " ") {
				t.Logf("%s: peer %s: age %d min, %d min left", when, key[21:], got, 45-got)
			}
		}
	}
	for round, stop := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		d := startDaemon(t, toml)
		d.waitLog(t, "restored 2 torrents and 2 peers")
		_, body := get(t, d.tcp[0], announceURL(string(swarmTorrent[:]), 7000+round, 5, "&numwant=50"))
		reply := decode(t, body)
		p4, _ := reply["peers"].(string)
		p6, _ := reply["peers6"].(string)
		if !strings.Contains(p4, "\x0a\x00\x00\x28\x1a\xe1") || len(p6) != 18 {
			t.Fatalf("round %d: the new client did not get the restored peers: %q", round, body)
		}
		// Stop the client of this round again, so that the next check
		// sees only the restored peers.
		get(t, d.tcp[0], announceURL(string(swarmTorrent[:]), 7000+round, 5, "&event=stopped"))
		if stop == syscall.SIGKILL {
			// Killed after a periodic save: wait for one.
			before, _ := os.Stat(stateFile)
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if now, err := os.Stat(stateFile); err == nil && now.ModTime().After(before.ModTime()) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no periodic save within 20 s (save_interval 5)")
				}
			}
		}
		stopDaemon(t, d, stop)
		check(map[syscall.Signal]string{syscall.SIGTERM: "after SIGTERM", syscall.SIGKILL: "after SIGKILL"}[stop])
	}
}

// configPath is the config file startDaemon wrote for d.
func configPath(d *process) string {
	for i, a := range d.cmd.Args {
		if a == "-f" {
			return d.cmd.Args[i+1]
		}
	}
	return ""
}

// announceInterval announces to d and returns the reply's interval.
func announceInterval(t *testing.T, d *process, port int) int64 {
	t.Helper()
	_, body := get(t, d.tcp[0], announceURL(strings.Repeat("h", 20), port, 5, ""))
	iv, _ := decode(t, body)["interval"].(int64)
	return iv
}

// TestSIGHUPAppliesTheConfig: SIGHUP re-reads the whole file; a changed
// interval changes the announce answers and a changed stats path moves the
// page, in the same process; a changed listen address is reported as
// needing a restart and the old one keeps serving; a broken file changes
// nothing.
func TestSIGHUPAppliesTheConfig(t *testing.T) {
	base := "[listen]\ntcp = [\"127.0.0.1:0\", \"[::1]:0\"]\nudp = [\"127.0.0.1:0\", \"[::1]:0\"]\n"
	d := startDaemon(t, base+"[announce]\ninterval = 1800\n")
	pid := d.cmd.Process.Pid
	if iv := announceInterval(t, d, 1); iv < 1620 || iv > 1980 {
		t.Fatalf("interval %d before SIGHUP", iv)
	}
	cfg := configPath(d)
	next := "memory_budget = \"8M\"\n[listen]\ntcp = [\"127.0.0.1:0\"]\nudp = [\"127.0.0.1:0\", \"[::1]:0\"]\n" +
		"[announce]\ninterval = 600\n[http]\nstats_path = \"tracker-stats\"\n"
	if err := os.WriteFile(cfg, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "SIGHUP: announce.interval = 600 (was 1800)")
	d.waitLog(t, "SIGHUP: listen.tcp changed; it needs a restart")
	for i := 0; i < 20; i++ {
		if iv := announceInterval(t, d, 2+i); iv < 540 || iv > 660 {
			t.Fatalf("interval %d after SIGHUP with interval = 600", iv)
		}
	}
	if code, _ := get(t, d.tcp[0], "/tracker-stats?mode=version"); code != 200 {
		t.Errorf("the new stats path answers %d", code)
	}
	if code, _ := get(t, d.tcp[0], "/stats?mode=version"); code != 404 {
		t.Errorf("the old stats path answers %d", code)
	}
	if code, _ := get(t, d.tcp[1], "/tracker-stats?mode=version"); code != 200 {
		t.Errorf("the [::1] listener, still bound until a restart, answers %d", code)
	}

	os.WriteFile(cfg, []byte(strings.Replace(next, "interval = 600\n", "interval = 600\nnumwant = -1\n", 1)), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "the configuration in force is kept")
	if iv := announceInterval(t, d, 40); iv < 540 || iv > 660 {
		t.Fatalf("interval %d after a broken config", iv)
	}
	select {
	case err := <-d.exited:
		t.Fatalf("daemon exited: %v", err)
	default:
	}
	if d.cmd.Process.Pid != pid {
		t.Fatal("new process")
	}
	t.Logf("SIGHUP log:\n%s", grepLines(d.logText(), "SIGHUP"))
}

func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
