package swarm

import "math/rand/v2"

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
	take := func(i int) bool {
		if i == self {
			return false
		}
		return !leechersOnly || recs[i*w+w-1]&flagSeeder == 0
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
	got := 0
	for k, i := 0, start; k < n && got < want; k++ {
		if take(i) {
			dst = appendCompact(dst, recs[i*w:i*w+w], w)
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
	return dst
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
