package udp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/internal/reftest"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

// twin is one client address talking to both trackers: the reference
// (Debian's opentracker, IPv4 only, whitelist mode) and ours with the same
// whitelist.
type twin struct{ ref, our *client }

// TestDifferential runs the same UDP sequence against both trackers and
// compares the decoded answers. Where we differ on purpose the test says so
// and checks our side:
//
//  1. The reference lists the requester in its own peer list; we never do.
//  2. The reference gives seeders seeders too; we give seeders leechers only.
//  3. A hash the whitelist refuses: the reference sends a truncated 8-byte
//     announce reply; we send an error packet.
//  4. Connection ids: both depend on the IP only, but the reference's never
//     expire; ours do after 2 to 4 minutes (not visible in a short run; see
//     TestHandleMismatch).
//  5. A bad id on a request shorter than the 33-byte error: the reference
//     answers (amplification); we drop it.
//  6. Scrape: the reference answers 75 hashes and counts a trailing partial
//     hash (padded with buffer garbage); we answer 74 and ignore the partial.
func TestDifferential(t *testing.T) {
	h1, h2, refused := hashOf("differential-one"), hashOf("differential-two"), hashOf("not whitelisted")
	ref := reftest.Start(t, []logic.InfoHash{h1, h2})
	s, _ := newTestServer(t, Config{Workers: 1}, whitelist(t, h1, h2))
	our, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Close() })

	peer := func(ip string) *twin {
		a := netip.MustParseAddr(ip)
		return &twin{dial(t, a, ref.UDP), dial(t, a, our)}
	}
	// both sends one request to each tracker and returns the two replies.
	both := func(p *twin, mk func(id uint64) []byte, refID, ourID uint64, wait time.Duration) (r, o []byte) {
		t.Helper()
		return p.ref.exchange(mk(refID), wait), p.our.exchange(mk(ourID), wait)
	}

	// Connect: same shape.
	A, B, C, D := peer("127.0.0.1"), peer("127.0.0.2"), peer("127.0.0.3"), peer("127.0.0.4")
	ids := map[*twin][2]uint64{}
	for _, p := range []*twin{A, B, C, D} {
		ids[p] = [2]uint64{p.ref.connect(), p.our.connect()}
	}

	type step struct {
		p      *twin
		a      annArgs
		seeder bool
	}
	self := func(st step) netip.AddrPort {
		return netip.AddrPortFrom(st.p.our.addr().Addr(), st.a.port)
	}
	seeders := map[netip.AddrPort]bool{}
	// members is the swarm of each hash as the steps build it: peer -> seeder.
	members := map[logic.InfoHash]map[netip.AddrPort]bool{}
	for i, st := range []step{
		{A, annArgs{hash: h1, left: 100, event: 2, numWant: -1, port: 6881}, false},
		{B, annArgs{hash: h1, left: 100, event: 2, numWant: -1, port: 6882}, false},
		{C, annArgs{hash: h1, left: 0, event: 2, numWant: 50, port: 6883}, true},
		{D, annArgs{hash: h1, left: 0, event: 1, numWant: -1, port: 6884}, true},
		{A, annArgs{hash: h1, left: 100, numWant: -1, port: 6881}, false},
		{C, annArgs{hash: h1, left: 0, numWant: -1, port: 6883}, true},
		{B, annArgs{hash: h2, left: 5, event: 2, numWant: -1, port: 6882}, false},
		{A, annArgs{hash: h1, left: 100, numWant: 1, port: 6881}, false},
		{B, annArgs{hash: h1, left: 100, numWant: 0, port: 6882}, false},
	} {
		if st.seeder {
			seeders[self(st)] = true
		}
		if members[st.a.hash] == nil {
			members[st.a.hash] = map[netip.AddrPort]bool{}
		}
		members[st.a.hash][self(st)] = st.seeder
		// The peers an answer may list: the swarm without the requester
		// and, for a seeder, without seeders.
		pool := map[netip.AddrPort]bool{}
		for p, seeding := range members[st.a.hash] {
			if p != self(st) && !(st.seeder && seeding) {
				pool[p] = true
			}
		}
		rr := st.p.ref.announce(ids[st.p][0], st.a)
		or := st.p.our.announce(ids[st.p][1], st.a)
		name := fmt.Sprintf("announce %d from %v", i, self(st))
		t.Logf("%s: ref %d/%d %v; ours %d/%d %v", name, rr.leechers, rr.seeders, rr.peers, or.leechers, or.seeders, or.peers)
		if rr.leechers != or.leechers || rr.seeders != or.seeders {
			t.Errorf("%s: counts ref %d/%d, ours %d/%d", name, rr.leechers, rr.seeders, or.leechers, or.seeders)
		}
		for _, r := range []annReply{rr, or} {
			if r.interval < 1620 || r.interval > 1979 {
				t.Errorf("%s: interval %d", name, r.interval)
			}
		}
		// Differences 1 and 2: what we should answer is the reference's
		// list without the requester and, for a seeder, without seeders.
		var want []netip.AddrPort
		for _, p := range rr.peers {
			if p == self(st) || (st.seeder && seeders[p]) {
				continue
			}
			want = append(want, p)
		}
		if st.a.numWant < 0 || int(st.a.numWant) >= len(pool) {
			// Room for everyone: the whole pool, as the reference's list
			// says once the requester and seeders are taken out.
			if peerSet(or.peers) != peerSet(want) || len(or.peers) != len(pool) {
				t.Errorf("%s: ours %v, want reference %v minus self/seeders = %v (pool %v)", name, or.peers, rr.peers, want, pool)
			}
		} else if len(or.peers) != int(st.a.numWant) {
			// Fewer than the pool: both pick at random, so compare sizes
			// and membership only.
			t.Errorf("%s: %d peers for numwant %d from a pool of %d", name, len(or.peers), st.a.numWant, len(pool))
		}
		for _, p := range or.peers {
			if !pool[p] {
				t.Errorf("%s: ours lists %v, not in the pool %v", name, p, pool)
			}
		}
		if st.a.numWant == 0 && (len(rr.peers) != 0 || len(or.peers) != 0) {
			t.Errorf("%s: numwant 0 gave peers", name)
		}
	}

	// Stopped: both answer 20 bytes with the counts after the stop.
	stop := annArgs{hash: h1, left: 100, event: 3, numWant: -1, port: 6882}
	r, o := both(B, func(id uint64) []byte { return announcePkt(id, 0xaaaaaaaa, stop) }, ids[B][0], ids[B][1], 2*time.Second)
	if len(r) != 20 || len(o) != 20 || !bytes.Equal(r[12:], o[12:]) {
		t.Errorf("stopped: ref %x, ours %x", r, o)
	}

	// Scrape: identical entries, unknown hashes as zeros.
	rs := A.ref.scrape(ids[A][0], h1, refused, h2, h1)
	os := A.our.scrape(ids[A][1], h1, refused, h2, h1)
	if fmt.Sprint(rs) != fmt.Sprint(os) {
		t.Errorf("scrape: ref %v, ours %v", rs, os)
	}
	if rs[0] != (scrapeEntry{seeders: 2, completed: 1, leechers: 1}) {
		t.Errorf("scrape of h1: %v", rs[0])
	}

	// Bad connection id on a full-size announce: byte-identical errors.
	bad := func(uint64) []byte {
		return announcePkt(0xdeadbeefdeadbeef, 0x66666666, annArgs{hash: h1, left: 1, port: 1})
	}
	if r, o := both(A, bad, 0, 0, 2*time.Second); r == nil || !bytes.Equal(r, o) {
		t.Errorf("bad id: ref %x, ours %x", r, o)
	}
	// Another address's id: both refuse with the same packet.
	stolen := func(id uint64) []byte { return scrapePkt(id, 6, h1) }
	if r, o := both(B, stolen, ids[A][0], ids[A][1], 2*time.Second); r == nil || !bytes.Equal(r, o) {
		t.Errorf("foreign id: ref %x, ours %x", r, o)
	}

	// Dropped by both: short announce, unknown action, wrong magic.
	quiet := 300 * time.Millisecond
	for name, mk := range map[string]func(uint64) []byte{
		"36-byte announce": func(id uint64) []byte { return announcePkt(id, 7, annArgs{hash: h1})[:36] },
		"action 5":         func(id uint64) []byte { b := scrapePkt(id, 8); binary.BigEndian.PutUint32(b[8:], 5); return b },
		"bad magic":        func(uint64) []byte { b := connectPkt(9); b[0] = 1; return b },
	} {
		if r, o := both(A, mk, ids[A][0], ids[A][1], quiet); r != nil || o != nil {
			t.Errorf("%s: ref %x, ours %x", name, r, o)
		}
	}

	// Difference 3: refused hash.
	deny := func(id uint64) []byte {
		return announcePkt(id, 0x22222222, annArgs{hash: refused, left: 1, numWant: -1, port: 1})
	}
	r, o = both(A, deny, ids[A][0], ids[A][1], 2*time.Second)
	if !bytes.Equal(r, []byte{0, 0, 0, 1, 0x22, 0x22, 0x22, 0x22}) {
		t.Errorf("reference's refusal changed: %x", r)
	}
	if msg := decodeError(t, o, 0x22222222); msg != logic.ErrNotAuthorized.Error() {
		t.Errorf("our refusal: %q", msg)
	}

	// Difference 5: a 16-byte scrape with a bad id.
	r, o = both(A, func(uint64) []byte { return scrapePkt(1, 10) }, 0, 0, quiet)
	if len(r) != 33 || o != nil {
		t.Errorf("16-byte bad-id scrape: ref %x (want 33 bytes), ours %x (want none)", r, o)
	}

	// Difference 6: scrape limits.
	many := make([]logic.InfoHash, 80)
	if rs, os := A.ref.scrape(ids[A][0], many...), A.our.scrape(ids[A][1], many...); len(rs) != 75 || len(os) != 74 {
		t.Errorf("80-hash scrape: ref %d entries (want 75), ours %d (want 74)", len(rs), len(os))
	}
	partial := func(id uint64) []byte { return append(scrapePkt(id, 11, h1), 1, 2, 3, 4, 5) }
	r, o = both(A, partial, ids[A][0], ids[A][1], 2*time.Second)
	if len(decodeScrape(t, r, 11)) != 2 || len(decodeScrape(t, o, 11)) != 1 {
		t.Errorf("41-byte scrape: ref %x, ours %x", r, o)
	}
}
