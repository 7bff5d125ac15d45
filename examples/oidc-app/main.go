// Command oidc-app is an example app that signs its users in with Sesame
// (OpenID Connect, authorization code flow with PKCE). docs/oidc.md walks
// through it:
//
//	make run    # Sesame on http://localhost:8080
//	./bin/sesame clients add --name "Example app" \
//	    --redirect-uri http://127.0.0.1:9090/callback \
//	    --post-logout-redirect-uri http://127.0.0.1:9090/signed-out \
//	    --backchannel-logout-uri http://127.0.0.1:9090/backchannel-logout
//	go run ./examples/oidc-app -client-id ID -client-secret SECRET
//
// then open http://127.0.0.1:9090. Every flag can also be set in the
// environment: OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_LISTEN,
// OIDC_BASE_URL, OIDC_NAME, OIDC_SCOPES, OIDC_ACR_VALUES.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sesame-auth/sesame/examples/oidc-app/relyingparty"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "oidc-app:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("oidc-app", flag.ContinueOnError)
	issuer := fs.String("issuer", env("OIDC_ISSUER", "http://localhost:8080"), "Sesame's public URL (the issuer)")
	clientID := fs.String("client-id", env("OIDC_CLIENT_ID", ""), "client_id from `sesame clients add`")
	secret := fs.String("client-secret", env("OIDC_CLIENT_SECRET", ""), "client_secret from `sesame clients add` (empty for a --public client)")
	listen := fs.String("listen", env("OIDC_LISTEN", "127.0.0.1:9090"), "address to listen on")
	baseURL := fs.String("base-url", env("OIDC_BASE_URL", ""), "this app's URL as the browser sees it (default http://LISTEN)")
	name := fs.String("name", env("OIDC_NAME", "Example app"), "the app's name on its pages")
	scopes := fs.String("scopes", env("OIDC_SCOPES", "openid email profile"), "scopes to ask for (add offline_access for a refresh token)")
	acr := fs.String("acr-values", env("OIDC_ACR_VALUES", ""), "phr: accept only a passkey or security key sign-in; phrh: only a device-bound one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clientID == "" {
		return errors.New("-client-id (or OIDC_CLIENT_ID) is required: register the app with `sesame clients add` first")
	}
	if *baseURL == "" {
		*baseURL = "http://" + *listen
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	params := map[string]string{}
	if *acr != "" {
		params["acr_values"] = *acr
	}
	app, err := relyingparty.New(ctx, relyingparty.Config{
		Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret,
		BaseURL: *baseURL, Name: *name, Scopes: strings.Fields(*scopes), AuthParams: params, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("example app ready", "url", *baseURL, "issuer", *issuer,
		"redirect_uri", *baseURL+relyingparty.CallbackPath,
		"post_logout_redirect_uri", *baseURL+relyingparty.SignedOutPath,
		"backchannel_logout_uri", *baseURL+relyingparty.BackchannelLogoutPath)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
