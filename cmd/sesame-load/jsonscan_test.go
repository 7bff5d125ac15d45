package main

import (
	"slices"
	"testing"
)

func TestStringFields(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // nil: not ok
	}{
		{`{"access_token":"a.b.c","token_type":"Bearer","expires_in":600,"user":{"id":"u1","email":"x@example.com"},"amr":["hwk","user"]}`, []string{"a.b.c", "u1"}},
		{` { "user" : { "name" : "n", "id" : "u2" } , "access_token" : "t" } `, []string{"t", "u2"}},
		{`{"access_token":"t","user":{"id":"u","x":[{"id":"no"}]},"id":"top"}`, []string{"t", "u"}},
		{`{"access_token":"old","user":{"id":"u"},"access_token":"new"}`, []string{"new", "u"}},
		{`{"access_token":"t","user":{"email":"\"user\":{\"id\":\"evil\"}","id":"u"}}`, []string{"t", "u"}},
		{`{"access_token":"t\u0041","user":{"id":"u"}}`, nil}, // escaped: encoding/json reads it
		{`{"access_token":"t"}`, nil},
		{`{"access_token":1,"user":{"id":"u"}}`, nil},
		{`{"access_token":"t","user":{"id":"u"}`, nil},
		{`{"access_token":"t","user":{"id":"u"}} x`, nil},
		{`["access_token","t"]`, nil},
		{`{"access_token":"t","user":{"id":"u"},}`, nil},
		{``, nil},
	} {
		got, ok := stringFields([]byte(c.in), "access_token", "user.id")
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("stringFields(%s) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestCookie(t *testing.T) {
	h := map[string][]string{"Set-Cookie": {
		"sesame_request=x; Path=/",
		"sesame_refresh=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/api/session",
		`sesame_refresh="abc"; Path=/api/session; HttpOnly; SameSite=Strict`,
	}}
	if v := cookie(h, "sesame_refresh"); v != "abc" {
		t.Errorf("cookie = %q; want abc", v)
	}
	if v := cookie(nil, "sesame_refresh"); v != "" {
		t.Errorf("cookie(nil) = %q", v)
	}
}
