package http

import "bytes"

// Query-string handling. Everything works in place on the request bytes held
// in the connection's read buffer, so parsing allocates nothing.
//
// Compared with opentracker's scanner (scan_urlencoded_query) we are lenient where
// strictness helps nobody: any byte is accepted in names and values (raw
// UTF-8, quotes, brackets), and a parameter without "=" is an empty value.
// Only a malformed %-escape is an error, because the decoded value would be
// a guess. As in opentracker, "+" is not decoded to a space: info_hash bytes
// are binary and clients percent-encode them.

// eachParam calls fn with each "name=value" parameter of query, both
// %-decoded in place, until fn returns false. It returns false, without
// calling fn for it, at a parameter with a malformed escape. fn does not
// escape: a closure passed here allocates nothing.
func eachParam(query []byte, fn func(name, value []byte) bool) (wellFormed bool) {
	for rest := query; len(rest) > 0; {
		p := rest
		if i := indexByte(p, '&'); i >= 0 {
			p, rest = p[:i], p[i+1:]
		} else {
			rest = nil
		}
		if len(p) == 0 {
			continue // "&&" or a trailing "&"
		}
		name, value := p, p[len(p):]
		if i := indexByte(p, '='); i >= 0 {
			name, value = p[:i], p[i+1:]
		}
		name, ok1 := unescape(name)
		value, ok2 := unescape(value)
		if !ok1 || !ok2 {
			return false
		}
		if !fn(name, value) {
			return true
		}
	}
	return true
}

// pathIs reports whether the %-encoded path decodes to want or, with
// prefix, starts with it. The path is left as it is; its escapes must be
// well formed (parseRequest checks them).
func pathIs(path []byte, want string, prefix bool) bool {
	i := 0
	for k := 0; k < len(want); k++ {
		if i >= len(path) {
			return false
		}
		c := path[i]
		i++
		if c == '%' && i+1 < len(path) {
			hi, _ := unhex(path[i])
			lo, _ := unhex(path[i+1])
			c = hi<<4 | lo
			i += 2
		}
		if c != want[k] {
			return false
		}
	}
	return prefix || i == len(path)
}

// validEscapes reports whether every "%" in b is followed by two hex digits.
func validEscapes(b []byte) bool {
	for i := indexByte(b, '%'); i >= 0; {
		if i+2 >= len(b) {
			return false
		}
		if _, ok := unhex(b[i+1]); !ok {
			return false
		}
		if _, ok := unhex(b[i+2]); !ok {
			return false
		}
		i += 3
		j := indexByte(b[i:], '%')
		if j < 0 {
			break
		}
		i += j
	}
	return true
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
