package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestConns: the tool's HTTP/1.1 client against net/http's server: bodies
// by length and chunked, Set-Cookie and Location kept, no body for 204,
// connections kept alive, closed when the server says so and redialled
// once when the server closed an idle one, and the timeout.
func TestConns(t *testing.T) {
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
			w.Header().Set("Location", "/there?x=1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusSeeOther)
			_, _ = w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(body)))
		case "/chunked":
			w.Write([]byte("hello, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("world"))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
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
	c := newConns([]string{srv.URL}, 4, 200*time.Millisecond)
	if c == nil {
		t.Fatal("newConns refused", srv.URL)
	}
	ctx := context.Background()
	a, err := c.exchange(ctx, srv.URL, "POST", "/echo?q=1", []byte(`{"x":1}`), []header{{"X-Test", "1"}})
	if err != nil || a.status != http.StatusSeeOther || string(a.body) != `POST /echo?q=1 {"x":1}` ||
		a.header.Get("Location") != "/there?x=1" || !strings.HasPrefix(a.header.Get("Set-Cookie"), "a=b") || a.header.Get("Content-Type") != "" {
		t.Fatalf("echo: %+v, %v", a, err)
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
	if a, err := c.exchange(ctx, srv.URL, "GET", "/close", nil, nil); err != nil || string(a.body) != "bye" {
		t.Fatalf("close: %+v, %v", a, err)
	}
	if _, err := c.exchange(ctx, srv.URL, "GET", "/chunked", nil, nil); err != nil || dials.Load() != 2 {
		t.Fatalf("after Connection: close: %v, %d connections; want 2", err, dials.Load())
	}
	srv.CloseClientConnections() // the server ends the idle connection
	time.Sleep(50 * time.Millisecond)
	if a, err := c.exchange(ctx, srv.URL, "POST", "/echo", []byte("again"), []header{{"X-Test", "1"}}); err != nil || string(a.body) != "POST /echo again" {
		t.Fatalf("after the server closed the idle connection: %+v, %v", a, err)
	}
	if _, err := c.exchange(ctx, srv.URL, "GET", "/slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) || errorKey(err) != "timeout" {
		t.Errorf("slow: %v; want a timeout", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c.exchange(cctx, srv.URL, "GET", "/slow", nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v; want context.Canceled", err)
	}
	if _, err := c.exchange(ctx, srv.URL, "GET", "/x\r\nY: z", nil, nil); err == nil {
		t.Error("a path with CRLF was sent")
	}
	if newConns([]string{"https://example.com"}, 1, time.Second) != nil {
		t.Error("newConns took an https:// base")
	}
}
