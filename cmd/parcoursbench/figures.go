package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// bench is what the figures share: the server, the environment of the parcours commands and
// a scratch folder.
type bench struct {
	srv *server
	env []string
	tmp string
}

// line is one printed figure.
type line struct {
	name, unit     string
	ours, baseline float64
	target         float64
	higherIsBetter bool
}

func (l line) String() string {
	ratio := l.ours / l.baseline
	cmp, met := "<=", ratio <= l.target
	if l.higherIsBetter {
		cmp, met = ">=", ratio >= l.target
	}
	verdict := "missed"
	if met {
		verdict = "met"
	}
	return fmt.Sprintf("bench %s: ours=%.1f%s baseline=%.1f%s ratio=%.2f target=%s%.1f %s",
		l.name, l.ours, l.unit, l.baseline, l.unit, ratio, cmp, l.target, verdict)
}

func notMeasured(name, reason string) string {
	return fmt.Sprintf("bench %s: not measured (%s)", name, reason)
}

// idRange is the contiguous ids of the synthetic beneficiaries and an organisation of the
// département.
type idRange struct {
	first, count int64
	organisation int64
}

func syntheticIDs(ctx context.Context, url string) (idRange, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return idRange{}, err
	}
	defer db.Close()
	var r idRange
	var last int64
	if err := db.QueryRowContext(ctx, `SELECT min(id), max(id), count(*) FROM beneficiaries WHERE departement = '01'`).
		Scan(&r.first, &last, &r.count); err != nil {
		return r, fmt.Errorf("synthetic beneficiaries: %w", err)
	}
	if last-r.first+1 != r.count {
		return r, fmt.Errorf("synthetic beneficiary ids %d..%d are not contiguous (%d rows)", r.first, last, r.count)
	}
	err = db.QueryRowContext(ctx, `SELECT min(id) FROM organisations WHERE departement = '01'`).Scan(&r.organisation)
	return r, err
}

// benchWrite records orientation decisions through the API, each on its own beneficiary, vs
// pgbench running the decision's SQL transaction on the other beneficiaries.
func benchWrite(ctx context.Context, cfg config, b *bench) (line, error) {
	ids, err := syntheticIDs(ctx, cfg.databaseURL)
	if err != nil {
		return line{}, err
	}
	today := time.Now().Format(time.DateOnly)
	body := []byte(fmt.Sprintf(`{"route":"sociale","organisation_id":%d,"decided_on":%q,"origin":"individual"}`, ids.organisation, today))
	ours, err := load(b.srv, cfg.writes, cfg.concurrency, func(cn *conn, i int) error {
		return cn.do(http.MethodPost, fmt.Sprintf("/api/v1/beneficiaries/%d/orientations", ids.first+int64(i)), body, http.StatusCreated)
	})
	if err != nil {
		return line{}, fmt.Errorf("write: %w", err)
	}
	span := (ids.count-int64(cfg.writes))/int64(cfg.concurrency) - 1
	baseline, err := pgbench(ctx, cfg, b, writeScript, cfg.writes,
		"lo="+strconv.FormatInt(ids.first+int64(cfg.writes), 10), "span="+strconv.FormatInt(span, 10),
		"org="+strconv.FormatInt(ids.organisation, 10))
	if err != nil {
		return line{}, fmt.Errorf("write baseline: %w", err)
	}
	return line{name: "write", unit: "req/s", ours: ours, baseline: baseline, target: 0.5, higherIsBetter: true}, nil
}

// benchRead reads beneficiaries through the API vs pgbench running the row's SELECT and the
// audit row of the read.
func benchRead(ctx context.Context, cfg config, b *bench) (line, error) {
	ids, err := syntheticIDs(ctx, cfg.databaseURL)
	if err != nil {
		return line{}, err
	}
	ours, err := load(b.srv, cfg.reads, cfg.concurrency, func(cn *conn, i int) error {
		id := ids.first + int64(i)%ids.count
		return cn.do(http.MethodGet, fmt.Sprintf("/api/v1/beneficiaries/%d", id), nil, http.StatusOK)
	})
	if err != nil {
		return line{}, fmt.Errorf("read: %w", err)
	}
	baseline, err := pgbench(ctx, cfg, b, readScript, cfg.reads,
		"lo="+strconv.FormatInt(ids.first, 10), "n="+strconv.FormatInt(ids.count, 10))
	if err != nil {
		return line{}, fmt.Errorf("read baseline: %w", err)
	}
	return line{name: "read", unit: "req/s", ours: ours, baseline: baseline, target: 0.5, higherIsBetter: true}, nil
}

// writeScript is the SQL of recording an orientation decision, one plain statement per step
// of the API's transaction: the lock on the beneficiary and the checks' lookups, then, when
// there is a current decision, its supersession, its audit row and its feed event, then the
// new decision, its audit row and feed event (the feed's INSERT … SELECT of the decision's
// public fields, as services/feed writes it), and the decision with the names of its
// organisation and referent, which the API answers with. Client k only touches beneficiaries
// lo + k + 16·j, so no two clients collide.
var writeScript = `\set bid :lo + :client_id + 16 * random(0, :span)
BEGIN;
SELECT id, departement, rights_opened_on FROM beneficiaries WHERE id = :bid AND departement = '01' FOR NO KEY UPDATE;
SELECT coalesce(max(id), 0) AS prev, count(*) AS has_prev FROM orientations WHERE beneficiary_id = :bid AND current \gset
SELECT count(*) FROM organisations WHERE id = :org AND departement = '01';
\if :has_prev
UPDATE orientations SET current = false, superseded_on = CURRENT_DATE WHERE id = :prev AND current;
INSERT INTO audit_events (departement, actor, role, action, resource, resource_id) VALUES ('01', 'pgbench', 'admin', 'update', 'orientation', :prev::text);
` + outboxInsert(":prev", "updated") + `
\endif
INSERT INTO orientations (departement, beneficiary_id, route, organisation_id, decided_on, origin) VALUES ('01', :bid, 'sociale', :org, CURRENT_DATE, 'individual') RETURNING id AS new \gset
INSERT INTO audit_events (departement, actor, role, action, resource, resource_id) VALUES ('01', 'pgbench', 'admin', 'create', 'orientation', :new::text);
` + outboxInsert(":new", "created") + `
SELECT o.*, org.name, CASE WHEN r.id IS NULL THEN NULL ELSE r.first_name || ' ' || r.last_name END FROM orientations o JOIN organisations org ON org.id = o.organisation_id LEFT JOIN referents r ON r.id = o.referent_id WHERE o.id = :new;
END;
`

// outboxInsert is the feed event of orientation id (a pgbench variable), on one line.
func outboxInsert(id, action string) string {
	return "INSERT INTO outbox_events (departement, entity_id, beneficiary_id, organisation_id, territory_code, payload, entity_type, action) " +
		"SELECT o.departement, o.id, o.beneficiary_id, o.organisation_id, b.territory_code, " +
		"jsonb_build_object('id', o.id, 'beneficiary_id', o.beneficiary_id, 'route', o.route, 'organisation_id', o.organisation_id, " +
		"'referent_id', o.referent_id, 'decided_on', o.decided_on, 'notified_on', o.notified_on, 'origin', o.origin, " +
		"'convocation_id', o.convocation_id, 'current', o.current, 'superseded_on', o.superseded_on), 'orientation', '" + action + "' " +
		"FROM orientations o JOIN beneficiaries b ON b.id = o.beneficiary_id WHERE o.id = " + id + ";"
}

// readScript is the SQL of reading one beneficiary: the row and the audit row of the read.
const readScript = `\set bid :lo + random(0, :n - 1)
BEGIN;
SELECT * FROM beneficiaries WHERE id = :bid;
INSERT INTO audit_events (departement, actor, role, action, resource, resource_id) VALUES ('01', 'pgbench', 'admin', 'read', 'beneficiary', :bid::text);
END;
`

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs script n times in all on cfg.concurrency clients with prepared statements and
// returns its transactions per second.
func pgbench(ctx context.Context, cfg config, b *bench, script string, n int, vars ...string) (float64, error) {
	file := filepath.Join(b.tmp, "script.sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return 0, err
	}
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(cfg.concurrency), "-j", "2",
		"-t", strconv.Itoa(n / cfg.concurrency), "-f", file}
	for _, v := range vars {
		args = append(args, "-D", v)
	}
	out, err := exec.CommandContext(ctx, filepath.Join(cfg.pgBin, "pgbench"), append(args, cfg.databaseURL)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
