package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestStringFields(t *testing.T) {
	c, err := newClient([]string{"http://127.0.0.1:1"}, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want []string // nil: not ok
	}{
		{`{"access_token":"a.b.c","token_type":"Bearer","expires_in":600,"user":{"id":"u1","email":"x@example.com"},"amr":["hwk","user"]}`, []string{"a.b.c", "u1"}},
		{` { "user" : { "name" : "n", "id" : "u2" } , "access_token" : "t" } `, []string{"t", "u2"}},
		{`{"access_token":"t","user":{"id":"u","x":[{"id":"no"}]},"id":"top"}`, []string{"t", "u"}},
		{`{"access_token":"t","user":{"email":"\"user\":{\"id\":\"evil\"}","id":"u"}}`, []string{"t", "u"}},
		{`{"access_token":"t\u0041","user":{"id":"u"}}`, []string{"tA", "u"}},
		{`{"access_token":"t"}`, nil},
		{`{"access_token":1,"user":{"id":"u"}}`, nil},
		{`{"access_token":"t","user":{"id":"u"}`, nil},
		{`{"access_token":"t","user":{"id":"u"}} x`, nil},
		{`["access_token","t"]`, nil},
		{``, nil},
	} {
		got, ok := c.stringFields([]byte(tc.in), []string{"access_token"}, []string{"user", "id"})
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("stringFields(%s) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// TestExchange: the client against net/http's server: bodies by length
// and chunked, Set-Cookie and Location kept and redirects not followed, no
// body for 204, connections kept alive, redialled when the server closed
// an idle one, the timeout and the context.
func TestExchange(t *testing.T) {
	var dials atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			if r.Header.Get("User-Agent") != "sesame-load" || r.Header.Get("X-Test") != "1" || r.Host == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "b", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "d", Path: "/"})
			w.Header().Set("Location", "/there?x=1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusSeeOther)
			_, _ = w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Cookie") + " " + string(body)))
		case "/chunked":
			w.Write([]byte("hello, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("world"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := newClient([]string{srv.URL}, 4, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := c.exchange(ctx, srv.URL, "POST", "/echo?q=a%2Fb&r=%20", []byte(`{"x":1}`), []header{{"X-Test", "1"}, refreshCookie("r1")})
	if err != nil || a.status != http.StatusSeeOther || string(a.body) != `POST /echo?q=a%2Fb&r=%20 sesame_refresh=r1 {"x":1}` ||
		a.header.Get("Location") != "/there?x=1" || cookie(a.header, "a") != "b" || cookie(a.header, "c") != "d" || a.header.Get("Content-Type") != "" {
		t.Fatalf("echo: %+v, %q, %v", a, a.body, err)
	}
	if a, err := c.exchange(ctx, srv.URL, "GET", "/chunked", nil, nil); err != nil || a.status != 200 || string(a.body) != "hello, world" {
		t.Fatalf("chunked: %+v, %v", a, err)
	}
	if a, err := c.exchange(ctx, srv.URL, "POST", "/empty", nil, nil); err != nil || a.status != http.StatusNoContent || len(a.body) != 0 {
		t.Fatalf("empty: %+v, %v", a, err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for three exchanges; want 1", n)
	}
	srv.CloseClientConnections() // the server ends the idle connection
	time.Sleep(50 * time.Millisecond)
	if a, err := c.exchange(ctx, srv.URL, "POST", "/echo", []byte("again"), []header{{"X-Test", "1"}}); err != nil || string(a.body) != "POST /echo  again" {
		t.Fatalf("after the server closed the idle connection: %+v, %v", a, err)
	}
	if _, err := c.send(ctx, "GET", "/slow", nil, http.StatusOK); err == nil || errorKey(err) != "timeout" {
		t.Errorf("slow: %v; want a timeout", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.exchange(cctx, srv.URL, "GET", "/slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past the context's deadline: %v; want context.DeadlineExceeded", err)
	}
	if _, err := newClient([]string{"ftp://example.com"}, 1, time.Second); err == nil {
		t.Error("newClient took an ftp:// base")
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
