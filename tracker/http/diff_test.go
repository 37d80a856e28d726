package http

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/internal/reftest"
	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

// TestDifferential sends the same requests to Debian's opentracker (the
// reference) and to this server and compares the decoded answers: counts,
// peer sets and which requests fail. Where we are deliberately better, the
// comparison says so:
//
//  1. We never return the requester itself; the reference does.
//  2. A seeder gets only leechers from us; the reference also gives seeders.
//  3. compact=0 gets dictionary peers from us; the reference answers 400.
//  4. Bad input (bad port, short info_hash) gets a bencoded failure reason
//     with HTTP 200 from us; the reference answers an HTML 400.
//  5. The missing info_hash text is shorter ("missing info_hash").
//
// Both use the same interval range (1620..1979, min interval half).
func TestDifferential(t *testing.T) {
	h1, h2, h3 := hashN(0x11), hashN(0x22), hashN(0x33) // sorted: multi-scrape order is request order in the reference
	notListed := hashN(0x44)
	ref := reftest.Start(t, []logic.InfoHash{h1, h2, h3})

	wl := filepath.Join(t.TempDir(), "whitelist")
	if err := os.WriteFile(wl, []byte(fmt.Sprintf("%x\n%x\n%x\n", h1[:], h2[:], h3[:])), 0o644); err != nil {
		t.Fatal(err)
	}
	acl := access.New(access.Whitelist, wl)
	if _, err := acl.Reload(); err != nil {
		t.Fatal(err)
	}
	ours := startTracker(t, Config{FullScrape: true, Admin: mustNets(t, "127.0.0.1")}, nil, acl, "")

	type answer struct {
		status int
		body   []byte
	}
	both := func(target string) (r, o answer) {
		t.Helper()
		body, err := ref.Get(target)
		var se *reftest.StatusError
		switch {
		case err == nil:
			r = answer{200, body}
		case errors.As(err, &se):
			r = answer{se.Code, se.Body}
		default:
			t.Fatalf("reference %s: %v\n%s", target, err, ref.Output())
		}
		resp := get(t, ours.addr, target)
		return r, answer{resp.status, resp.body}
	}
	seeders := map[netip.AddrPort]bool{}
	announce := func(h logic.InfoHash, port int, extra string, seeder bool) {
		t.Helper()
		target := announceURL(h, port, extra)
		r, o := both(target)
		if r.status != 200 || o.status != 200 {
			t.Fatalf("%s: status ref %d ours %d (%q)", target, r.status, o.status, r.body)
		}
		ra, oa := decodeAnnounce(t, r.body), decodeAnnounce(t, o.body)
		if ra.failure != "" || oa.failure != "" {
			t.Fatalf("%s: failures ref %q ours %q", target, ra.failure, oa.failure)
		}
		if ra.complete != oa.complete || ra.incomplete != oa.incomplete {
			t.Fatalf("%s: counts ref %d/%d ours %d/%d", target, ra.complete, ra.incomplete, oa.complete, oa.incomplete)
		}
		stopped := len(extra) >= 13 && extra[len(extra)-13:] == "event=stopped"
		if !stopped && ra.dl != oa.dl { // the reference's stopped reply has no "downloaded"
			t.Fatalf("%s: downloaded ref %d ours %d", target, ra.dl, oa.dl)
		}
		for _, a := range []annReply{ra, oa} {
			if a.interval < 1620 || a.interval > 1979 || a.minInterval != a.interval/2 {
				t.Fatalf("%s: interval %d/%d", target, a.interval, a.minInterval)
			}
		}
		// Expected from us: the reference's list minus the requester
		// (better 1) and, for a seeder, minus seeders (better 2).
		self := lp(port)
		if !stopped && !peerSet(ra.peers)[self] && !strings.Contains(extra, "numwant=0") {
			t.Fatalf("%s: the reference no longer returns the requester (%v): revisit better 1", target, ra.peers)
		}
		var want []netip.AddrPort
		for _, p := range ra.peers {
			if p == self || (seeder && seeders[p]) {
				continue
			}
			want = append(want, p)
		}
		if !stopped && !equalSet(oa.peers, want...) {
			t.Fatalf("%s: peers ours %v, want %v (reference %v)", target, oa.peers, want, ra.peers)
		}
		if !oa.hasPeers {
			t.Fatalf("%s: no peers key in %q", target, o.body)
		}
		if stopped {
			delete(seeders, self)
		} else {
			seeders[self] = seeder
		}
	}

	announce(h1, 6881, "&left=100&event=started", false)
	announce(h1, 6882, "&left=100&event=started", false)
	announce(h1, 6883, "&left=0&event=started", true)
	announce(h1, 6884, "&left=0&event=completed", true)
	announce(h1, 6881, "&left=100&numwant=200", false)
	announce(h1, 6883, "&left=0", true)
	announce(h1, 6885, "&left=0&numwant=0", true)
	announce(h2, 7001, "&left=5", false)
	announce(h2, 7002, "&left=0&event=completed", true)
	announce(h2, 7001, "&left=0&event=completed", true)
	announce(h1, 6882, "&left=100&event=stopped", false)
	announce(h1, 6881, "&left=100", false)

	scrape := func(hs ...logic.InfoHash) {
		t.Helper()
		target := "/scrape?"
		for _, h := range hs {
			target += "info_hash=" + esc(h[:]) + "&"
		}
		r, o := both(target[:len(target)-1])
		if r.status != 200 || o.status != 200 {
			t.Fatalf("%s: status ref %d ours %d", target, r.status, o.status)
		}
		rf, of := scrapeFiles(t, r.body), scrapeFiles(t, o.body)
		// Where the reference leaves an unknown torrent out, we answer
		// zeros (as both do over UDP).
		for _, h := range hs {
			if _, ok := rf[h]; !ok && of[h] == [3]int64{} {
				delete(of, h)
			}
		}
		if fmt.Sprint(sortedFiles(rf)) != fmt.Sprint(sortedFiles(of)) {
			t.Fatalf("%s: files ref %v ours %v", target, rf, of)
		}
	}
	scrape(h1)
	scrape(h1, h2, h3) // h3 whitelisted but unknown: omitted by the reference, zeros from us
	scrape(h3)         // only unknown
	scrape(notListed)  // scrape does not check the whitelist; unknown anyway
	scrape(h1, h2)

	// Full scrape: the reference also lists its readiness probe torrent.
	r, o := both("/scrape")
	rf, of := scrapeFiles(t, r.body), scrapeFiles(t, o.body)
	delete(rf, reftest.Probe)
	if fmt.Sprint(sortedFiles(rf)) != fmt.Sprint(sortedFiles(of)) {
		t.Fatalf("full scrape: ref %v ours %v", rf, of)
	}

	// Failure cases: both refuse. The texts that matter to users agree.
	fail := func(target string, sameText bool, refStatus int) {
		t.Helper()
		r, o := both(target)
		if o.status != 200 {
			t.Fatalf("%s: our status %d", target, o.status)
		}
		of := decodeAnnounce(t, o.body).failure
		if of == "" {
			t.Fatalf("%s: we did not refuse: %q", target, o.body)
		}
		if r.status != refStatus {
			t.Fatalf("%s: reference status %d, expected %d", target, r.status, refStatus)
		}
		if refStatus == 200 {
			rfail := decodeAnnounce(t, r.body).failure
			if rfail == "" || (sameText && rfail != of) {
				t.Fatalf("%s: failure ref %q ours %q", target, rfail, of)
			}
		}
	}
	fail("/announce?port=6881&left=1", false, 200)                                         // missing info_hash (better 5)
	fail(announceURL(notListed, 6881, "&left=1"), true, 200)                               // not whitelisted: same text
	fail(announceURL(h1, 70000, "&left=1"), false, 400)                                    // bad port (better 4)
	fail("/announce?info_hash="+esc(h1[:19])+"&port=6881", false, 400)                     // short info_hash (better 4)
	fail("/announce?info_hash="+esc(h1[:])+"&info_hash="+esc(h1[:])+"&port=1", false, 400) // duplicate
	fail("/announce?info_hash=%zz&port=1", false, 400)                                     // bad escape

	// compact=0: the reference refuses (400), we give dictionary peers (better 3).
	r, o = both(announceURL(h1, 6890, "&left=1&compact=0"))
	if r.status != 400 {
		t.Fatalf("reference compact=0: %d %q", r.status, r.body)
	}
	if oa := decodeAnnounce(t, o.body); !oa.isDict || len(oa.peers) == 0 {
		t.Fatalf("our compact=0: %+v", oa)
	}
}

func hashN(b byte) logic.InfoHash {
	var h logic.InfoHash
	for i := range h {
		h[i] = b + byte(i)
	}
	return h
}

func sortedFiles(m map[logic.InfoHash][3]int64) []string {
	var out []string
	for h, c := range m {
		out = append(out, fmt.Sprintf("%x=%v", h[:], c))
	}
	sort.Strings(out)
	return out
}
