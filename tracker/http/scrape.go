package http

import (
	"bytes"
	"compress/gzip"
	"net/netip"
	"slices"
	"time"

	"github.com/opentracker-go/opentracker/tracker/bencode"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

// maxScrapeHashes is opentracker's OT_MAXMULTISCRAPE_COUNT: more hashes are
// accepted but only the first 64 are answered.
const maxScrapeHashes = 64

// scrape handles /scrape with info_hash parameters (BEP 48). Unknown hashes
// get zeros (opentracker leaves them out). Unlike opentracker, which writes the files
// in request order with duplicates (not valid bencode for strict decoders),
// the keys are sorted and unique.
func (s *Server) scrape(w *work, r *request) reply {
	s.c.HTTPScrapes.Add(1)
	n := 0
	seen := false
	badLen := false
	wellFormed := eachParam(r.query, func(name, val []byte) bool {
		if !is(name, "info_hash") {
			return true
		}
		seen = true
		if len(val) != len(logic.InfoHash{}) {
			badLen = true
			return false
		}
		if n < maxScrapeHashes {
			w.hashes[n] = logic.InfoHash(val)
			n++
		}
		return true
	})
	switch {
	case !wellFormed:
		return s.failure(w, reasonMalformed)
	case badLen:
		return s.failure(w, reasonHashLen)
	}
	if !seen {
		return s.failure(w, reasonMissingHash)
	}
	hs := w.hashes[:n]
	sortHashes(hs)
	b := append(w.body[:0], "d5:filesd"...)
	for i, h := range hs {
		if i > 0 && h == hs[i-1] {
			continue
		}
		// An unknown torrent is answered with zeros, as UDP scrapes are:
		// opentracker leaves it out, and clients such as webtorrent's
		// bittorrent-tracker reject a reply without the hash they asked
		// about.
		c, _ := s.t.Scrape(h)
		b = appendFile(b, &h, c)
	}
	w.body = append(b, "ee"...)
	return okReply(w.body)
}

// sortHashes is an insertion sort: at most 64 items, no allocation.
func sortHashes(hs []logic.InfoHash) {
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && bytes.Compare(hs[j][:], hs[j-1][:]) < 0; j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}

// appendFile writes one "files" entry: 20:<hash>d8:complete..e.
func appendFile(b []byte, h *logic.InfoHash, c logic.Counts) []byte {
	b = bencode.AppendBytes(b, h[:])
	b = bencode.AppendDict(b)
	b = bencode.AppendKeyUint(b, "complete", uint64(c.Seeders))
	b = bencode.AppendKeyUint(b, "downloaded", uint64(c.Completed))
	b = bencode.AppendKeyUint(b, "incomplete", uint64(c.Leechers))
	return bencode.AppendEnd(b)
}

type fileEntry struct {
	h logic.InfoHash
	c logic.Counts
}

// fullScrape answers /scrape without a query with every torrent, sorted by
// info_hash, gzipped if the client accepts it. opentracker lets anyone do
// this; a full scrape of a big store costs real memory and CPU on a router,
// so here it needs FullScrape and a client in Admin. One runs at a time;
// the body is built in memory (about 32 + 90 bytes per torrent, freed after).
func (s *Server) fullScrape(w *work, r *request, peer netip.AddrPort) reply {
	if !s.conf().FullScrape || !s.conf().Admin.Contains(s.clientAddr(r, peer)) {
		s.c.HTTPScrapes.Add(1)
		return s.failure(w, "full scrape is not allowed; scrape with info_hash")
	}
	s.fullSem <- struct{}{}
	defer func() { <-s.fullSem }()
	s.c.FullScrapes.Add(1)

	entries := make([]fileEntry, 0, s.t.Torrents()+16)
	s.t.Range(func(h logic.InfoHash, c logic.Counts) bool {
		entries = append(entries, fileEntry{h, c}) // copy only: we hold a shard lock
		return true
	})
	slices.SortFunc(entries, func(a, b fileEntry) int { return bytes.Compare(a.h[:], b.h[:]) })
	body := make([]byte, 0, 16+len(entries)*90)
	body = append(body, "d5:filesd"...)
	for i := range entries {
		body = appendFile(body, &entries[i].h, entries[i].c)
	}
	body = append(body, "ee"...)
	torrents := len(entries)
	entries = nil

	rep := okReply(body)
	if r.gzip {
		var zb bytes.Buffer
		zb.Grow(len(body)/2 + 64)
		// BestSpeed: info_hashes are random and barely compress; the
		// counters do, and the router's CPU is better spent elsewhere.
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		rep.body = zb.Bytes()
		rep.extra = "Content-Encoding: gzip\r\n"
	}
	s.c.FullScrapeBytes.Add(uint64(len(rep.body)))
	s.conf().Infof("http: full scrape by %v: %d torrents, %d bytes", s.clientAddr(r, peer), torrents, len(rep.body))
	return rep
}

// deadlineFor gives a big reply time to drain at 16 KiB/s or better, on top
// of the usual timeout.
func deadlineFor(n int, idle time.Duration) time.Time {
	return time.Now().Add(idle + time.Duration(n/(16<<10))*time.Second)
}
