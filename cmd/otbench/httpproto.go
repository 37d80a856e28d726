//go:build linux

package main

import (
	"bytes"
	"strconv"
)

// appendQueryBytes URL-encodes b the way BitTorrent clients do: unreserved
// characters stay, everything else becomes %XX.
func appendQueryBytes(dst, b []byte) []byte {
	const hexd = "0123456789ABCDEF"
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return dst
}

var eventNames = [4]string{"", "completed", "started", "stopped"}

// httpAnnounce is one HTTP announce.
type httpAnnounce struct {
	hash    []byte
	peer    int
	port    uint16
	left    uint64
	event   uint32
	numWant int32
	close   bool // ask the server to close after the reply
}

func appendHTTPTail(dst []byte, close bool) []byte {
	dst = append(dst, " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: otbench\r\n"...)
	if close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// appendAnnounce appends a BEP 3 announce request (compact).
func appendAnnounce(dst []byte, a *httpAnnounce) []byte {
	dst = append(dst, "GET /announce?info_hash="...)
	dst = appendQueryBytes(dst, a.hash)
	var id [20]byte
	peerID(id[:], a.peer)
	dst = append(dst, "&peer_id="...)
	dst = appendQueryBytes(dst, id[:])
	dst = append(dst, "&port="...)
	dst = strconv.AppendUint(dst, uint64(a.port), 10)
	dst = append(dst, "&uploaded=0&downloaded=0&left="...)
	dst = strconv.AppendUint(dst, a.left, 10)
	if a.event != evNone && a.event < 4 {
		dst = append(dst, "&event="...)
		dst = append(dst, eventNames[a.event]...)
	}
	dst = append(dst, "&numwant="...)
	dst = strconv.AppendInt(dst, int64(a.numWant), 10)
	dst = append(dst, "&compact=1&key="...)
	dst = strconv.AppendUint(dst, uint64(uint32(a.peer)), 16)
	return appendHTTPTail(dst, a.close)
}

// appendScrapeStart appends "GET /scrape?"; add hashes with appendScrapeHash
// and finish with appendHTTPTail. With no hash it is a full scrape.
func appendScrapeStart(dst []byte) []byte { return append(dst, "GET /scrape"...) }

func appendScrapeHash(dst []byte, first bool, h []byte) []byte {
	if first {
		dst = append(dst, "?info_hash="...)
	} else {
		dst = append(dst, "&info_hash="...)
	}
	return appendQueryBytes(dst, h)
}

// httpResp is a parsed response head.
type httpResp struct {
	status     int
	headLen    int  // bytes up to and including the blank line
	contentLen int  // -1 if absent
	close      bool // the server will close (HTTP/1.0 or Connection: close)
	chunked    bool
}

var crlfcrlf = []byte("\r\n\r\n")

// parseHTTPHead parses a response head from b. It returns false while the head
// is incomplete; bad reports a response that is not HTTP.
func parseHTTPHead(b []byte, r *httpResp) (complete, bad bool) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		if len(b) >= 5 && !bytes.HasPrefix(b, []byte("HTTP/")) {
			return false, true
		}
		return false, false
	}
	*r = httpResp{headLen: end + 4, contentLen: -1}
	head := b[:end]
	if len(head) < 12 || !bytes.HasPrefix(head, []byte("HTTP/1.")) {
		return false, true
	}
	r.close = head[7] == '0'
	st := 0
	for _, c := range head[9:12] {
		if c < '0' || c > '9' {
			return false, true
		}
		st = st*10 + int(c-'0')
	}
	r.status = st
	for len(head) > 0 {
		i := bytes.Index(head, []byte("\r\n"))
		var line []byte
		if i < 0 {
			line, head = head, nil
		} else {
			line, head = head[:i], head[i+2:]
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n := 0
			for _, c := range val {
				if c < '0' || c > '9' {
					return false, true
				}
				n = n*10 + int(c-'0')
			}
			r.contentLen = n
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(val, []byte("close")) {
				r.close = true
			} else if bytes.EqualFold(val, []byte("keep-alive")) {
				r.close = false
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			r.chunked = bytes.Contains(val, []byte("chunked"))
		}
	}
	return true, false
}

// announceBody checks a bencoded announce reply and counts its compact peers.
// ok is false for a "failure reason" reply or anything that is not a dict.
func announceBody(b []byte) (peers int, ok bool) {
	if len(b) == 0 || b[0] != 'd' || bytes.HasPrefix(b, []byte("d14:failure reason")) {
		return 0, false
	}
	peers += bencStringLen(b, []byte("5:peers"), 6)
	peers += bencStringLen(b, []byte("6:peers6"), 18)
	return peers, true
}

// bencStringLen finds key in a bencoded dict and returns the length of its
// string value divided by stride.
func bencStringLen(b, key []byte, stride int) int {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0
	}
	j := i + len(key)
	n := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		n = n*10 + int(b[j]-'0')
		j++
	}
	if j >= len(b) || b[j] != ':' {
		return 0
	}
	return n / stride
}

// scrapeBody checks a bencoded scrape reply and counts the torrents in it (the
// "20:" keys of the files dict).
func scrapeBody(b []byte) (files int, ok bool) {
	if !bytes.HasPrefix(b, []byte("d5:filesd")) {
		return 0, false
	}
	i := 9
	for i < len(b) && b[i] != 'e' {
		// key: 20:<hash>
		if i+23 > len(b) || b[i] != '2' || b[i+1] != '0' || b[i+2] != ':' {
			return files, false
		}
		i += 23
		// value: a dict of integers, no nesting
		end := bytes.Index(b[i:], []byte("ee"))
		if end < 0 {
			return files, false
		}
		i += end + 2
		files++
	}
	return files, true
}
