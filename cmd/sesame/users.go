package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/audit"
	"github.com/sesame-auth/sesame/internal/app"
)

const usersUsage = "usage: sesame users list [--json] | show EMAIL [--json] | disable EMAIL | enable EMAIL | delete EMAIL"

// usersCommand reads "users SUB [EMAIL] [flags]": the command name
// ("users show"), the address when SUB takes one, and the flags left.
func usersCommand(args []string) (cmd, email string, rest []string, err error) {
	if len(args) == 0 {
		return "", "", nil, errors.New(usersUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
	case "show", "disable", "enable", "delete":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return "", "", nil, fmt.Errorf("sesame users %s needs an email address\n%s", sub, usersUsage)
		}
		email, rest = rest[0], rest[1:]
	default:
		return "", "", nil, errors.New(usersUsage)
	}
	return "users " + sub, email, rest, nil
}

// runUsers runs an operator's users command. Changes are audited as done
// by the operator.
func runUsers(ctx context.Context, a *app.App, cmd, email string, asJSON bool, w io.Writer) error {
	if cmd == "users list" {
		list, err := a.Account.List(ctx)
		if err != nil {
			return err
		}
		return printUsers(w, list, asJSON)
	}
	u, err := a.Account.ByEmail(ctx, email)
	if err != nil {
		return err
	}
	record := func(event string) {
		audit.New(a.DB, a.Log, time.Now).Record(ctx, sesame.AuditEvent{Event: event, Result: "success", UserID: u.ID, Detail: "by operator"})
	}
	switch cmd {
	case "users show":
		return showUser(ctx, a, u, asJSON, w)
	case "users disable":
		if _, err := a.Account.SetDisabled(ctx, u.ID, true); err != nil {
			return err
		}
		record(audit.AccountDisabled)
		// Apps holding tokens of the ended sessions hear of it (Back-Channel
		// Logout); Close waits for those deliveries.
		a.OIDC.SessionsEnded(ctx, u.ID)
		fmt.Fprintf(w, "%s disabled; its sessions have ended\n", u.Email)
	case "users enable":
		if _, err := a.Account.SetDisabled(ctx, u.ID, false); err != nil {
			return err
		}
		record(audit.AccountEnabled)
		fmt.Fprintf(w, "%s enabled\n", u.Email)
	case "users delete":
		if _, err := a.Account.Delete(ctx, u.ID, sesame.Client{UserAgent: "sesame users delete"}); err != nil {
			return err
		}
		record(audit.AccountDeleted)
		fmt.Fprintf(w, "%s deleted with its passkeys, password, authenticator app, recovery codes and sessions\n", u.Email)
	}
	return nil
}

type userListJSON struct {
	ID         string     `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at"`
	LastSignIn *time.Time `json:"last_sign_in"`
}

func printUsers(w io.Writer, list []sesame.UserSummary, asJSON bool) error {
	if asJSON {
		out := make([]userListJSON, 0, len(list))
		for _, s := range list {
			out = append(out, userListJSON{s.User.ID, s.User.Email, s.User.Name, s.User.CreatedAt, s.User.DisabledAt, s.LastSignIn})
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tCREATED\tLAST SIGN-IN\tSTATUS")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.User.Email, s.User.Name, s.User.CreatedAt.Format(time.RFC3339), when(s.LastSignIn), status(s.User))
	}
	return tw.Flush()
}

type userShowJSON struct {
	userListJSON
	Passkeys          []passkeyJSON `json:"passkeys"`
	HasPassword       bool          `json:"has_password"`
	HasTOTP           bool          `json:"has_totp"`
	RecoveryCodesLeft int           `json:"recovery_codes_left"`
	Sessions          []sessionJSON `json:"sessions"`
}

type passkeyJSON struct {
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	AMR        []string  `json:"amr"`
}

// showUser prints a user's factors, live sessions and last sign-in.
func showUser(ctx context.Context, a *app.App, u sesame.User, asJSON bool, w io.Writer) error {
	out := userShowJSON{userListJSON: userListJSON{u.ID, u.Email, u.Name, u.CreatedAt, u.DisabledAt, nil}, Passkeys: []passkeyJSON{}, Sessions: []sessionJSON{}}
	var err error
	if out.LastSignIn, err = a.Account.LastSignIn(ctx, u.ID); err != nil {
		return err
	}
	creds, err := a.DB.CredentialsByUser(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, c := range creds {
		out.Passkeys = append(out.Passkeys, passkeyJSON{c.Name, c.CreatedAt, c.LastUsedAt, c.BackupEligible})
	}
	if out.HasPassword, err = a.DB.HasPassword(ctx, u.ID); err != nil {
		return err
	}
	if out.HasTOTP, err = a.DB.HasTOTP(ctx, u.ID); err != nil {
		return err
	}
	if out.RecoveryCodesLeft, err = a.DB.RecoveryCodesLeft(ctx, u.ID); err != nil {
		return err
	}
	now := time.Now()
	sessions, err := a.DB.UserSessions(ctx, u.ID, now, now.Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	for _, s := range sessions {
		out.Sessions = append(out.Sessions, sessionJSON{s.ID, s.CreatedAt, s.LastUsedAt, s.UserAgent, s.IP, s.AMR})
	}
	if asJSON {
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Email:\t%s\nName:\t%s\nID:\t%s\nCreated:\t%s\nStatus:\t%s\nLast sign-in:\t%s\n",
		u.Email, u.Name, u.ID, u.CreatedAt.Format(time.RFC3339), status(u), when(out.LastSignIn))
	fmt.Fprintf(tw, "Password:\t%s\nAuthenticator app:\t%s\nRecovery codes left:\t%d\n", yes(out.HasPassword), yes(out.HasTOTP), out.RecoveryCodesLeft)
	fmt.Fprintf(tw, "Passkeys:\t%d\n", len(out.Passkeys))
	for _, p := range out.Passkeys {
		fmt.Fprintf(tw, "  %s\tadded %s, last used %s\n", p.Name, p.CreatedAt.Format(time.RFC3339), when(p.LastUsedAt))
	}
	fmt.Fprintf(tw, "Sessions:\t%d\n", len(out.Sessions))
	for _, s := range out.Sessions {
		fmt.Fprintf(tw, "  %s\t%s from %s, last used %s (%s)\n", s.ID, s.UserAgent, s.IP, s.LastUsedAt.Format(time.RFC3339), strings.Join(s.AMR, " "))
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func status(u sesame.User) string {
	if u.DisabledAt != nil {
		return "disabled since " + u.DisabledAt.Format(time.RFC3339)
	}
	return "active"
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
