package http

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

func TestScrape(t *testing.T) {
	tt := startTracker(t, Config{}, nil, nil, "")
	h1, h2, unknown := ih(10), ih(11), ih(12)
	get(t, tt.addr, announceURL(h1, 1, "&left=0&event=completed"))
	get(t, tt.addr, announceURL(h1, 2, "&left=9"))
	get(t, tt.addr, announceURL(h2, 3, "&left=9"))

	r := get(t, tt.addr, "/scrape?info_hash="+esc(h2[:])+"&info_hash="+esc(unknown[:])+"&info_hash="+esc(h1[:])+"&info_hash="+esc(h2[:]))
	files := scrapeFiles(t, r.body) // strict decoder: keys sorted and unique
	if len(files) != 3 || files[h1] != [3]int64{1, 1, 1} || files[h2] != [3]int64{0, 0, 1} || files[unknown] != [3]int64{} {
		t.Fatalf("multi scrape: %v (%q)", files, r.body)
	}
	// /scrape.php like opentracker; an unknown hash is answered with zeros
	// (opentracker leaves it out, which webtorrent's client rejects).
	r = get(t, tt.addr, "/scrape.php?info_hash="+esc(unknown[:]))
	if want := "d5:filesd20:" + string(unknown[:]) + "d8:completei0e10:downloadedi0e10:incompletei0eeee"; string(r.body) != want {
		t.Fatalf("unknown only: %q", r.body)
	}
	for q, reason := range map[string]string{
		"info_hash=short":   reasonHashLen,
		"foo=bar":           reasonMissingHash,
		"info_hash=%zz%zz%": reasonMalformed,
	} {
		a := decodeAnnounce(t, get(t, tt.addr, "/scrape?"+q).body)
		if a.failure != reason {
			t.Errorf("scrape %s: %q, want %q", q, a.failure, reason)
		}
	}
	// More than 64 hashes: only the first 64 are answered.
	var sb strings.Builder
	sb.WriteString("/scrape?")
	for i := 0; i < 70; i++ {
		var h logic.InfoHash
		h[0] = byte(i)
		if i == 69 {
			h = h1 // known, but past the limit
		}
		sb.WriteString("info_hash=" + esc(h[:]) + "&")
	}
	r = get(t, tt.addr, sb.String())
	files = scrapeFiles(t, r.body)
	if _, answered := files[h1]; len(files) != 64 || answered {
		t.Fatalf("65th hash answered: %d files, h1 among them: %v", len(files), answered)
	}
}

func TestFullScrape(t *testing.T) {
	cfg := Config{FullScrape: true, Admin: mustNets(t, "127.0.0.0/8")}
	tt := startTracker(t, cfg, nil, nil, "")
	want := map[logic.InfoHash][3]int64{}
	for i := byte(0); i < 50; i++ {
		h := ih(100 + i)
		get(t, tt.addr, announceURL(h, 1000+int(i), "&left=1"))
		want[h] = [3]int64{0, 0, 1}
	}
	r := get(t, tt.addr, "/scrape")
	if got := scrapeFiles(t, r.body); len(got) != len(want) {
		t.Fatalf("full scrape has %d torrents, want %d", len(got), len(want))
	}
	r = roundTrip(t, tt.addr, "GET /scrape HTTP/1.1\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n")
	if r.header["content-encoding"] != "gzip" {
		t.Fatalf("no gzip: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got := scrapeFiles(t, plain)
	for h, c := range want {
		if got[h] != c {
			t.Fatalf("gzip full scrape: %x = %v, want %v", h, got[h], c)
		}
	}
	if tt.c.FullScrapes.Load() != 2 || tt.c.FullScrapeBytes.Load() == 0 {
		t.Errorf("full scrape counters %d %d", tt.c.FullScrapes.Load(), tt.c.FullScrapeBytes.Load())
	}

	// Not an admin: refused with a failure reason. Disabled: same.
	for _, cfg := range []Config{{FullScrape: true}, {Admin: mustNets(t, "127.0.0.1")}} {
		tt := startTracker(t, cfg, nil, nil, "")
		if a := decodeAnnounce(t, get(t, tt.addr, "/scrape").body); !strings.Contains(a.failure, "full scrape") {
			t.Errorf("%+v: full scrape not refused: %+v", cfg, a)
		}
	}
}
