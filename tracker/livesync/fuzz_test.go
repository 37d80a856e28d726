package livesync

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzDecode: any datagram from the multicast group is decoded without
// panicking, into exactly the whole records it holds, each of which
// re-encodes to the bytes it came from (but its age byte, which senders
// leave 0).
func FuzzDecode(f *testing.F) {
	v4 := make([]byte, HeaderSize+2*RecordV4Size+5)
	copy(v4, "node")
	binary.BigEndian.PutUint32(v4[4:], TypeV4)
	v4[HeaderSize+26] = FlagSeeding | FlagCompleted
	f.Add(v4)
	v6 := make([]byte, HeaderSize+RecordV6Size)
	binary.BigEndian.PutUint32(v6[4:], TypeV6)
	v6[HeaderSize+30], v6[HeaderSize+31] = 0xff, 0xff // v4-mapped
	f.Add(v6)
	f.Add([]byte("12345678"))
	f.Fuzz(func(t *testing.T, p []byte) {
		var got [][]byte
		n := Decode(p, func(r *Record) {
			b := make([]byte, RecordV6Size)
			_, typ, _ := Header(p)
			putRecord(b, typ, &r.InfoHash, r.Peer, r.Flags)
			got = append(got, b[:recordSize(typ)])
		})
		_, typ, ok := Header(p)
		if !ok || typ != TypeV4 && typ != TypeV6 {
			if n != -1 || len(got) != 0 {
				t.Fatalf("short or unknown packet decoded: %d", n)
			}
			return
		}
		size := recordSize(typ)
		if want := (len(p) - HeaderSize) / size; n != want || len(got) != n {
			t.Fatalf("%d records decoded (%d calls) from %d bytes, want %d", n, len(got), len(p), want)
		}
		for i, b := range got {
			raw := p[HeaderSize+i*size : HeaderSize+(i+1)*size]
			// A v4-mapped peer comes out as IPv4 and goes back
			// v4-mapped: the same bytes.
			if !bytes.Equal(b[:size-1], raw[:size-1]) {
				t.Fatalf("record %d: % x re-encodes as % x", i, raw, b)
			}
		}
	})
}
