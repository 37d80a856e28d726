package udp

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestParseAnnounce(t *testing.T) {
	h := hashOf("0123456789abcdefghij")
	pkt := announcePkt(7, 9, annArgs{hash: h, left: 1 << 40, event: 2, numWant: -1, port: 51413})
	var a announceReq
	if !parseAnnounce(pkt, &a) {
		t.Fatal("98-byte announce rejected")
	}
	if a.infoHash != h || a.left != 1<<40 || a.event != 2 || a.numWant != -1 || a.port != 51413 {
		t.Fatalf("decoded %+v", a)
	}
	if parseAnnounce(pkt[:97], &a) {
		t.Fatal("97-byte announce accepted")
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		url  string
		ok   bool
	}{
		{"none", nil, "", true},
		{"end", []byte{0, 2, 5, 'x'}, "", true}, // nothing after EndOfOptions counts
		{"zero padding", make([]byte, 20), "", true},
		{"nop then url", []byte{1, 1, 2, 3, '/', 'a', 'n'}, "/an", true},
		{"chunks concatenate", []byte{2, 2, '/', 'a', 1, 2, 3, 'n', 'n', 'o', 0}, "/anno", true},
		{"zero-length url", []byte{2, 0}, "", true},
		{"unknown type skipped", []byte{7, 2, 'z', 'z', 2, 1, '/'}, "/", true},
		{"length past end", []byte{2, 9, '/', 'a'}, "", false},
		{"missing length", []byte{2, 1, '/', 2}, "/", false},
		{"unknown missing length", []byte{9}, "", false},
	} {
		url, ok := parseOptions(tc.in, make([]byte, 0, 64))
		if string(url) != tc.url || ok != tc.ok {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, url, ok, tc.url, tc.ok)
		}
	}
	// URL data beyond the destination's capacity is cut, not grown.
	long := []byte{2, 255}
	long = append(long, bytes.Repeat([]byte{'a'}, 255)...)
	long = append(long, long...)
	url, ok := parseOptions(long, make([]byte, 0, 300))
	if !ok || len(url) != 300 || cap(url) != 300 {
		t.Fatalf("bounded url: len %d cap %d ok %v", len(url), cap(url), ok)
	}
}

func TestScrapeCount(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{16, 0}, {35, 0}, {36, 1}, {41, 1}, {56, 2},
		{16 + 20*74, 74}, {16 + 20*80, 74}, {8, 0},
	} {
		if got := scrapeCount(make([]byte, tc.size)); got != tc.want {
			t.Errorf("scrapeCount(%d bytes) = %d, want %d", tc.size, got, tc.want)
		}
	}
}

func TestEncoders(t *testing.T) {
	if got, want := appendConnectReply(nil, 0x11111111, 0x521a51b6c351973e),
		[]byte{0, 0, 0, 0, 0x11, 0x11, 0x11, 0x11, 0x52, 0x1a, 0x51, 0xb6, 0xc3, 0x51, 0x97, 0x3e}; !bytes.Equal(got, want) {
		t.Errorf("connect reply %x", got)
	}
	// From the reference transcript: "stopped" reply, 20 bytes.
	if got, want := appendAnnounceReply(nil, 0xaaaaaaaa, 1863, 0, 3),
		[]byte{0, 0, 0, 1, 0xaa, 0xaa, 0xaa, 0xaa, 0, 0, 7, 0x47, 0, 0, 0, 0, 0, 0, 0, 3}; !bytes.Equal(got, want) {
		t.Errorf("announce reply %x", got)
	}
	if got := appendScrapeEntry(appendHeader(nil, actionScrape, 0x33333333), 3, 1, 1); !bytes.Equal(got,
		[]byte{0, 0, 0, 2, 0x33, 0x33, 0x33, 0x33, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1}) {
		t.Errorf("scrape reply %x", got)
	}
	// The reference's mismatch packet, byte for byte (33 bytes).
	want := append([]byte{0, 0, 0, 3, 0x66, 0x66, 0x66, 0x66}, "Connection ID missmatch.\x00"...)
	if got := appendError(nil, 0x66666666, msgMismatch); !bytes.Equal(got, want) || len(got) != 33 {
		t.Errorf("error packet %x", got)
	}
	if binary.BigEndian.Uint64(connectPkt(1)) != 0x0000041727101980 {
		t.Error("protocol id")
	}
}
