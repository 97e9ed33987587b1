package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"parcours/cmd/internal/parcoursproc"
)

// departement is the synthetic département the load runs in (the first `seed synthetic`
// makes); its territories are 01-T1 … 01-T8.
const departement = "01"

// partnerShare is the request rate one partner token gets at most, below the server's
// default per-client limit (PARCOURS_PARTNER_RATE=10) so that the partners never see a 429.
const partnerShare = 5.0

// fixtures is what the traffic needs: tokens per role and the rows to act on.
type fixtures struct {
	admin, agent, manager string
	partners              []string // one token per partner API client (subject)
	poleEmploi            int64    // the partners' organisation, site of the sessions
	decidedOn             string   // the date of every orientation decision of the run
	beneficiaries         []int64  // every beneficiary of the département
	convocable            []int64  // beneficiaries with no open convocation, each convoked once
	partnerVisible        []int64  // beneficiaries the partners may read
	sessions              []int64  // sessions created for the run, started yesterday
	sentOn                string   // the sent_on of every convocation
}

// newFixtures mints the tokens, reads the rows to act on from db and creates the sessions the
// convocations go to (through the API, as the admin).
func newFixtures(ctx context.Context, bin string, env []string, db *sql.DB, base string, partners, sessions int, ttl time.Duration) (*fixtures, error) {
	fx := &fixtures{decidedOn: time.Now().UTC().Format(time.DateOnly)}
	if err := db.QueryRowContext(ctx, `SELECT min(id) FROM organisations WHERE departement = $1 AND kind = 'pole_emploi'`,
		departement).Scan(&fx.poleEmploi); err != nil {
		return nil, fmt.Errorf("the Pôle emploi organisation: %w", err)
	}
	if err := fx.mintTokens(ctx, bin, env, partners, ttl); err != nil {
		return nil, err
	}
	lists := []struct {
		into  *[]int64
		query string
	}{
		{&fx.beneficiaries, `SELECT id FROM beneficiaries WHERE departement = $1 ORDER BY id`},
		{&fx.convocable, `SELECT b.id FROM beneficiaries b WHERE b.departement = $1 AND NOT EXISTS
			(SELECT 1 FROM convocations c WHERE c.beneficiary_id = b.id AND c.attendance IS NULL) ORDER BY b.id DESC`},
		{&fx.partnerVisible, `SELECT DISTINCT beneficiary_id FROM orientations WHERE departement = $1 AND organisation_id = ` +
			fmt.Sprint(fx.poleEmploi) + ` ORDER BY beneficiary_id`},
	}
	for _, l := range lists {
		ids, err := int64s(ctx, db, l.query, departement)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("no rows for %q: was the database seeded?", l.query)
		}
		*l.into = ids
	}
	return fx, fx.createSessions(ctx, base, sessions)
}

// mintTokens asks `parcours token` for a token per role, and one per partner client.
func (fx *fixtures) mintTokens(ctx context.Context, bin string, env []string, partners int, ttl time.Duration) error {
	territories := make([]string, 8)
	for i := range territories {
		territories[i] = fmt.Sprintf("%s-T%d", departement, i+1)
	}
	mint := func(args ...string) (string, error) {
		out, err := parcoursproc.Run(ctx, bin, env, append([]string{"token", "--ttl", ttl.String()}, args...)...)
		return strings.TrimSpace(out), err
	}
	var err error
	if fx.admin, err = mint("--role", "admin", "--sub", "load-admin"); err != nil {
		return err
	}
	if fx.agent, err = mint("--role", "agent", "--sub", "load-agent", "--territories", strings.Join(territories, ",")); err != nil {
		return err
	}
	if fx.manager, err = mint("--role", "manager", "--sub", "load-manager"); err != nil {
		return err
	}
	for i := range partners {
		token, err := mint("--role", "partner", "--sub", fmt.Sprintf("load-partner-%d", i+1), "--org", fmt.Sprint(fx.poleEmploi))
		if err != nil {
			return err
		}
		fx.partners = append(fx.partners, token)
	}
	return nil
}

// sessionCapacity is the places of each session of the run (the most a session may have).
const sessionCapacity = 500

// createSessions creates n orientation sessions at the Pôle emploi site that started
// yesterday morning, so that attendance may be recorded; convocations were sent a week
// before.
func (fx *fixtures) createSessions(ctx context.Context, base string, n int) error {
	y, m, d := time.Now().UTC().AddDate(0, 0, -1).Date()
	startsAt := time.Date(y, m, d, 8, 0, 0, 0, time.UTC)
	fx.sentOn = startsAt.AddDate(0, 0, -7).Format(time.DateOnly)
	for i := range n {
		body := fmt.Sprintf(`{"territory_code":"%s-T%d","site_organisation_id":%d,"starts_at":%q,"capacity":%d,
			"employment_professional":"Conseiller·e charge","social_professional":"Travailleur·se social·e charge"}`,
			departement, i%8+1, fx.poleEmploi, startsAt.Format(time.RFC3339), sessionCapacity)
		var created struct {
			ID int64 `json:"id"`
		}
		if err := call(ctx, base, fx.admin, http.MethodPost, "/api/v1/orientation-sessions", body, http.StatusCreated, &created); err != nil {
			return fmt.Errorf("create session %d: %w", i+1, err)
		}
		fx.sessions = append(fx.sessions, created.ID)
	}
	return nil
}

// call sends one request with token and decodes the answer into out; a status other than
// want is an error.
func call(ctx context.Context, base, token, method, path, body string, want int, out any) error {
	raw, err := parcoursproc.Call(ctx, http.DefaultClient, method, base+path, token, []byte(body), want)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(bytes.NewReader(raw)).Decode(out)
}

// int64s runs query and returns its one column.
func int64s(ctx context.Context, db *sql.DB, query string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
