package http

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/bencode"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/stats"
)

// FuzzRespond feeds arbitrary request heads to the whole handler: it must
// not panic, must produce a well-formed head, and every announce or scrape
// reply must be valid bencode.
func FuzzRespond(f *testing.F) {
	for _, s := range []string{
		"GET /announce?info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&port=1&left=0&compact=0 HTTP/1.1\r\n\r\n",
		"GET /scrape?info_hash=abcdefghijklmnopqrst&info_hash=%zz HTTP/1.0\r\n\r\n",
		"GET /scrape HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n",
		"GET /stats?mode=everything HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
		"GET /a?ip=::1&port=65535&info_hash=abcdefghijklmnopqrst HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	st := newStore(f, 1<<20)
	nets := mustNets(f, "127.0.0.0/8")
	c := new(logic.Counters)
	s := newServer(f, Config{FullScrape: true, Admin: nets, Proxies: nets, Redirect: "http://x/",
		Stats: &stats.Pages{Store: st, Counters: c}}, newTracker(st, nil, c))
	peer := netip.MustParseAddrPort("127.0.0.1:5555")
	f.Fuzz(func(t *testing.T, head []byte) {
		w := getWork()
		defer putWork(w)
		path := pathOf(head)
		big, _ := s.respond(w, head, peer)
		out := append(w.out, big...)
		if !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("bad head %q", out)
		}
		i := bytes.Index(out, []byte("\r\n\r\n"))
		if i < 0 {
			t.Fatalf("no end of head in %q", out)
		}
		body := out[i+4:]
		if bytes.HasPrefix(out, []byte("HTTP/1.1 200")) && (bytes.HasPrefix(path, []byte("/a")) || bytes.HasPrefix(path, []byte("/sc"))) &&
			!bytes.Contains(out[:i], []byte("gzip")) {
			if _, err := bencode.Decode(body); err != nil {
				t.Fatalf("reply to %q is not bencode: %v (%q)", head, err, body)
			}
		}
	})
}

// pathOf returns the raw path of a GET head before it is decoded in place.
func pathOf(head []byte) []byte {
	if !bytes.HasPrefix(head, []byte("GET /")) {
		return nil
	}
	p := head[4:]
	if i := bytes.IndexAny(p, " ?\r\n"); i >= 0 {
		p = p[:i]
	}
	return append([]byte(nil), p...)
}
