package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/app"
)

// printAudit prints the latest security events of the user with email.
func printAudit(ctx context.Context, a *app.App, email string, w io.Writer) error {
	if email == "" {
		return errors.New("usage: sesame audit --user EMAIL")
	}
	email, err := sesame.NormalizeEmail(email)
	if err != nil {
		return err
	}
	u, err := a.DB.UserByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("user %s: %w", email, err)
	}
	events, err := a.DB.AuditEvents(ctx, u.ID, 200)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tRESULT\tMETHOD\tIP\tUSER AGENT\tDETAIL")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Event, e.Result, e.Method, e.IP, e.UserAgent, e.Detail)
	}
	return tw.Flush()
}
