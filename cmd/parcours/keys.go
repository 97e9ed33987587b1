package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"parcours/services/auth"
)

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the token signing keys in PARCOURS_KEYS_DIR"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Start signing with a new key; the old one still verifies tokens it signed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := auth.Rotate(a.cfg.KeysDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signing with kid %s; restart serve to use it\n", keys.SigningKeyID())
			return nil
		},
	})
	return cmd
}
