// Package servicetest gives tests a real, migrated PostgreSQL database of their own: one
// migrated template per migration set, cloned for each test with CREATE DATABASE … TEMPLATE.
// DATABASE_URL names the server (make test starts a throwaway one with scripts/pg.sh).
package servicetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"parcours/migrations"
	"parcours/models"
)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// NewDB returns a connection to a fresh database at the latest schema, dropped when t ends.
func NewDB(t testing.TB) *gorm.DB {
	t.Helper()
	db, _ := NewDBWithURL(t)
	return db
}

// NewDBWithURL is NewDB that also returns the database's URL, for code that connects itself.
func NewDBWithURL(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	server := serverURL(t)
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(server) })
	if templateErr != nil {
		t.Fatalf("prepare the template database: %v", templateErr)
	}
	name := "test_" + strings.ToLower(rand.Text()[:16])
	admin := open(t, server)
	defer closeQuietly(admin)
	if err := admin.Exec(fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, templateName)).Error; err != nil {
		t.Fatalf("clone the template database: %v", err)
	}
	url := withDatabase(server, name)
	db := open(t, url)
	t.Cleanup(func() {
		closeQuietly(db)
		admin, err := models.Open(server, models.PoolConfig{MaxOpenConns: 1})
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer closeQuietly(admin)
		if err := admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)).Error; err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return db, url
}

func serverURL(t testing.TB) string {
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		t.Fatal("DATABASE_URL is not set: run the tests with `make test`, which starts a throwaway PostgreSQL")
	}
	return raw
}

func open(t testing.TB, url string) *gorm.DB {
	t.Helper()
	db, err := models.Open(url, models.PoolConfig{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	return db
}

func closeQuietly(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// ensureTemplate creates, once per server and migration set, a database migrated to the
// latest schema. An advisory lock keeps test binaries running in parallel from racing, and
// the template is built under a temporary name then renamed, so a half-built one is never used.
func ensureTemplate(server string) (string, error) {
	sum, err := migrationsDigest()
	if err != nil {
		return "", err
	}
	name := "template_" + sum
	admin, err := models.Open(server, models.PoolConfig{MaxOpenConns: 1})
	if err != nil {
		return "", err
	}
	defer closeQuietly(admin)
	ctx := context.Background()
	conn, err := mustSQL(admin).Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(4747)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock(4747)`) //nolint:errcheck

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q`, building)); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, building)); err != nil {
		return "", err
	}
	tpl, err := models.Open(withDatabase(server, building), models.PoolConfig{MaxOpenConns: 1})
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, mustSQL(tpl))
	closeQuietly(tpl)
	if err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func mustSQL(db *gorm.DB) *sql.DB {
	sqlDB, err := db.DB()
	if err != nil {
		panic(err) // only fails for a gorm.DB not opened on database/sql
	}
	return sqlDB
}

// migrationsDigest fingerprints the embedded migrations, so a changed migration gets a new
// template instead of a stale one.
func migrationsDigest() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		panic(fmt.Sprintf("DATABASE_URL is not a URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}
