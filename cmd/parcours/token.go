package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parcours/services/auth"
	"parcours/services/login"
)

func (a *app) tokenCmd() *cobra.Command {
	var (
		role, territories, org, dep, sub string
		ttl                              time.Duration
		link                             bool
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a signed development token on stdout",
		Example: `  parcours token --role admin
  parcours token --role agent --territories 47-AGEN1,47-NERAC --ttl 8h
  curl -H "Authorization: Bearer $(parcours token --role manager)" localhost:8080/api/v1/territories
  parcours token --role manager --link      # open the printed URL in a browser: the dashboard`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			if dep == "" {
				dep = a.cfg.Departement
			}
			if sub == "" {
				sub = "dev-" + role
			}
			p := auth.Principal{Subject: sub, Role: r, Departement: dep, Organisation: org}
			for _, t := range strings.Split(territories, ",") {
				if t = strings.TrimSpace(t); t != "" {
					p.Territories = append(p.Territories, t)
				}
			}
			_, tokens, err := a.tokens()
			if err != nil {
				return err
			}
			if link {
				signed, _, err := tokens.MintLogin(p, login.LinkTTL)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), a.cfg.PublicURL+"/login?token="+signed)
				return nil
			}
			signed, err := tokens.Mint(p, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), signed)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "admin, manager, agent or partner (required)")
	f.StringVar(&territories, "territories", "", "comma-separated territory codes (agents)")
	f.StringVar(&org, "org", "", "organisation id (partners)")
	f.StringVar(&dep, "dep", "", "département code (default PARCOURS_DEPARTEMENT)")
	f.StringVar(&sub, "sub", "", "subject, the caller's name (default dev-<role>)")
	f.DurationVar(&ttl, "ttl", time.Hour, "lifetime")
	f.BoolVar(&link, "link", false, "print a single-use dashboard login link, valid 10 minutes, instead of a token")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}
