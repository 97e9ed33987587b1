// Package orientations records orientation decisions (the route, the referent organisation and
// person a beneficiary is oriented to; a new decision supersedes the current one and history
// is kept), builds a beneficiary's pathway timeline, and computes the orientation indicators of
// fiche 3.1.
package orientations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/feed"
)

const (
	resource            = "orientation"
	beneficiaryResource = "beneficiary"
)

// Orientation is a decision as the service hands it out, with the names of its organisation
// and referent.
type Orientation struct {
	ID               int64
	BeneficiaryID    int64
	Route            string
	OrganisationID   int64
	OrganisationName string
	ReferentID       *int64
	ReferentName     *string
	DecidedOn        time.Time
	NotifiedOn       *time.Time
	Origin           string
	ConvocationID    *int64
	Current          bool
	SupersededOn     *time.Time
	CreatedAt        time.Time
}

// Service records orientation decisions and reads a beneficiary's pathway.
type Service struct {
	db      *gorm.DB
	now     func() time.Time
	sources []EventSource
}

// New returns an orientation service whose timeline has the pathway's EventSources.
func New(db *gorm.DB) *Service {
	return &Service{db: db, now: time.Now, sources: EventSources}
}

// WithEventSources returns a copy of s whose timeline also shows the events of extra, so that
// later capabilities (enrolments, contracts) add their events without changing this package.
// A type that is not snake_case is a wiring bug: it panics.
func (s *Service) WithEventSources(extra ...EventSource) *Service {
	for _, src := range extra {
		if !eventTypePattern.MatchString(src.Type) {
			panic(fmt.Sprintf("orientations: event type %q is not snake_case", src.Type))
		}
	}
	out := *s
	out.sources = append(append([]EventSource{}, s.sources...), extra...)
	return &out
}

// subject is the beneficiary a request is about, as far as the rules need it.
type subject struct {
	ID             int64
	RightsOpenedOn time.Time
}

// Decide records an orientation decision for beneficiary id: the previous current decision,
// if any, is superseded on the new decision's date and kept. Administrators and agents of the
// beneficiary's territory may decide; a partner only with a convocation to a session at its
// organisation (services.ErrForbidden otherwise). A beneficiary the caller may not see is
// services.ErrNotFound; a broken rule a *services.ValidationError naming the field.
//
// A decision is the API's busiest write: its transaction sends four statements, without
// gorm's statement building: the lock on the beneficiary with every lookup of the rules
// (lookUp), the current decision (read after the lock), the supersession and insertion
// returning the decision with its names (supersedeAndInsert), and the audit rows and feed
// events of both changes (feed.Record).
func (s *Service) Decide(ctx context.Context, id int64, in Input) (Orientation, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Orientation{}, err
	}
	if !p.HasRole(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner) {
		return Orientation{}, fmt.Errorf("role %s may not record orientation decisions: %w", p.Role, services.ErrForbidden)
	}
	var v services.Validator
	in.check(&v, today(s.now()))
	if err := v.Err(); err != nil {
		return Orientation{}, err
	}
	var out Orientation
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		facts, err := lookUp(ctx, tx, p, id, in)
		if err != nil {
			return err
		}
		if p.Role == auth.RolePartner && !facts.partnerConvocation {
			return errPartnerWithoutConvocation
		}
		prev, err := currentDecision(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := facts.check(prev, in); err != nil {
			return err
		}
		if out, err = supersedeAndInsert(ctx, tx, p.Departement, id, prev, in); err != nil {
			return err
		}
		changes := []feed.Change{{Action: feed.Created, ID: out.ID}}
		if prev != nil {
			changes = []feed.Change{{Action: feed.Updated, ID: prev.id}, changes[0]}
		}
		return feed.Record(ctx, tx, feed.Orientation, changes...)
	})
	return out, err
}

// History returns the decisions of beneficiary id, newest first, one keyset page at a time,
// and audits the read of the beneficiary's record.
func (s *Service) History(ctx context.Context, id int64, page services.PageRequest) (services.Page[Orientation], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Orientation]{}, err
	}
	after, err := historyCursor(page.After)
	if err != nil {
		return services.Page[Orientation]{}, err
	}
	var out services.Page[Orientation]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if _, err := visibleSubject(tx, p, id); err != nil {
			return err
		}
		decisions, err := decisionsOf(tx, id, func(q *gorm.DB) *gorm.DB {
			if after != nil {
				q = q.Where("(o.decided_on, o.id) < (?, ?)", after.decidedOn, after.id)
			}
			return q.Order("o.decided_on DESC, o.id DESC").Limit(page.Limit + 1)
		})
		if err != nil {
			return err
		}
		out = services.PageOf(decisions, page.Limit, func(o Orientation) []string {
			return []string{o.DecidedOn.Format(time.DateOnly), strconv.FormatInt(o.ID, 10)}
		})
		return audit.Record(ctx, tx, audit.ActionRead, beneficiaryResource, strconv.FormatInt(id, 10))
	})
	return out, err
}

// position is a keyset position in a history: the decision date and id of the last item.
type position struct {
	decidedOn time.Time
	id        int64
}

func historyCursor(after []string) (*position, error) {
	if len(after) == 0 {
		return nil, nil
	}
	var v services.Validator
	var pos position
	var err error
	if len(after) == 2 {
		pos.decidedOn, err = time.Parse(time.DateOnly, after[0])
		if err == nil {
			pos.id, err = strconv.ParseInt(after[1], 10, 64)
		}
	}
	v.Check(len(after) == 2 && err == nil, "cursor", "is not a cursor this API returned")
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &pos, nil
}

// visibleSubject reads beneficiary id if p may see it (else services.ErrNotFound). What p may
// see is a subquery, so that its conditions cannot mix with these.
func visibleSubject(tx *gorm.DB, p auth.Principal, id int64) (subject, error) {
	visible, err := beneficiaries.Visible(tx.Session(&gorm.Session{NewDB: true}).Table("beneficiaries b").Select("b.id"), p)
	if err != nil {
		return subject{}, err
	}
	q := tx.Table("beneficiaries b").Select("b.id, b.rights_opened_on").
		Where("b.id = ? AND b.departement = ? AND b.id IN (?)", id, p.Departement, visible)
	var b subject
	err = models.Translate(q.Take(&b).Error)
	if errors.Is(err, models.ErrNotFound) {
		return b, fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("read beneficiary %d: %w", id, err)
	}
	return b, nil
}

// errPartnerWithoutConvocation refuses a partner's decision without a convocation to a
// session held at its organisation.
var errPartnerWithoutConvocation = fmt.Errorf("partners record orientation decisions only with a convocation to a session at their organisation: %w", services.ErrForbidden)

// facts are what the rules of a decision read in the database, read in one statement with the
// lock on the beneficiary (lookUp).
type facts struct {
	beneficiary        int64
	rightsOpenedOn     time.Time
	organisation       bool  // the organisation exists in the département
	referent           bool  // the referent exists in the département
	referentOrg        int64 // its organisation
	referentActive     bool
	convocation        bool  // the convocation exists in the département
	convocationOf      int64 // its beneficiary
	partnerConvocation bool  // the convocation is to a session at the partner's organisation
}

// lookUp locks beneficiary id against concurrent decisions if p may see it (else
// services.ErrNotFound), so that two decisions for one person are taken one after the other,
// and reads in the same statement what the rules check about the organisation, referent and
// convocation of in. What p may see is a subquery, so that its conditions cannot mix with
// these.
func lookUp(ctx context.Context, tx *gorm.DB, p auth.Principal, id int64, in Input) (facts, error) {
	visible, visibleArgs, err := beneficiaries.VisibleSQL(p, 7)
	if err != nil {
		return facts{}, err
	}
	partnerOrg, _ := beneficiaries.OrganisationOf(p)
	var f facts
	err = tx.Statement.ConnPool.QueryRowContext(ctx, `SELECT b.id, b.rights_opened_on,
			EXISTS (SELECT 1 FROM organisations org WHERE org.id = $3 AND org.departement = $2),
			r.id IS NOT NULL, coalesce(r.organisation_id, 0), coalesce(r.active, false),
			c.id IS NOT NULL, coalesce(c.beneficiary_id, 0),
			EXISTS (SELECT 1 FROM orientation_sessions s WHERE s.id = c.session_id AND s.site_organisation_id = $6)
		FROM beneficiaries b
		LEFT JOIN referents r ON r.id = $4 AND r.departement = $2
		LEFT JOIN convocations c ON c.id = $5 AND c.departement = $2
		WHERE b.id = $1 AND b.departement = $2 AND b.id IN (SELECT b.id FROM beneficiaries b WHERE `+visible+`)
		FOR NO KEY UPDATE OF b`,
		append([]any{id, p.Departement, *in.OrganisationID, in.ReferentID, in.ConvocationID, partnerOrg}, visibleArgs...)...,
	).Scan(&f.beneficiary, &f.rightsOpenedOn, &f.organisation, &f.referent, &f.referentOrg, &f.referentActive,
		&f.convocation, &f.convocationOf, &f.partnerConvocation)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("read beneficiary %d: %w", id, err)
	}
	return f, nil
}

// current is the current decision of a beneficiary, as far as a new one needs it.
type current struct {
	id        int64
	decidedOn time.Time
}

// currentDecision returns the current decision of beneficiary id, or nil. Read after the lock
// on the beneficiary, it sees any decision committed while the lock was awaited.
func currentDecision(ctx context.Context, tx *gorm.DB, id int64) (*current, error) {
	var c current
	err := tx.Statement.ConnPool.QueryRowContext(ctx, `SELECT id, decided_on FROM orientations WHERE beneficiary_id = $1 AND current`, id).
		Scan(&c.id, &c.decidedOn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the current decision of beneficiary %d: %w", id, err)
	}
	return &c, nil
}

// check applies the rules that read the database, naming every bad field: the decision is
// not dated before the rights opened nor before the current decision; the organisation,
// referent and convocation exist in the département; the referent is an active member of the
// organisation; the convocation is this beneficiary's.
func (f facts) check(prev *current, in Input) error {
	var v services.Validator
	decided := *in.DecidedOn
	v.Check(!decided.Before(f.rightsOpenedOn), "decided_on",
		"must not be before the rights opened ("+f.rightsOpenedOn.Format(time.DateOnly)+")")
	if prev != nil {
		v.Check(!decided.Before(prev.decidedOn), "decided_on",
			"must not be before the current decision ("+prev.decidedOn.Format(time.DateOnly)+"), which it supersedes")
	}
	v.Check(f.organisation, "organisation_id", "no organisation "+strconv.FormatInt(*in.OrganisationID, 10))
	if in.ReferentID != nil {
		switch {
		case !f.referent:
			v.Check(false, "referent_id", "no referent "+strconv.FormatInt(*in.ReferentID, 10))
		case f.referentOrg != *in.OrganisationID:
			v.Check(false, "referent_id", "belongs to another organisation than organisation_id")
		default:
			v.Check(f.referentActive, "referent_id", "is no longer active")
		}
	}
	if in.ConvocationID != nil {
		switch {
		case !f.convocation:
			v.Check(false, "convocation_id", "no convocation "+strconv.FormatInt(*in.ConvocationID, 10))
		default:
			v.Check(f.convocationOf == f.beneficiary, "convocation_id", "is the convocation of another beneficiary")
		}
	}
	return v.Err()
}

// supersedeAndInsert marks prev (if any) superseded on the new decision's date and inserts
// the new current decision, in one statement that returns it with the names of its
// organisation and referent. The insertion reads the whole result of the supersession first,
// so that the one current decision the unique index allows has been set aside by then.
func supersedeAndInsert(ctx context.Context, tx *gorm.DB, departement string, beneficiaryID int64, prev *current, in Input) (Orientation, error) {
	var prevID *int64
	if prev != nil {
		prevID = &prev.id
	}
	var r decisionRow
	err := tx.Statement.ConnPool.QueryRowContext(ctx, `WITH superseded AS (
			UPDATE orientations SET current = false, superseded_on = $6 WHERE id = $10 AND current RETURNING id
		), o AS (
			INSERT INTO orientations (departement, beneficiary_id, route, organisation_id, referent_id, decided_on,
				notified_on, origin, convocation_id, current)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, true FROM (SELECT count(*) FROM superseded) AS supersession
			RETURNING *
		)
		SELECT `+decisionColumns+` FROM o `+decisionJoins,
		departement, beneficiaryID, *in.Route, *in.OrganisationID, in.ReferentID, *in.DecidedOn,
		in.NotifiedOn, *in.Origin, in.ConvocationID, prevID,
	).Scan(r.fields()...)
	err = models.Translate(err)
	if errors.Is(err, models.ErrDuplicate) {
		return Orientation{}, fmt.Errorf("another decision for beneficiary %d was recorded at the same time; read the history and retry: %w", beneficiaryID, services.ErrConflict)
	}
	if err != nil {
		return Orientation{}, fmt.Errorf("record the orientation of beneficiary %d: %w", beneficiaryID, err)
	}
	return toOrientation(r), nil
}

// decisionColumns are the columns of a decision (orientations o) with the names of its
// organisation and referent (decisionJoins), in the order of decisionRow.fields.
const decisionColumns = `o.id, o.departement, o.beneficiary_id, o.route, o.organisation_id, o.referent_id, o.decided_on,
	o.notified_on, o.origin, o.convocation_id, o.current, o.superseded_on, o.created_at,
	org.name AS organisation_name, CASE WHEN r.id IS NULL THEN NULL ELSE r.first_name || ' ' || r.last_name END AS referent_name`

// decisionJoins bring the organisation and referent of a decision o.
const decisionJoins = `JOIN organisations org ON org.id = o.organisation_id LEFT JOIN referents r ON r.id = o.referent_id`

// decisionRow is a decision with the names of its organisation and referent.
type decisionRow struct {
	models.Orientation
	OrganisationName string
	ReferentName     *string
}

// fields are the destinations of decisionColumns.
func (r *decisionRow) fields() []any {
	o := &r.Orientation
	return []any{&o.ID, &o.Departement, &o.BeneficiaryID, &o.Route, &o.OrganisationID, &o.ReferentID, &o.DecidedOn,
		&o.NotifiedOn, &o.Origin, &o.ConvocationID, &o.Current, &o.SupersededOn, &o.CreatedAt,
		&r.OrganisationName, &r.ReferentName}
}

// decisionsOf reads the decisions of beneficiary id that narrow selects, with names.
func decisionsOf(tx *gorm.DB, id int64, narrow func(*gorm.DB) *gorm.DB) ([]Orientation, error) {
	q := tx.Table("orientations o").Select(decisionColumns).Joins(decisionJoins).Where("o.beneficiary_id = ?", id)
	var rows []decisionRow
	if err := narrow(q).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read the orientations of beneficiary %d: %w", id, err)
	}
	out := make([]Orientation, len(rows))
	for i, r := range rows {
		out[i] = toOrientation(r)
	}
	return out, nil
}

func toOrientation(r decisionRow) Orientation {
	return Orientation{
		ID: r.ID, BeneficiaryID: r.BeneficiaryID, Route: r.Route, OrganisationID: r.OrganisationID,
		OrganisationName: r.OrganisationName, ReferentID: r.ReferentID, ReferentName: r.ReferentName,
		DecidedOn: r.DecidedOn, NotifiedOn: r.NotifiedOn, Origin: r.Origin, ConvocationID: r.ConvocationID,
		Current: r.Current, SupersededOn: r.SupersededOn, CreatedAt: r.CreatedAt,
	}
}
