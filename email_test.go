package sesame

import "testing"

func TestNormalizeEmailRefusesIPLiterals(t *testing.T) {
	for _, in := range []string{"a@[127.0.0.1]", "a@[IPv6:::1]", "a@127.0.0.1", "a@192.0.2.7"} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q; want an error", in, got)
		}
	}
	if got, err := NormalizeEmail(" Bob@Example.COM "); err != nil || got != "bob@example.com" {
		t.Errorf("NormalizeEmail(Bob@Example.COM) = %q, %v", got, err)
	}
}
