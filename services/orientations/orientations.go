// Package orientations records orientation decisions (the route, the referent organisation and
// person a beneficiary is oriented to; a new decision supersedes the current one and history
// is kept), builds a beneficiary's pathway timeline, and computes the orientation indicators of
// fiche 3.1.
package orientations

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
		b, err := visibleSubject(tx, p, id, true)
		if err != nil {
			return err
		}
		if err := checkPartnerConvocation(tx, p, in.ConvocationID); err != nil {
			return err
		}
		prev, err := currentDecision(tx, b.ID)
		if err != nil {
			return err
		}
		if err := checkAgainstRecords(tx, p.Departement, b, prev, in); err != nil {
			return err
		}
		row, err := supersedeAndInsert(ctx, tx, p.Departement, b.ID, prev, in)
		if err != nil {
			return err
		}
		decisions, err := decisionsOf(tx, b.ID, func(q *gorm.DB) *gorm.DB { return q.Where("o.id = ?", row.ID) })
		if err != nil {
			return err
		}
		out = decisions[0]
		return nil
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
		if _, err := visibleSubject(tx, p, id, false); err != nil {
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

// visibleSubject reads beneficiary id if p may see it, locking it against concurrent
// decisions when lock is set, so that two decisions for one person are taken one after the
// other. What p may see is a subquery, so that its conditions cannot mix with these.
func visibleSubject(tx *gorm.DB, p auth.Principal, id int64, lock bool) (subject, error) {
	visible, err := beneficiaries.Visible(tx.Session(&gorm.Session{NewDB: true}).Table("beneficiaries b").Select("b.id"), p)
	if err != nil {
		return subject{}, err
	}
	q := tx.Table("beneficiaries b").Select("b.id, b.rights_opened_on").
		Where("b.id = ? AND b.departement = ? AND b.id IN (?)", id, p.Departement, visible)
	if lock {
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE", Table: clause.Table{Name: "b"}})
	}
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

// checkPartnerConvocation lets a partner decide only with a convocation to a session held at
// its organisation; other roles pass.
func checkPartnerConvocation(tx *gorm.DB, p auth.Principal, convocationID *int64) error {
	if p.Role != auth.RolePartner {
		return nil
	}
	org, ok := beneficiaries.OrganisationOf(p)
	if ok && convocationID != nil {
		var n int64
		err := tx.Table("convocations c").Joins("JOIN orientation_sessions s ON s.id = c.session_id").
			Where("c.id = ? AND c.departement = ? AND s.site_organisation_id = ?", *convocationID, p.Departement, org).
			Count(&n).Error
		if err != nil {
			return fmt.Errorf("read convocation %d: %w", *convocationID, err)
		}
		if n > 0 {
			return nil
		}
	}
	return fmt.Errorf("partners record orientation decisions only with a convocation to a session at their organisation: %w", services.ErrForbidden)
}

// currentDecision returns the current decision of beneficiary id, or nil.
func currentDecision(tx *gorm.DB, id int64) (*models.Orientation, error) {
	var rows []models.Orientation
	if err := tx.Where("beneficiary_id = ? AND current", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read the current decision of beneficiary %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// checkAgainstRecords applies the rules that read the database, naming every bad field: the
// decision is not dated before the rights opened nor before the current decision; the
// organisation, referent and convocation exist in the département; the referent is an active
// member of the organisation; the convocation is this beneficiary's.
func checkAgainstRecords(tx *gorm.DB, departement string, b subject, prev *models.Orientation, in Input) error {
	var v services.Validator
	decided := *in.DecidedOn
	v.Check(!decided.Before(b.RightsOpenedOn), "decided_on",
		"must not be before the rights opened ("+b.RightsOpenedOn.Format(time.DateOnly)+")")
	if prev != nil {
		v.Check(!decided.Before(prev.DecidedOn), "decided_on",
			"must not be before the current decision ("+prev.DecidedOn.Format(time.DateOnly)+"), which it supersedes")
	}
	var orgs int64
	if err := tx.Model(&models.Organisation{}).Where("id = ? AND departement = ?", *in.OrganisationID, departement).Count(&orgs).Error; err != nil {
		return fmt.Errorf("read organisation %d: %w", *in.OrganisationID, err)
	}
	v.Check(orgs > 0, "organisation_id", "no organisation "+strconv.FormatInt(*in.OrganisationID, 10))
	if in.ReferentID != nil {
		if err := checkReferent(tx, &v, departement, *in.ReferentID, *in.OrganisationID); err != nil {
			return err
		}
	}
	if in.ConvocationID != nil {
		if err := checkConvocation(tx, &v, departement, *in.ConvocationID, b.ID); err != nil {
			return err
		}
	}
	return v.Err()
}

func checkReferent(tx *gorm.DB, v *services.Validator, departement string, id, organisationID int64) error {
	var refs []models.Referent
	if err := tx.Where("id = ? AND departement = ?", id, departement).Limit(1).Find(&refs).Error; err != nil {
		return fmt.Errorf("read referent %d: %w", id, err)
	}
	switch {
	case len(refs) == 0:
		v.Check(false, "referent_id", "no referent "+strconv.FormatInt(id, 10))
	case refs[0].OrganisationID != organisationID:
		v.Check(false, "referent_id", "belongs to another organisation than organisation_id")
	default:
		v.Check(refs[0].Active, "referent_id", "is no longer active")
	}
	return nil
}

func checkConvocation(tx *gorm.DB, v *services.Validator, departement string, id, beneficiaryID int64) error {
	var convs []models.Convocation
	if err := tx.Where("id = ? AND departement = ?", id, departement).Limit(1).Find(&convs).Error; err != nil {
		return fmt.Errorf("read convocation %d: %w", id, err)
	}
	switch {
	case len(convs) == 0:
		v.Check(false, "convocation_id", "no convocation "+strconv.FormatInt(id, 10))
	default:
		v.Check(convs[0].BeneficiaryID == beneficiaryID, "convocation_id", "is the convocation of another beneficiary")
	}
	return nil
}

// supersedeAndInsert marks prev (if any) superseded on the new decision's date, inserts the
// new current decision and audits both.
func supersedeAndInsert(ctx context.Context, tx *gorm.DB, departement string, beneficiaryID int64, prev *models.Orientation, in Input) (models.Orientation, error) {
	row := models.Orientation{
		Departement: departement, BeneficiaryID: beneficiaryID, Route: *in.Route, OrganisationID: *in.OrganisationID,
		ReferentID: in.ReferentID, DecidedOn: *in.DecidedOn, NotifiedOn: in.NotifiedOn, Origin: *in.Origin,
		ConvocationID: in.ConvocationID, Current: true,
	}
	if prev != nil {
		if err := tx.Model(&models.Orientation{}).Where("id = ? AND current", prev.ID).
			Updates(map[string]any{"current": false, "superseded_on": row.DecidedOn}).Error; err != nil {
			return row, fmt.Errorf("supersede orientation %d: %w", prev.ID, err)
		}
		if err := audit.Record(ctx, tx, audit.ActionUpdate, resource, strconv.FormatInt(prev.ID, 10)); err != nil {
			return row, err
		}
		if err := feed.Append(tx, feed.Orientation, feed.Updated, prev.ID); err != nil {
			return row, err
		}
	}
	err := models.Translate(tx.Omit("ID", "CreatedAt").Clauses(clause.Returning{}).Create(&row).Error)
	if errors.Is(err, models.ErrDuplicate) {
		return row, fmt.Errorf("another decision for beneficiary %d was recorded at the same time; read the history and retry: %w", beneficiaryID, services.ErrConflict)
	}
	if err != nil {
		return row, fmt.Errorf("record the orientation of beneficiary %d: %w", beneficiaryID, err)
	}
	if err := audit.Record(ctx, tx, audit.ActionCreate, resource, strconv.FormatInt(row.ID, 10)); err != nil {
		return row, err
	}
	return row, feed.Append(tx, feed.Orientation, feed.Created, row.ID)
}

// decisionRow is a decision with the names of its organisation and referent.
type decisionRow struct {
	models.Orientation
	OrganisationName string
	ReferentName     *string
}

// decisionsOf reads the decisions of beneficiary id that narrow selects, with names.
func decisionsOf(tx *gorm.DB, id int64, narrow func(*gorm.DB) *gorm.DB) ([]Orientation, error) {
	q := tx.Table("orientations o").
		Select(`o.*, org.name AS organisation_name,
			CASE WHEN r.id IS NULL THEN NULL ELSE r.first_name || ' ' || r.last_name END AS referent_name`).
		Joins("JOIN organisations org ON org.id = o.organisation_id").
		Joins("LEFT JOIN referents r ON r.id = o.referent_id").
		Where("o.beneficiary_id = ?", id)
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
