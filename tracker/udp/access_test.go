package udp

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

func whitelist(t testing.TB, hs ...logic.InfoHash) *access.List {
	t.Helper()
	var text string
	for _, h := range hs {
		text += hex.EncodeToString(h[:]) + "\n"
	}
	path := filepath.Join(t.TempDir(), "whitelist.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l := access.New(access.Whitelist, path)
	if _, err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	return l
}

// A refused hash gets an error packet (the reference sends a truncated
// 8-byte announce reply) and does not enter the store; scrape still answers.
func TestHandleNotAuthorized(t *testing.T) {
	ok, refused := hashOf("listed"), hashOf("not listed")
	s, c := newTestServer(t, Config{}, whitelist(t, ok))
	w := newWorker(s)
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	id := connectID(t, w, src)
	if msg := decodeError(t, w.handle(announcePkt(id, 4, annArgs{hash: refused, left: 1, port: 1}), src), 4); msg != logic.ErrNotAuthorized.Error() {
		t.Fatalf("refused: %q", msg)
	}
	if c.NotAuthorized.Load() != 1 || c.UDPErrors.Load() != 1 {
		t.Fatalf("counted %d refusals, %d errors", c.NotAuthorized.Load(), c.UDPErrors.Load())
	}
	decodeAnnounce(t, w.handle(announcePkt(id, 5, annArgs{hash: ok, left: 1, port: 1}), src), 5, false)
	if got := decodeScrape(t, w.handle(scrapePkt(id, 6, refused, ok), src), 6); got[0] != (scrapeEntry{}) || got[1].leechers != 1 {
		t.Fatalf("scrape %v", got)
	}
}
