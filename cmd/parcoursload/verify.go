package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// snapshot is where the tables the load writes stood before it: their highest ids.
type snapshot struct {
	orientations, convocations int64
}

func takeSnapshot(ctx context.Context, db *sql.DB) (snapshot, error) {
	var s snapshot
	err := db.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM orientations),
		(SELECT coalesce(max(id), 0) FROM convocations)`).Scan(&s.orientations, &s.convocations)
	return s, err
}

// check is the outcome of comparing one kind of write with the database.
type check struct {
	kind              string
	acked, unacked    int
	problems          []string
	written, expected int // rows found and rows the acknowledged writes account for
}

func (c check) String() string {
	verdict := "exact"
	if n := len(c.problems); n > 0 {
		verdict = fmt.Sprintf("MISMATCH (%d): %s", n, strings.Join(c.problems[:min(n, 5)], "; "))
	}
	return fmt.Sprintf("check %s: %d acknowledged, %d rows in the database for %d expected; %d not acknowledged: %s",
		c.kind, c.acked, c.written, c.expected, c.unacked, verdict)
}

// verify compares the database with the writes of the ledger: every write acknowledged with
// a 2xx is there — its rows, its audit rows (by request id), its Idempotency-Key — and
// nothing else is: no row the acknowledged writes do not account for, no audit row or key
// of a write that was refused, failed or never answered.
func verify(ctx context.Context, db *sql.DB, before snapshot, writes []*write) ([]check, error) {
	audited, err := stringSet(ctx, db, `SELECT DISTINCT request_id FROM audit_events WHERE request_id = ANY($1) AND action <> 'read'`, ids(writes, (*write).id))
	if err != nil {
		return nil, fmt.Errorf("audit rows: %w", err)
	}
	keys, err := stringSet(ctx, db, `SELECT key FROM idempotency_keys WHERE key = ANY($1)`, ids(writes, (*write).idempotencyKey))
	if err != nil {
		return nil, fmt.Errorf("idempotency keys: %w", err)
	}
	rows := map[string]func() (map[string]bool, error){
		"orientation": func() (map[string]bool, error) {
			return stringSet(ctx, db, `SELECT id::text FROM orientations WHERE id > $1`, before.orientations)
		},
		"convocation": func() (map[string]bool, error) {
			return stringSet(ctx, db, `SELECT id::text FROM convocations WHERE id > $1`, before.convocations)
		},
		"attendance": func() (map[string]bool, error) {
			return stringSet(ctx, db, `SELECT id || ':' || attendance || ':' || version FROM convocations
				WHERE id > $1 AND attendance IS NOT NULL`, before.convocations)
		},
	}
	var checks []check
	for _, k := range kinds {
		if !k.write {
			continue
		}
		found, err := rows[k.name]()
		if err != nil {
			return nil, fmt.Errorf("%s rows: %w", k.name, err)
		}
		checks = append(checks, compare(k.name, writes, found, audited, keys))
	}
	return checks, nil
}

// compare checks the writes of kind against the rows found and the audit rows and keys.
func compare(kind string, writes []*write, found, audited, keys map[string]bool) check {
	c := check{kind: kind, written: len(found)}
	expected := map[string]bool{}
	for _, w := range writes {
		if w.kind != kind {
			continue
		}
		if w.acked() {
			c.acked++
			expected[w.row()] = true
		} else {
			c.unacked++
		}
		if w.acked() != audited[w.requestID] {
			c.problems = append(c.problems, fmt.Sprintf("%s answered %s but has %s audit row", w.requestID, answer(w), presence(audited[w.requestID])))
		}
		if w.key != "" && w.acked() != keys[w.key] {
			c.problems = append(c.problems, fmt.Sprintf("%s answered %s but its Idempotency-Key is %s", w.requestID, answer(w), kept(keys[w.key])))
		}
	}
	c.expected = len(expected)
	for _, row := range difference(expected, found) {
		c.problems = append(c.problems, "acknowledged but missing: "+row)
	}
	for _, row := range difference(found, expected) {
		c.problems = append(c.problems, "written but never acknowledged: "+row)
	}
	return c
}

// row is how the database shows an acknowledged write: the id it created, or for an
// attendance "<convocation>:<attendance>:2" (the convocation's second version).
func (w *write) row() string {
	if w.kind == "attendance" {
		return fmt.Sprintf("%d:%s:2", w.target, w.value)
	}
	return fmt.Sprint(w.entityID)
}

func (w *write) id() string             { return w.requestID }
func (w *write) idempotencyKey() string { return w.key }

func answer(w *write) string {
	if w.status == 0 {
		return "nothing (transport error)"
	}
	return fmt.Sprint(w.status)
}

func presence(ok bool) string {
	if ok {
		return "an"
	}
	return "no"
}

func kept(ok bool) string {
	if ok {
		return "kept"
	}
	return "missing"
}

// ids is f of every write, without the empty ones.
func ids(writes []*write, f func(*write) string) []string {
	var out []string
	for _, w := range writes {
		if v := f(w); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// difference is the members of a missing from b, sorted.
func difference(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return slices.Clip(out)
}

// stringSet runs query and returns its one text column as a set.
func stringSet(ctx context.Context, db *sql.DB, query string, args ...any) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		set[v] = true
	}
	return set, rows.Err()
}
