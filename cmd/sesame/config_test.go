package main

import (
	"flag"
	"testing"
	"time"
)

// TestAuditRetention: SESAME_AUDIT_RETENTION takes days or a duration of
// at least a day, 400 days by default (SECURITY rule 54).
func TestAuditRetention(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
	}{{"", 400 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"9600h", 9600 * time.Hour}} {
		cfg, err := parseConfig(flag.NewFlagSet("sesame", flag.ContinueOnError), nil, func(k string) string {
			if k == "SESAME_AUDIT_RETENTION" {
				return c.env
			}
			return ""
		})
		if err != nil || cfg.App.AuditRetention != c.want {
			t.Errorf("SESAME_AUDIT_RETENTION=%q: %v, %v; want %v", c.env, cfg.App.AuditRetention, err, c.want)
		}
	}
	for _, bad := range []string{"0d", "1h", "forever", "-3d"} {
		if _, err := parseConfig(flag.NewFlagSet("sesame", flag.ContinueOnError), nil, func(k string) string {
			if k == "SESAME_AUDIT_RETENTION" {
				return bad
			}
			return ""
		}); err == nil {
			t.Errorf("SESAME_AUDIT_RETENTION=%q accepted", bad)
		}
	}
}
