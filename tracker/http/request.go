package http

// request is one parsed request head. All slices point into the
// connection's read buffer and are valid until the next request is read.
type request struct {
	method []byte
	path   []byte // as sent (%-encoded), leading "/" kept; see pathIs
	query  []byte // raw, without "?"; nil when the target has no "?"
	proto  int    // 9 (no version), 10 or 11

	keepAlive bool   // reply may leave the connection open
	hasBody   bool   // Content-Length/Transfer-Encoding: framing unknown, close after
	gzip      bool   // Accept-Encoding mentions gzip
	headers   []byte // the header lines after the request line
	xff       bool   // an X-Forwarded-For header is among them
	host      []byte // Host header, for the landing page's URLs
}

// headerEnd returns the length of the request head in b including its blank
// line terminator (CRLF CRLF or bare LF LF, as opentracker also accepts), or
// -1 if the head is not complete yet.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		// b[i] ends a line; the head ends if the next line is empty.
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return j + 1
		}
	}
	return -1
}

// parseRequest parses head (as delimited by headerEnd). It returns false for
// a request line that is not "METHOD SP target [SP HTTP/1.x]".
func parseRequest(head []byte, r *request) bool {
	*r = request{}
	line, rest := cutLine(head)
	sp := indexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	r.method = line[:sp]
	target := line[sp+1:]
	r.proto = 9
	if sp2 := indexByte(target, ' '); sp2 >= 0 {
		ver := target[sp2+1:]
		target = target[:sp2]
		switch string(ver) {
		case "HTTP/1.1":
			r.proto = 11
		case "HTTP/1.0":
			r.proto = 10
		default:
			if len(ver) < 7 || string(ver[:7]) != "HTTP/1." {
				return false
			}
			r.proto = 11 // a future 1.x: speak 1.1
		}
	}
	if len(target) == 0 || target[0] != '/' {
		return false // absolute-form and "*" targets are not for a tracker
	}
	if q := indexByte(target, '?'); q >= 0 {
		r.path, r.query = target[:q], target[q+1:]
	} else {
		r.path = target
	}
	if !validEscapes(r.path) {
		return false
	}
	r.keepAlive = r.proto == 11
	r.headers = rest
	for len(rest) > 0 {
		var h []byte
		h, rest = cutLine(rest)
		colon := indexByte(h, ':')
		if colon <= 0 {
			continue // blank terminator or a junk line: ignore
		}
		name, val := h[:colon], trimSpace(h[colon+1:])
		switch {
		case equalFold(name, "connection"):
			if hasToken(val, "close") {
				r.keepAlive = false
			} else if r.proto == 10 && hasToken(val, "keep-alive") {
				r.keepAlive = true
			}
		case equalFold(name, "accept-encoding"):
			r.gzip = r.gzip || containsFold(val, "gzip")
		case equalFold(name, "x-forwarded-for"):
			r.xff = true
		case equalFold(name, "host"):
			r.host = val
		case equalFold(name, "content-length"):
			r.hasBody = r.hasBody || !(len(val) == 1 && val[0] == '0')
		case equalFold(name, "transfer-encoding"):
			r.hasBody = true
		}
	}
	if r.proto == 9 || r.hasBody {
		r.keepAlive = false
	}
	return true
}

// cutLine splits b after the first LF, dropping the line's CR LF.
func cutLine(b []byte) (line, rest []byte) {
	i := indexByte(b, '\n')
	if i < 0 {
		line, rest = b, nil
	} else {
		line, rest = b[:i], b[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

// hasToken reports whether the comma-separated list v contains token s.
func hasToken(v []byte, s string) bool {
	for len(v) > 0 {
		t := v
		if i := indexByte(v, ','); i >= 0 {
			t, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if equalFold(trimSpace(t), s) {
			return true
		}
	}
	return false
}
