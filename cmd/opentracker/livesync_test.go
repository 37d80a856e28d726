//go:build linux

package main

// End-to-end live sync: two daemon processes in a network namespace made by
// the test (loopback with multicast on; the daemons turn multicast loop on),
// bound to 127.0.0.1 and 127.0.0.2, syncing over 224.0.23.5:9696.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netns makes a network namespace with loopback up and multicast routed
// over it, removed when the test ends. It skips without root or iproute2.
func netns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live sync end-to-end test needs root (it creates a network namespace)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live sync end-to-end test needs iproute2's ip")
	}
	ns := fmt.Sprintf("otlivesync%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run() // a leftover of a killed run
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "link", "set", "lo", "multicast", "on")
	ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "lo")
	return ns
}

// startInNS runs the daemon inside ns with HTTP and live sync on addr.
func startInNS(t *testing.T, ns, addr string) *process {
	t.Helper()
	toml := fmt.Sprintf("memory_budget = \"8M\"\n[listen]\ntcp = [\"%s:0\"]\nudp = []\n"+
		"[livesync]\nlisten = \"%s:9696\"\nnodes = [\"127.0.0.0/8\"]\n", addr, addr)
	return launch(t, []string{"ip", "netns", "exec", ns}, toml, func(log string) bool { return strings.Contains(log, "live sync: ") })
}

// dialIn connects to addr from inside ns: the socket is made on a thread
// that joined ns and is never unlocked, so it ends with the goroutine.
func dialIn(ns string, addr netip.AddrPort) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("setns: %v", err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// getIn is get from inside ns.
func getIn(t *testing.T, ns string, addr netip.AddrPort, target string) (int, []byte) {
	t.Helper()
	c, err := dialIn(ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	return exchange(t, c, target)
}

// scrapeIn returns complete and incomplete for hash.
func scrapeIn(t *testing.T, ns string, addr netip.AddrPort, hash string) (complete, incomplete int64) {
	t.Helper()
	code, body := getIn(t, ns, addr, "/scrape?info_hash="+url.QueryEscape(hash))
	if code != 200 {
		t.Fatalf("scrape: %d %q", code, body)
	}
	files, _ := decode(t, body)["files"].(map[string]any)
	f, _ := files[hash].(map[string]any)
	c, _ := f["complete"].(int64)
	i, _ := f["incomplete"].(int64)
	return c, i
}

// waitScrape polls until the scrape counts are as wanted (sync flushes
// within about a second).
func waitScrape(t *testing.T, ns string, addr netip.AddrPort, hash string, complete, incomplete int64) {
	t.Helper()
	var c, i int64
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, i = scrapeIn(t, ns, addr, hash); c == complete && i == incomplete {
			return
		}
	}
	t.Fatalf("scrape of %v: complete %d incomplete %d, want %d and %d", addr, c, i, complete, incomplete)
}

func TestLiveSyncBetweenDaemons(t *testing.T) {
	ns := netns(t)
	a := startInNS(t, ns, "127.0.0.1")
	b := startInNS(t, ns, "127.0.0.2")
	const hash = "livesynclivesynclive"

	// A seeder announced to A (from 127.0.0.1:6881) reaches B.
	if code, body := getIn(t, ns, a.tcp[0], announceURL(hash, 6881, 0, "")); code != 200 {
		t.Fatalf("announce to A: %d %q", code, body)
	}
	waitScrape(t, ns, b.tcp[0], hash, 1, 0)
	code, body := getIn(t, ns, b.tcp[0], announceURL(hash, 6999, 5, "&numwant=50"))
	if code != 200 {
		t.Fatalf("announce to B: %d %q", code, body)
	}
	reply := decode(t, body)
	if peers, _ := reply["peers"].(string); !strings.Contains(peers, "\x7f\x00\x00\x01\x1a\xe1") {
		t.Fatalf("B's reply lacks A's peer 127.0.0.1:6881: %q", body)
	}
	// B's own leecher reaches A the other way.
	waitScrape(t, ns, a.tcp[0], hash, 1, 1)

	// A stop on A removes the peer on B.
	if code, body := getIn(t, ns, a.tcp[0], announceURL(hash, 6881, 0, "&event=stopped")); code != 200 {
		t.Fatalf("stop on A: %d %q", code, body)
	}
	waitScrape(t, ns, b.tcp[0], hash, 0, 1)
	code, body = getIn(t, ns, b.tcp[0], announceURL(hash, 6999, 5, "&numwant=50"))
	if peers, _ := decode(t, body)["peers"].(string); code != 200 || strings.Contains(peers, "\x7f\x00\x00\x01\x1a\xe1") {
		t.Fatalf("B still hands out the stopped peer: %q", body)
	}
	if _, body := getIn(t, ns, b.tcp[0], "/stats?mode=syncs"); bytes.HasPrefix(body, []byte("0\n")) {
		t.Fatalf("B counted no synced records: %q", body)
	}
}

// TestLiveSyncBurstLosesNoRecord: 5000 new peers announced to A as fast as
// 8 keep-alive connections go, while A runs on one CPU, all reach B, and
// A's /stats?mode=syncs shows them sent and none dropped. (The send queue
// used to hold 16 packets and drop the rest, counted nowhere visible; the
// burst that starves the sender outright is TestBurstLosesNoRecord in
// tracker/livesync.)
func TestLiveSyncBurstLosesNoRecord(t *testing.T) {
	ns := netns(t)
	t.Setenv("GOMAXPROCS", "1")
	a := startInNS(t, ns, "127.0.0.1")
	os.Unsetenv("GOMAXPROCS")
	b := startInNS(t, ns, "127.0.0.2")
	const hash, burst, conns = "burstburstburstburst", 5000, 8

	errs := make(chan error, conns)
	for k := 0; k < conns; k++ {
		go func(k int) {
			c, err := dialIn(ns, a.tcp[0])
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			r := bufio.NewReader(c)
			for i := 1 + k; i <= burst; i += conns {
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", announceURL(hash, i, 5, "&numwant=0"))
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					errs <- fmt.Errorf("announce %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("announce %d: %s", i, resp.Status)
					return
				}
			}
			errs <- nil
		}(k)
	}
	for k := 0; k < conns; k++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitScrape(t, ns, b.tcp[0], hash, 0, burst)
	_, body := getIn(t, ns, a.tcp[0], "/stats?mode=syncs")
	lines := strings.Split(string(body), "\n")
	t.Logf("A's /stats?mode=syncs after the burst: %q", lines[len(lines)-1])
	if len(lines) < 4 || lines[1] != "0" || !strings.Contains(lines[3], fmt.Sprintf("%d records sent, 0 dropped", burst)) {
		t.Fatalf("A's syncs page: %q", body)
	}
}
