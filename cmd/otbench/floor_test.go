//go:build linux

package main

import (
	"strings"
	"testing"
)

// The null responder answers like a tracker, with as many peers as it is
// told, capped by numwant and 200.
func TestNullUDPReplies(t *testing.T) {
	n := &nullReplies{peers: 37}
	in := make([]byte, 2048)
	out := make([]byte, 1500)
	var r udpResp

	ln := putConnect(in, 0xabcd)
	m := n.udpReply(in[:ln], out)
	if !parseUDPResp(out[:m], 6, &r) || r.action != actConnect || r.tid != 0xabcd {
		t.Fatalf("connect reply %x", out[:m])
	}
	for _, c := range []struct{ numWant, want int32 }{{50, 37}, {10, 10}, {0, 0}, {-1, 37}} {
		ln = putAnnounce(in, &announceReq{connID: r.connID, tid: 7, hash: make([]byte, 20), peerID: make([]byte, 20), numWant: c.numWant})
		m = n.udpReply(in[:ln], out)
		if !parseUDPResp(out[:m], 6, &r) || r.action != actAnnounce || r.tid != 7 || r.peers != int(c.want) {
			t.Errorf("numwant %d: reply of %d bytes, %d peers, want %d", c.numWant, m, r.peers, c.want)
		}
	}
	n.peers = 500
	ln = putAnnounce(in, &announceReq{tid: 8, hash: make([]byte, 20), peerID: make([]byte, 20), numWant: -1})
	if m = n.udpReply(in[:ln], out); m != 20+6*200 {
		t.Errorf("peers capped at 200: reply of %d bytes", m)
	}
	ln = putScrapeHeader(in, 1, 9)
	ln += 3 * 20
	m = n.udpReply(in[:ln], out)
	if !parseUDPResp(out[:m], 6, &r) || r.action != actScrape || r.entries != 3 {
		t.Errorf("scrape reply %x", out[:m])
	}
	if n.udpReply(in[:10], out) != 0 {
		t.Error("a runt got an answer")
	}
}

func TestNullHTTPReplies(t *testing.T) {
	n := &nullReplies{peers: 30}
	for _, c := range []struct {
		numWant int32
		peers   int
	}{{50, 30}, {7, 7}, {0, 0}} {
		req := appendAnnounce(nil, &httpAnnounce{hash: make([]byte, 20), peer: 1, port: 1, numWant: c.numWant})
		b := n.httpReply(nil, req)
		var r httpResp
		ok, bad := parseHTTPHead(b, &r)
		if !ok || bad || r.status != 200 || r.contentLen != len(b)-r.headLen {
			t.Fatalf("numwant %d: bad head or Content-Length: %q", c.numWant, b)
		}
		if p, ok := announceBody(b[r.headLen:]); !ok || p != c.peers {
			t.Errorf("numwant %d: %d peers (ok %v), want %d", c.numWant, p, ok, c.peers)
		}
	}
	req := appendScrapeStart(nil)
	for i := 0; i < 4; i++ {
		req = appendScrapeHash(req, i == 0, make([]byte, 20))
	}
	req = appendHTTPTail(req, false)
	b := n.httpReply(nil, req)
	var r httpResp
	if ok, _ := parseHTTPHead(b, &r); !ok || r.contentLen != len(b)-r.headLen {
		t.Fatalf("scrape: bad head or Content-Length: %q", b)
	}
	if files, ok := scrapeBody(b[r.headLen:]); !ok || files != 4 {
		t.Errorf("scrape: %d files (ok %v)", files, ok)
	}
}

// The second workload: every torrent equally likely, and each source's
// peers handed out in order, so every announce until the population is used
// up is a new peer that starts.
func TestUniformGrowing(t *testing.T) {
	w, err := NewWorkload(1, 100, 1000, 4, 2, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	w.MakeUniformGrowing()
	r := rng{s: 5}
	seen := map[int]bool{}
	perTorrent := make([]int, 100)
	for i := 0; i < 1000; i++ {
		src := i % 4
		p := w.PickPeer(&r, src)
		if p%4 != src || seen[p] {
			t.Fatalf("announce %d: peer %d (source %d) seen before or of another source", i, p, src)
		}
		seen[p] = true
		if ev, _ := w.NextEvent(&r, p); ev != evStarted {
			t.Fatalf("new peer %d announces event %d", p, ev)
		}
		perTorrent[w.Peers[p].torrent]++
	}
	for i, c := range perTorrent {
		if c != 10 {
			t.Fatalf("torrent %d has %d peers; uniform wants 10 each", i, c)
		}
	}
	counts := make([]int, 100)
	for i := 0; i < 100000; i++ {
		counts[w.PickTorrent(&r)]++
	}
	for i, c := range counts {
		if c < 800 || c > 1200 {
			t.Fatalf("torrent %d drawn %d of 100000 times", i, c)
		}
	}
}

// CPU per reply ratios are paired within a round, and their spread over
// rounds is what the table prints.
func TestCPURows(t *testing.T) {
	run := func(name string, round int, cpu float64, n uint64) Result {
		return Result{Name: name, Round: round, CPUSeconds: cpu, Responses: n}
	}
	runs := []Result{
		run("udp-announce/ours", 1, 5, 1e6), run("udp-announce/reference", 1, 10, 1e6), run("udp-announce/null", 1, 4, 1e6),
		run("udp-announce/ours", 2, 6, 1e6), run("udp-announce/reference", 2, 8, 1e6), run("udp-announce/null", 2, 5, 1e6),
		run("udp-announce/ours", 3, 7, 1e6), // no reference in round 3: no ratio
	}
	rows := cpuRows(runs, []string{"udp-announce", "http-keepalive"}, compareColumns, compareRatios)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	o := rows[0].Micros["ours"]
	if o.Lo != 5 || o.Hi != 7 || o.Med != 6 || o.N != 3 {
		t.Errorf("ours µs %+v", o)
	}
	q := rows[0].Ratios["ours/ref"]
	if q.N != 2 || q.Lo != 0.5 || q.Hi != 0.75 {
		t.Errorf("ours/ref %+v", q)
	}
	if got := q.format(2); got != "0.50-0.75" {
		t.Errorf("format %q", got)
	}
	var b strings.Builder
	printCPUTable(&b, rows, compareColumns, compareRatios)
	if !strings.Contains(b.String(), "5.0-7.0") || !strings.Contains(b.String(), "1.20-1.25") {
		t.Errorf("table:\n%s", b.String())
	}
}
