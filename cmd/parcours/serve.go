package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"parcours/api"
	"parcours/models"
	"parcours/services/accompindicators"
	"parcours/services/cumul"
	"parcours/services/health"
	"parcours/services/idempotency"
	"parcours/services/indicators"
	"parcours/services/orientations"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API on PARCOURS_ADDR (refuses to start on an outdated schema)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context())
		},
	}
}

func (a *app) serve(ctx context.Context) error {
	a.logger.Info("starting", "config", a.cfg)
	db, sqlDB, cipher, err := a.openCaseData()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	checker := health.Checker{DB: sqlDB}
	if err := checker.Ready(ctx); err != nil {
		return fmt.Errorf("refusing to serve: %w", err)
	}
	keys, tokens, err := a.tokens()
	if err != nil {
		return err
	}
	replica, err := a.openReplica()
	if err != nil {
		return err
	}
	if replica != nil {
		defer closeGorm(replica)
	}
	registry := indicators.NewRegistry()
	orientations.RegisterIndicators(registry)
	accompindicators.RegisterIndicators(registry)
	cumul.RegisterIndicators(registry)
	router := api.NewRouter(api.Deps{
		DB: db, ReportsDB: replica, Indicators: registry, Cipher: cipher, Keys: keys, Tokens: tokens, Readiness: checker,
		Metrics: api.NewMetrics(sqlDB), Logger: a.logger, MaxBodyBytes: a.cfg.MaxBodyBytes, MaxImportBytes: a.cfg.MaxImportBytes,
		PartnerRate: a.cfg.PartnerRate, PartnerBurst: a.cfg.PartnerBurst,
	})
	go a.purgeIdempotencyKeys(ctx, idempotency.New(db, 0))
	if err := a.startPprof(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              a.cfg.Addr,
		Handler:           withDeadline(router, a.cfg.RequestTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout(a.cfg.RequestTimeout),
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	failed := make(chan error, 1)
	go func() {
		a.logger.Info("listening", "addr", a.cfg.Addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
		close(failed)
	}()
	select {
	case err := <-failed:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.logger.Info("shutting down: draining requests", "timeout", a.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.logger.Info("stopped")
	return nil
}

// writeTimeout leaves a request that reached its deadline 5 s to write its 503.
func writeTimeout(requestTimeout time.Duration) time.Duration {
	if requestTimeout <= 0 {
		return 60 * time.Second
	}
	return requestTimeout + 5*time.Second
}

// openReplica connects to DATABASE_REPLICA_URL, where the report routes read; nil when it is
// unset (the reports then read the primary).
func (a *app) openReplica() (*gorm.DB, error) {
	if a.cfg.ReplicaURL == "" {
		return nil, nil
	}
	db, err := models.Open(a.cfg.databaseURL(a.cfg.ReplicaURL), models.PoolConfig{MaxOpenConns: a.cfg.DBMaxConns, MaxIdleConns: a.cfg.DBMaxConns})
	if err != nil {
		return nil, fmt.Errorf("read replica: %w", err)
	}
	a.logger.Info("reports read from the replica", "database_replica_url", maskPassword(a.cfg.ReplicaURL))
	return db, nil
}

// closeGorm closes the pool behind db.
func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// purgeIdempotencyKeys deletes the expired Idempotency-Key answers now and every hour while
// serve runs (they are ignored once expired; this only reclaims their space).
func (a *app) purgeIdempotencyKeys(ctx context.Context, store *idempotency.Store) {
	ticker := time.NewTicker(time.Hour)
	defer ticker.Stop()
	for {
		n, err := store.Purge(ctx, 1000)
		switch {
		case err != nil && ctx.Err() == nil:
			a.logger.Warn("purge idempotency keys", "error", err)
		case n > 0:
			a.logger.Info("purged expired idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
