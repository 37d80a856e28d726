//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestPutConnect(t *testing.T) {
	b := make([]byte, 64)
	n := putConnect(b, 0xdeadbeef)
	want := []byte{0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}
	if n != 16 || !bytes.Equal(b[:n], want) {
		t.Fatalf("connect = % x (%d), want % x", b[:n], n, want)
	}
}

func TestPutAnnounceLayout(t *testing.T) {
	b := make([]byte, 128)
	hash := bytes.Repeat([]byte{0xaa}, 20)
	id := bytes.Repeat([]byte{'p'}, 20)
	n := putAnnounce(b, &announceReq{connID: 0x0102030405060708, tid: 9, hash: hash, peerID: id,
		downloaded: 11, left: 12, uploaded: 13, event: evStopped, key: 0x77, numWant: -1, port: 6881})
	be := binary.BigEndian
	if n != 98 {
		t.Fatalf("len %d", n)
	}
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"connection_id", be.Uint64(b[0:]), 0x0102030405060708},
		{"action", uint64(be.Uint32(b[8:])), 1},
		{"transaction_id", uint64(be.Uint32(b[12:])), 9},
		{"downloaded", be.Uint64(b[56:]), 11},
		{"left", be.Uint64(b[64:]), 12},
		{"uploaded", be.Uint64(b[72:]), 13},
		{"event", uint64(be.Uint32(b[80:])), 3},
		{"ip", uint64(be.Uint32(b[84:])), 0},
		{"key", uint64(be.Uint32(b[88:])), 0x77},
		{"num_want", uint64(be.Uint32(b[92:])), 0xffffffff},
		{"port", uint64(be.Uint16(b[96:])), 6881},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(b[16:36], hash) || !bytes.Equal(b[36:56], id) {
		t.Errorf("info_hash/peer_id misplaced")
	}
}

func TestPutScrape(t *testing.T) {
	b := make([]byte, 128)
	n := putScrapeHeader(b, 5, 6)
	if n != 16 || binary.BigEndian.Uint32(b[8:]) != actScrape || binary.BigEndian.Uint64(b[0:]) != 5 {
		t.Fatalf("scrape header % x", b[:n])
	}
}

func resp(action, tid uint32, rest ...byte) []byte {
	b := make([]byte, 8, 8+len(rest))
	binary.BigEndian.PutUint32(b, action)
	binary.BigEndian.PutUint32(b[4:], tid)
	return append(b, rest...)
}

func TestParseUDPResp(t *testing.T) {
	var r udpResp
	// connect
	if !parseUDPResp(resp(0, 1, 1, 2, 3, 4, 5, 6, 7, 8), 6, &r) || r.action != 0 || r.tid != 1 || r.connID != 0x0102030405060708 {
		t.Errorf("connect: %+v", r)
	}
	if parseUDPResp(resp(0, 1, 1, 2), 6, &r) {
		t.Errorf("short connect accepted")
	}
	// announce with two IPv4 peers
	ann := resp(1, 2, 0, 0, 0x07, 0x08, 0, 0, 0, 3, 0, 0, 0, 4)
	ann = append(ann, 127, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 2, 0x1a, 0xe2)
	if !parseUDPResp(ann, 6, &r) || r.interval != 1800 || r.leechers != 3 || r.seeders != 4 || r.peers != 2 {
		t.Errorf("announce v4: %+v", r)
	}
	// the same 12 bytes are not a whole number of IPv6 peers
	if parseUDPResp(ann, 18, &r) {
		t.Errorf("announce with a partial v6 peer accepted")
	}
	ann6 := append(resp(1, 2, make([]byte, 12)...), make([]byte, 36)...)
	if !parseUDPResp(ann6, 18, &r) || r.peers != 2 {
		t.Errorf("announce v6: %+v", r)
	}
	// opentracker's bare refusal
	if parseUDPResp(resp(1, 2), 6, &r) {
		t.Errorf("8-byte announce accepted")
	}
	// scrape with two entries
	sc := resp(2, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6)
	if !parseUDPResp(sc, 6, &r) || r.entries != 2 {
		t.Fatalf("scrape: %+v", r)
	}
	if s, c, l := scrapeEntry(sc, 1); s != 4 || c != 5 || l != 6 {
		t.Errorf("scrape entry 1 = %d %d %d", s, c, l)
	}
	// error
	e := resp(3, 4, []byte("Connection ID missmatch.\x00")...)
	if !parseUDPResp(e, 6, &r) || r.action != actError || r.tid != 4 {
		t.Errorf("error: %+v", r)
	}
	if parseUDPResp(resp(9, 4), 6, &r) || parseUDPResp([]byte{0, 0, 0}, 6, &r) {
		t.Errorf("unknown action or runt accepted")
	}
}

func TestAppendAnnounce(t *testing.T) {
	hash := []byte("\x00\x01abc-._~\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0")
	b := appendAnnounce(nil, &httpAnnounce{hash: hash, peer: 0x1234, port: 6881, left: 0, event: evCompleted, numWant: 30, close: true})
	s := string(b)
	for _, want := range []string{
		"GET /announce?info_hash=%00%01abc-._~%FF%10%200%40P%60p%80%90%A0&",
		"&peer_id=-OB0001-000000001234&", "&port=6881&", "&left=0&", "&event=completed&", "&numwant=30&", "&compact=1",
		" HTTP/1.1\r\n", "Connection: close\r\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("request lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "\r\n\r\n") {
		t.Errorf("request not terminated")
	}
	b = appendAnnounce(b[:0], &httpAnnounce{hash: hash, event: evNone})
	if strings.Contains(string(b), "event=") || strings.Contains(string(b), "Connection") {
		t.Errorf("periodic keep-alive announce: %s", b)
	}
}

func TestParseHTTPHead(t *testing.T) {
	var r httpResp
	in := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 12\r\n\r\nd5:peers0:eXX"
	ok, bad := parseHTTPHead([]byte(in), &r)
	if !ok || bad || r.status != 200 || r.contentLen != 12 || r.close || r.headLen != len(in)-13 {
		t.Errorf("1.1: ok %v bad %v %+v", ok, bad, r)
	}
	ok, _ = parseHTTPHead([]byte("HTTP/1.0 400 Invalid Request\r\nContent-Length: 3\r\n\r\n"), &r)
	if !ok || r.status != 400 || !r.close {
		t.Errorf("1.0: %+v", r)
	}
	ok, _ = parseHTTPHead([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"), &r)
	if !ok || !r.close || !r.chunked || r.contentLen != -1 {
		t.Errorf("close/chunked: %+v", r)
	}
	if ok, bad := parseHTTPHead([]byte("HTTP/1.1 200 OK\r\nConte"), &r); ok || bad {
		t.Errorf("partial head: ok %v bad %v", ok, bad)
	}
	if _, bad := parseHTTPHead([]byte("SSH-2.0-x\r\n"), &r); !bad {
		t.Errorf("non-HTTP not flagged")
	}
}

func TestBodies(t *testing.T) {
	if n, ok := announceBody([]byte("d8:completei1e10:incompletei0e8:intervali1800e5:peers12:aaaaaabbbbbb6:peers618:cccccccccccccccccce")); !ok || n != 3 {
		t.Errorf("announce body: %d %v", n, ok)
	}
	if _, ok := announceBody([]byte("d14:failure reason63:Requested download is not authorized for use with this tracker.e")); ok {
		t.Errorf("failure reason accepted")
	}
	one := "20:" + strings.Repeat("h", 20) + "d8:completei1e10:downloadedi0e10:incompletei2ee"
	if n, ok := scrapeBody([]byte("d5:filesd" + one + one + "ee")); !ok || n != 2 {
		t.Errorf("scrape body: %d %v", n, ok)
	}
	if n, ok := scrapeBody([]byte("d5:filesdee")); !ok || n != 0 {
		t.Errorf("empty scrape: %d %v", n, ok)
	}
	if _, ok := scrapeBody([]byte("d14:failure reason1:xe")); ok {
		t.Errorf("failure accepted as scrape")
	}
}

func TestDechunk(t *testing.T) {
	got := dechunk([]byte("5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n"))
	if string(got) != "hello0123456789" {
		t.Errorf("dechunk = %q", got)
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	w, err := NewWorkload(1, 1000, 1000, 4, 2, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	r := rng{s: 1}
	b := make([]byte, 2048)
	hb := make([]byte, 0, 4096)
	var ur udpResp
	var hr httpResp
	reply := []byte("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nd5:peers6:aaaaaae")
	allocs := testing.AllocsPerRun(200, func() {
		p := w.PickPeer(&r, 1)
		ev, seeder := w.NextEvent(&r, p)
		a := announceReq{connID: 1, tid: 2, hash: w.Hash(w.Peers[p].torrent), event: ev, numWant: 50, port: w.Peers[p].port}
		if !seeder {
			a.left = 1
		}
		n := putAnnounce(b, &a)
		peerID(b[36:56], p)
		parseUDPResp(b[:n], 6, &ur)
		hb = appendAnnounce(hb[:0], &httpAnnounce{hash: a.hash, peer: p, port: a.port, event: ev, numWant: 50})
		parseHTTPHead(reply, &hr)
		announceBody(reply[hr.headLen:])
	})
	if allocs != 0 {
		t.Errorf("request build/parse allocates %.1f times per request", allocs)
	}
}
