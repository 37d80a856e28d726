package http

import "bytes"

// Query-string handling. Everything works in place on the request bytes held
// in the connection's read buffer, so parsing allocates nothing.
//
// Compared with opentracker's scanner (research §3.3) we are lenient where
// strictness helps nobody: any byte is accepted in names and values (raw
// UTF-8, quotes, brackets), and a parameter without "=" is an empty value.
// Only a malformed %-escape is an error, because the decoded value would be
// a guess. As in opentracker, "+" is not decoded to a space: info_hash bytes
// are binary and clients percent-encode them.

// queryIter walks "name=value&name=value" pairs.
type queryIter struct{ rest []byte }

// next returns the next parameter with its name and value %-decoded in place.
// ok is false at the end; bad reports a malformed escape in this parameter.
func (it *queryIter) next() (name, value []byte, ok, bad bool) {
	for len(it.rest) > 0 {
		p := it.rest
		if i := indexByte(p, '&'); i >= 0 {
			p, it.rest = p[:i], p[i+1:]
		} else {
			it.rest = nil
		}
		if len(p) == 0 {
			continue // "&&" or a trailing "&"
		}
		name = p
		if i := indexByte(p, '='); i >= 0 {
			name, value = p[:i], p[i+1:]
		} else {
			value = p[len(p):]
		}
		var ok1, ok2 bool
		name, ok1 = unescape(name)
		value, ok2 = unescape(value)
		return name, value, true, !(ok1 && ok2)
	}
	return nil, nil, false, false
}

// indexByte is bytes.IndexByte (SIMD), the parser's workhorse.
func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

// unescape decodes %XX sequences of b in place and returns the decoded
// prefix. ok is false for a "%" not followed by two hex digits.
func unescape(b []byte) (out []byte, ok bool) {
	w := indexByte(b, '%')
	if w < 0 {
		return b, true // the common case for names and numbers: nothing to do
	}
	for r := w; r < len(b); r++ {
		c := b[r]
		if c == '%' {
			if r+2 >= len(b) {
				return b[:w], false
			}
			hi, ok1 := unhex(b[r+1])
			lo, ok2 := unhex(b[r+2])
			if !ok1 || !ok2 {
				return b[:w], false
			}
			c = hi<<4 | lo
			r += 2
		}
		b[w] = c
		w++
	}
	return b[:w], true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseInt parses an optionally signed decimal integer, saturating at
// ±(1<<62) so that absurd values stay ordered without overflow. ok is false
// for an empty value or any non-digit.
func parseInt(b []byte) (n int64, ok bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	const limit = 1 << 62
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < limit {
			n = n*10 + int64(c-'0')
		}
	}
	if n > limit {
		n = limit
	}
	if neg {
		n = -n
	}
	return n, true
}

// is compares a decoded parameter name with a constant without converting
// it to a string (which could allocate).
func is(b []byte, s string) bool { return string(b) == s }
