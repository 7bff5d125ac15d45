package main

import "bytes"

// stringFields returns the string values at paths ("access_token",
// "user.id": member names, dot-separated, from the top-level object) of
// the JSON object b, reading it once without reflection: the answers the
// tool reads most, where encoding/json cost more than the exchange. ok is
// false unless b is one JSON object and every path names a string without
// escapes (then encoding/json should read it); a path that occurs twice
// gives its last value, as encoding/json does.
func stringFields(b []byte, paths ...string) (values []string, ok bool) {
	s := jsonScan{b: b, paths: paths, values: make([]string, len(paths)), found: make([]bool, len(paths))}
	s.space()
	if s.i >= len(b) || b[s.i] != '{' || !s.value() {
		return nil, false
	}
	if s.space(); s.i != len(b) {
		return nil, false
	}
	for _, f := range s.found {
		if !f {
			return nil, false
		}
	}
	return s.values, true
}

type jsonScan struct {
	b      []byte
	i      int
	keys   [][]byte // the member names down to the current value; nil for an array element
	paths  []string
	values []string
	found  []bool
	failed bool // a path named something other than a plain string
}

func (s *jsonScan) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// value reads one value at s.i; false if malformed.
func (s *jsonScan) value() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	at := s.match()
	switch c := s.b[s.i]; c {
	case '{', '[':
		if at >= 0 {
			return false
		}
		s.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.space()
		if s.i < len(s.b) && s.b[s.i] == end {
			s.i++
			return true
		}
		for {
			var key []byte
			if c == '{' {
				s.space()
				k, escaped, ok := s.str()
				if !ok {
					return false
				}
				if !escaped {
					key = k
				}
				s.space()
				if s.i >= len(s.b) || s.b[s.i] != ':' {
					return false
				}
				s.i++
			}
			s.keys = append(s.keys, key)
			ok := s.value()
			s.keys = s.keys[:len(s.keys)-1]
			if !ok {
				return false
			}
			s.space()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] != end {
				return false
			}
			s.i++
			return true
		}
	case '"':
		v, escaped, ok := s.str()
		if !ok {
			return false
		}
		if at >= 0 {
			if escaped {
				return false
			}
			s.values[at], s.found[at] = string(v), true
		}
		return true
	default: // a number, true, false or null
		if at >= 0 {
			return false
		}
		start := s.i
		for s.i < len(s.b) && bytes.IndexByte([]byte(",}] \t\r\n"), s.b[s.i]) < 0 {
			s.i++
		}
		return s.i > start
	}
}

// str reads a string at s.i, returning its contents as they are written;
// escaped says if they hold an escape.
func (s *jsonScan) str() (v []byte, escaped, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '\\':
			escaped = true
			i++
		case c == '"':
			s.i = i + 1
			return s.b[start:i], escaped, true
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// match is the index of the path that names the current value; -1 if
// none.
func (s *jsonScan) match() int {
	if len(s.keys) == 0 {
		return -1
	}
next:
	for n, p := range s.paths {
		for _, k := range s.keys {
			name, rest, _ := cutDot(p)
			if k == nil || string(k) != name {
				continue next
			}
			p = rest
		}
		if p == "" {
			return n
		}
	}
	return -1
}

func cutDot(p string) (name, rest string, ok bool) {
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}
