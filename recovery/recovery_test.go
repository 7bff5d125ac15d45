package recovery

import (
	"regexp"
	"testing"
)

func TestNewCode(t *testing.T) {
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)
	seen := map[string]bool{}
	for range 1000 {
		c := NewCode()
		if !format.MatchString(c) || seen[c] {
			t.Fatalf("NewCode() = %q: malformed or repeated", c)
		}
		seen[c] = true
		if p, ok := Parse(c); !ok || p != c[:5]+c[6:] {
			t.Fatalf("Parse(%q) = %q, %v", c, p, ok)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"4kq7m-x2c9p", "4kq7mx2c9p", true},
		{"4KQ7M-X2C9P", "4kq7mx2c9p", true},
		{" 4kq7m x2c9p ", "4kq7mx2c9p", true},
		{"4kq7mx2c9p", "4kq7mx2c9p", true},
		{"ol1i0-abcde", "01110abcde", true}, // Crockford: o→0, i/l→1
		{"4kq7m-x2c9", "", false},
		{"4kq7m-x2c9pp", "", false},
		{"4kq7m-x2c9u", "", false}, // u is not in the alphabet
		{"4kq7m-x2c9é", "", false},
		{"", "", false},
		{"aaaaa-bbbbb-ccccc-ddddd-eeeee-fffff", "", false},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
