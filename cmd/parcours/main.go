// Command parcours runs the Parcours service and its operations: serve, migrate, seed, token.
// Configuration comes from the environment only (see the README).
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services/auth"
	"parcours/services/pii"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Getenv).ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

// app is what every subcommand shares: the configuration and a logger.
type app struct {
	cfg    Config
	logger *slog.Logger
}

func newRootCmd(getenv func(string) string) *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:           "parcours",
		Short:         "Parcours: rSa pathways and stratégie pauvreté reporting",
		SilenceUsage:  true,
		SilenceErrors: false,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
			a.cfg = cfg
			a.logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: cfg.LogLevel}))
			slog.SetDefault(a.logger)
			return nil
		},
	}
	root.AddCommand(a.serveCmd(), a.migrateCmd(), a.seedCmd(), a.tokenCmd(), a.keysCmd())
	root.AddCommand(a.importCmd())
	root.AddCommand(a.purgeCmd(getenv))
	return root
}

// openDB connects to DATABASE_URL and returns both the gorm and the database/sql handles.
func (a *app) openDB() (*gorm.DB, *sql.DB, error) {
	if err := a.cfg.requireDatabase(); err != nil {
		return nil, nil, err
	}
	db, err := models.Open(a.cfg.databaseURL(a.cfg.DatabaseURL), models.PoolConfig{MaxOpenConns: a.cfg.DBMaxConns, MaxIdleConns: a.cfg.DBMaxConns})
	if err != nil {
		return nil, nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("database handle: %w", err)
	}
	return db, sqlDB, nil
}

// openCaseData connects to DATABASE_URL and loads the NIR cipher: what commands writing
// beneficiaries need. The caller closes the returned *sql.DB.
func (a *app) openCaseData() (*gorm.DB, *sql.DB, *pii.Cipher, error) {
	cipher, err := pii.LoadCipher(a.cfg.KeysDir)
	if err != nil {
		return nil, nil, nil, err
	}
	db, sqlDB, err := a.openDB()
	return db, sqlDB, cipher, err
}

// tokens loads the keyset (creating a signing key when the folder has none).
func (a *app) tokens() (*auth.Keyset, *auth.Tokens, error) {
	keys, err := auth.LoadKeyset(a.cfg.KeysDir)
	if err != nil {
		return nil, nil, fmt.Errorf("keys in %s: %w", a.cfg.KeysDir, err)
	}
	return keys, auth.NewTokens(keys, auth.TokenConfig{Issuer: a.cfg.Issuer, Audience: a.cfg.Audience, Leeway: a.cfg.TokenLeeway}), nil
}
