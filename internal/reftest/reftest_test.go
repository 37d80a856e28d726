package reftest

import (
	"bytes"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

func TestStartAnnounce(t *testing.T) {
	h := logic.InfoHash{1, 2, 3}
	r := Start(t, []logic.InfoHash{h})
	body, err := r.Get("/announce?info_hash=" + Escape(h[:]) + "&port=6881&left=0")
	if err != nil {
		t.Fatal(err, r.Output())
	}
	if !bytes.HasPrefix(body, []byte("d8:completei1e")) {
		t.Fatalf("unexpected announce reply %q", body)
	}
	other := logic.InfoHash{9}
	body, err = r.Get("/announce?info_hash=" + Escape(other[:]) + "&port=6881")
	if err != nil || !bytes.Contains(body, []byte("not authorized")) {
		t.Fatalf("non-whitelisted hash: %q %v", body, err)
	}
}
