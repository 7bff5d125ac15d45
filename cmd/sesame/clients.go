package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/app"
	"github.com/sesame-auth/sesame/oidc"
)

const clientsUsage = `usage:
  sesame clients add --name NAME --redirect-uri URI [--redirect-uri URI…]
                     [--post-logout-redirect-uri URI…] [--backchannel-logout-uri URI]
                     [--public] [--trusted] [--no-pkce] [--ciba] [--id-token-alg RS256|ES256] [--json]
  sesame clients list [--json] | show ID [--json] | remove ID | rotate-secret ID [--json]`

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// clientFlags are the flags of `sesame clients`; --json is the command
// line's own.
type clientFlags struct {
	name, backchannel, alg string
	redirects, postLogout  multiFlag
	public, trusted, json  bool
	noPKCE, ciba           bool
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "clients add: the app's name, shown to people")
	fs.Var(&f.redirects, "redirect-uri", "clients add: a redirect URI (repeat for more)")
	fs.Var(&f.postLogout, "post-logout-redirect-uri", "clients add: a post-logout redirect URI (repeat for more)")
	fs.StringVar(&f.backchannel, "backchannel-logout-uri", "", "clients add: where Back-Channel Logout tokens are posted")
	fs.BoolVar(&f.public, "public", false, "clients add: a public client (no secret, PKCE, auth method none)")
	fs.BoolVar(&f.trusted, "trusted", false, "clients add: a first-party app: no consent screen")
	fs.BoolVar(&f.noPKCE, "no-pkce", false, "clients add: a confidential client that cannot send PKCE (Gitea); a challenge it sends is still checked")
	fs.BoolVar(&f.ciba, "ciba", false, "clients add: a confidential client that may ask people for approvals (OpenID CIBA, poll mode)")
	fs.StringVar(&f.alg, "id-token-alg", "RS256", "clients add: RS256 or ES256")
}

// boolFlags take no value, for splitting a command line whose flags come
// after its arguments.
var boolFlags = map[string]bool{"json": true, "public": true, "trusted": true, "no-pkce": true, "ciba": true}

// flagsFirst moves flags before positional arguments, so that
// `clients show ID --json` parses like `clients show --json ID`.
func flagsFirst(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && !boolFlags[name] && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, rest...)
}

// clientJSON is a client as `sesame clients … --json` prints it (API.md).
type clientJSON struct {
	ClientID               string   `json:"client_id"`
	ClientSecret           string   `json:"client_secret,omitempty"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri,omitempty"`
	Public                 bool     `json:"public"`
	Trusted                bool     `json:"trusted"`
	PKCERequired           bool     `json:"pkce_required"`
	IDTokenAlg             string   `json:"id_token_alg"`
	CIBA                   bool     `json:"ciba"`
}

func toClientJSON(c sesame.OAuthClient, secret string) clientJSON {
	return clientJSON{ClientID: c.ID, ClientSecret: secret, Name: c.Name, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, BackchannelLogoutURI: c.BackchannelLogoutURI,
		Public: c.Public, Trusted: c.Trusted, PKCERequired: c.RequirePKCE, IDTokenAlg: c.IDTokenAlg, CIBA: c.CIBA}
}

// runClients runs `sesame clients SUB`.
func runClients(ctx context.Context, a *app.App, sub string, f *clientFlags, args []string, stdout io.Writer) error {
	p := a.OIDC
	needID := func() (string, error) {
		if len(args) != 1 {
			return "", errors.New(clientsUsage)
		}
		return args[0], nil
	}
	switch sub {
	case "add":
		if len(args) != 0 {
			return errors.New(clientsUsage)
		}
		c, secret, err := p.Register(ctx, oidc.NewClient{
			Name: f.name, RedirectURIs: f.redirects, PostLogoutRedirectURIs: f.postLogout,
			BackchannelLogoutURI: f.backchannel, Public: f.public, Trusted: f.trusted, NoPKCE: f.noPKCE, IDTokenAlg: f.alg, CIBA: f.ciba,
		})
		if err != nil {
			return errors.New(sesame.ErrorMessage(err))
		}
		return printClient(stdout, f.json, c, secret)
	case "list":
		list, err := p.Clients(ctx)
		if err != nil {
			return err
		}
		if f.json {
			out := make([]clientJSON, 0, len(list))
			for _, c := range list {
				out = append(out, toClientJSON(c, ""))
			}
			return writeJSON(stdout, out)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "No clients registered.")
		}
		for _, c := range list {
			kind := "confidential"
			if c.Public {
				kind = "public"
			}
			fmt.Fprintf(stdout, "%s  %s  (%s%s, %s)\n", c.ID, c.Name, kind, map[bool]string{true: ", trusted"}[c.Trusted], c.IDTokenAlg)
		}
		return nil
	case "show":
		id, err := needID()
		if err != nil {
			return err
		}
		c, err := p.Client(ctx, id)
		if err != nil {
			return errors.New(sesame.ErrorMessage(err))
		}
		return printClient(stdout, f.json, c, "")
	case "remove":
		id, err := needID()
		if err != nil {
			return err
		}
		if err := p.RemoveClient(ctx, id); err != nil {
			return errors.New(sesame.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "Removed client %s with its consents and tokens.\n", id)
		return nil
	case "rotate-secret":
		id, err := needID()
		if err != nil {
			return err
		}
		c, secret, err := p.RotateSecret(ctx, id)
		if err != nil {
			return errors.New(sesame.ErrorMessage(err))
		}
		if f.json {
			return writeJSON(stdout, map[string]string{"client_id": c.ID, "client_secret": secret})
		}
		fmt.Fprintf(stdout, "New secret for %s (%s); the old one no longer works. It is shown only now:\n%s\n", c.ID, c.Name, secret)
		return nil
	}
	return errors.New(clientsUsage)
}

func printClient(w io.Writer, asJSON bool, c sesame.OAuthClient, secret string) error {
	if asJSON {
		return writeJSON(w, toClientJSON(c, secret))
	}
	fmt.Fprintf(w, "Client ID:      %s\nName:           %s\n", c.ID, c.Name)
	if secret != "" {
		fmt.Fprintf(w, "Client secret:  %s\n                (shown only now; Sesame keeps only its hash)\n", secret)
	}
	kind := "confidential (client_secret_basic or client_secret_post)"
	if c.Public {
		kind = "public (no secret; PKCE; auth method none)"
	}
	fmt.Fprintf(w, "Type:           %s\nTrusted:        %v\nPKCE required:  %v\nID token alg:   %s\nApprovals:      %v\n", kind, c.Trusted, c.RequirePKCE, c.IDTokenAlg, c.CIBA)
	for _, u := range c.RedirectURIs {
		fmt.Fprintf(w, "Redirect URI:   %s\n", u)
	}
	for _, u := range c.PostLogoutRedirectURIs {
		fmt.Fprintf(w, "Post-logout:    %s\n", u)
	}
	if c.BackchannelLogoutURI != "" {
		fmt.Fprintf(w, "Back-channel:   %s\n", c.BackchannelLogoutURI)
	}
	return nil
}
