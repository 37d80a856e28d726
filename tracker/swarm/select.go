package swarm

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
)

// Peer selection. A reply holds up to numwant peers; when a family has more
// eligible peers than its share, the pick walks the sorted list with a stride
// coprime to its length from a random start, so that the picks spread over
// the whole list (not one address range) and differ between announces.
// Eligible means: not the requester, and a leecher when the requester seeds.

// eligible counts the peers of l that may be given to the requester.
func eligible(l *peerList, leechersOnly bool, selfHere bool) int {
	n := int(l.n)
	if leechersOnly {
		return n - int(l.seeds) // the requester is a seeder: not counted
	}
	if selfHere {
		n--
	}
	return n
}

// splitWant divides numwant between families with e4 and e6 eligible peers:
// by their shares, but each family with peers gets at least a quarter of
// numwant (or all it has), so that a dual-stack client sees both.
func splitWant(numwant, e4, e6 int) (int, int) {
	if e4+e6 <= numwant {
		return e4, e6
	}
	q4 := numwant * e4 / (e4 + e6)
	q4 = max(q4, min(e4, numwant/4))
	q4 = min(q4, numwant-min(e6, numwant/4))
	q4 = min(q4, e4)
	q6 := min(e6, numwant-q4)
	q4 = min(e4, numwant-q6) // hand back what the v6 side could not use
	return q4, q6
}

// pick appends up to want eligible peers of recs (w words each) to dst.
// self is the requester's index in recs, or -1.
func pick(dst []byte, recs []uint32, w int, want int, self int, leechersOnly bool) []byte {
	n := len(recs) / w
	if want <= 0 || n == 0 {
		return dst
	}
	start, step := 0, 1
	if want < n {
		start = rand.IntN(n)
		step = n / want
		if step > 1 {
			step += rand.IntN(2)
		}
		for gcd(step, n) != 1 {
			step++
		}
	}
	// The compact entries are written in place: one length check for the
	// whole reply instead of two appends per peer. Room for want entries
	// (or all n) is made first; dst is the caller's reply buffer, which
	// already has it, so nothing is allocated.
	size := (w-1)*4 + 2
	at := len(dst)
	dst = slices.Grow(dst, min(want, n)*size)
	out := dst[at : at+min(want, n)*size]
	got := 0
	flag := uint32(0)
	if leechersOnly {
		flag = flagSeeder // a record with it set is not taken
	}
	for k, i := 0, start; k < n && got < want; k++ {
		if w == 2 { // IPv4: address, port and flags
			a, pf := recs[2*i], recs[2*i+1]
			if i != self && pf&flag == 0 {
				e := out[got*6 : got*6+6]
				binary.BigEndian.PutUint32(e, a)
				binary.BigEndian.PutUint16(e[4:], uint16(pf>>16))
				got++
			}
		} else if rec := recs[i*w : i*w+w]; i != self && rec[w-1]&flag == 0 {
			e := out[got*size : got*size+size]
			for j := 0; j < w-1; j++ {
				binary.BigEndian.PutUint32(e[j*4:], rec[j])
			}
			binary.BigEndian.PutUint16(e[size-2:], uint16(rec[w-1]>>16))
			got++
		}
		i += step
		if i >= n {
			i -= n
			if i >= n {
				i %= n
			}
		}
	}
	return dst[:at+got*size]
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
