// Package sessions runs the orientation platforms: sessions at a site where new entrants meet
// an employment and a social professional, the convocations to them, attendance, catch-up
// appointments, formal notices after an unexcused absence, and the summary of a session.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the sessions' dates are read in Europe/Paris on any host

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/organisations"
)

const (
	sessionResource     = "orientation_session"
	maxProfessionalName = 200
	maxCapacity         = 500
)

// Local is the time zone of the département's calendar: a session's date is its local date.
var Local = mustLoadLocation("Europe/Paris")

// rsaStart bounds the dates of the pathway: the rSa replaced the RMI on 1 June 2009.
var rsaStart = time.Date(2009, 6, 1, 0, 0, 0, 0, time.UTC)

// Session is an orientation platform session, with the number of people convoked to it.
type Session struct {
	ID                     int64
	TerritoryCode          string
	SiteOrganisationID     int64
	StartsAt               time.Time
	Capacity               int
	EmploymentProfessional string
	SocialProfessional     string
	Convoked               int
	Version                int
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// LocalDate is the calendar date (midnight UTC) of instant t in Local.
func LocalDate(t time.Time) time.Time {
	y, m, d := t.In(Local).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// SessionInput creates a session; every field is required.
type SessionInput struct {
	TerritoryCode          *string
	SiteOrganisationID     *int64
	StartsAt               *time.Time
	Capacity               *int
	EmploymentProfessional *string
	SocialProfessional     *string
}

// Validate checks the input's own rules without normalizing the caller's copy.
func (in SessionInput) Validate(bool) error {
	var v services.Validator
	in.normalize(&v)
	return v.Err()
}

func (in *SessionInput) normalize(v *services.Validator) {
	if in.TerritoryCode != nil {
		code := strings.ToUpper(strings.TrimSpace(*in.TerritoryCode))
		in.TerritoryCode = &code
	}
	services.CheckText(v, "territory_code", in.TerritoryCode, 32)
	v.Check(in.SiteOrganisationID != nil, "site_organisation_id", "is required")
	v.Check(in.SiteOrganisationID == nil || *in.SiteOrganisationID > 0, "site_organisation_id", "must be a positive id")
	v.Check(in.StartsAt != nil, "starts_at", "is required")
	v.Check(in.StartsAt == nil || (!in.StartsAt.Before(rsaStart) && in.StartsAt.Year() <= 2100), "starts_at", "must be an instant from 2009-06-01 (the rSa) to 2100")
	v.Check(in.Capacity != nil, "capacity", "is required")
	v.Check(in.Capacity == nil || (*in.Capacity >= 1 && *in.Capacity <= maxCapacity), "capacity", fmt.Sprintf("must be from 1 to %d", maxCapacity))
	for _, f := range []struct {
		field string
		value **string
	}{{"employment_professional", &in.EmploymentProfessional}, {"social_professional", &in.SocialProfessional}} {
		if *f.value != nil {
			trimmed := strings.TrimSpace(**f.value)
			*f.value = &trimmed
		}
		services.CheckText(v, f.field, *f.value, maxProfessionalName)
	}
}

// Filter narrows List.
type Filter struct {
	Territory string     // a territory code, or "" for all the caller may see
	From, To  *time.Time // calendar dates, inclusive, of the sessions' local date
	Page      services.PageRequest
}

// Service reads and writes orientation sessions and their convocations.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns a session service over db.
func New(db *gorm.DB) *Service { return &Service{db: db, now: time.Now} }

// Visible restricts q, a query over orientation_sessions aliased s, to the sessions p may see:
// its département; for an agent, its territories; for a partner, the sessions its organisation
// hosts. Administrators and managers see them all: a session holds no nominative data.
func Visible(q *gorm.DB, p auth.Principal) *gorm.DB {
	q = q.Where("s.departement = ?", p.Departement)
	switch p.Role {
	case auth.RoleAgent:
		return q.Where("s.territory_code IN ?", p.Territories)
	case auth.RolePartner:
		org, ok := beneficiaries.OrganisationOf(p)
		if !ok {
			return q.Where("false")
		}
		return q.Where("s.site_organisation_id = ?", org)
	default:
		return q
	}
}

// sessionRow is a session with its number of convocations.
type sessionRow struct {
	models.OrientationSession
	Convoked int
}

const sessionColumns = "s.*, (SELECT count(*) FROM convocations c WHERE c.session_id = s.id) AS convoked"

// Create adds a session and audits it. Agents create sessions of their own territories only.
func (s *Service) Create(ctx context.Context, in SessionInput) (Session, error) {
	p, err := caseWriter(ctx)
	if err != nil {
		return Session{}, err
	}
	var v services.Validator
	in.normalize(&v)
	if err := v.Err(); err != nil {
		return Session{}, err
	}
	if p.Role == auth.RoleAgent && !slices.Contains(p.Territories, *in.TerritoryCode) {
		return Session{}, fmt.Errorf("territory %s is not one of yours: %w", *in.TerritoryCode, services.ErrForbidden)
	}
	row := models.OrientationSession{Departement: p.Departement, TerritoryCode: *in.TerritoryCode, SiteOrganisationID: *in.SiteOrganisationID,
		StartsAt: in.StartsAt.UTC(), Capacity: *in.Capacity, EmploymentProfessional: *in.EmploymentProfessional,
		SocialProfessional: *in.SocialProfessional, Version: 1}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := checkReferences(tx, row); err != nil {
			return err
		}
		return services.Insert(ctx, tx, &row, &row.ID, sessionResource, "orientation session")
	})
	if err != nil {
		return Session{}, err
	}
	return sessionFromRow(sessionRow{OrientationSession: row}), nil
}

// Get returns session id if the caller may see it (else services.ErrNotFound).
func (s *Service) Get(ctx context.Context, id int64) (Session, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Session{}, err
	}
	var rows []sessionRow
	if err := Visible(services.Conn(ctx, s.db).Table("orientation_sessions s").Select(sessionColumns), p).
		Where("s.id = ?", id).Scan(&rows).Error; err != nil {
		return Session{}, fmt.Errorf("read orientation session %d: %w", id, err)
	}
	if len(rows) == 0 {
		return Session{}, fmt.Errorf("orientation session %d: %w", id, services.ErrNotFound)
	}
	return sessionFromRow(rows[0]), nil
}

// List returns the sessions the caller may see by start time, one keyset page at a time.
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Session], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Session]{}, err
	}
	q := Visible(services.Conn(ctx, s.db).Table("orientation_sessions s").Select(sessionColumns), p)
	if f.Territory != "" {
		q = q.Where("s.territory_code = ?", f.Territory)
	}
	if f.From != nil {
		q = q.Where("s.starts_at >= ?", localMidnight(*f.From))
	}
	if f.To != nil {
		q = q.Where("s.starts_at < ?", localMidnight(f.To.AddDate(0, 0, 1)))
	}
	if len(f.Page.After) > 0 {
		at, id, err := sessionCursor(f.Page.After)
		if err != nil {
			return services.Page[Session]{}, err
		}
		q = q.Where("(s.starts_at, s.id) > (?, ?)", at, id)
	}
	var rows []sessionRow
	if err := q.Order("s.starts_at, s.id").Limit(f.Page.Limit + 1).Scan(&rows).Error; err != nil {
		return services.Page[Session]{}, fmt.Errorf("list orientation sessions: %w", err)
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		out[i] = sessionFromRow(r)
	}
	return services.PageOf(out, f.Page.Limit, func(s Session) []string {
		return []string{s.StartsAt.UTC().Format(time.RFC3339Nano), strconv.FormatInt(s.ID, 10)}
	}), nil
}

// Summary counts a session's convocations by outcome, in one SQL query.
type Summary struct {
	SessionID     int64
	Convoked      int
	Present       int
	Excused       int
	NoShow        int
	CaughtUp      int // no-shows and excused whose catch-up appointment was attended
	FormalNotices int
	// OrientationsByRoute counts the current orientations decided on the session's
	// convocations, with every route present.
	OrientationsByRoute map[string]int
}

// Summary returns the figures of session id if the caller may see the session. It names no
// one, so managers may read it.
func (s *Service) Summary(ctx context.Context, id int64) (Summary, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Summary{}, err
	}
	var rows []struct {
		Convoked, Present, Excused, NoShow, CaughtUp, FormalNotices int
		Professionnelle, SocioProfessionnelle, Sociale              int
	}
	q := Visible(services.Conn(ctx, s.db).Table("orientation_sessions s").Select(`
			count(c.id) AS convoked,
			count(*) FILTER (WHERE c.attendance = 'present') AS present,
			count(*) FILTER (WHERE c.attendance = 'excused') AS excused,
			count(*) FILTER (WHERE c.attendance = 'no_show') AS no_show,
			count(*) FILTER (WHERE c.attendance IN ('no_show', 'excused') AND c.catch_up_attended) AS caught_up,
			count(f.id) AS formal_notices,
			count(*) FILTER (WHERE o.route = 'professionnelle') AS professionnelle,
			count(*) FILTER (WHERE o.route = 'socio_professionnelle') AS socio_professionnelle,
			count(*) FILTER (WHERE o.route = 'sociale') AS sociale`).
		Joins("LEFT JOIN convocations c ON c.session_id = s.id").
		Joins("LEFT JOIN formal_notices f ON f.convocation_id = c.id").
		Joins("LEFT JOIN orientations o ON o.convocation_id = c.id AND o.current"), p)
	if err := q.Where("s.id = ?", id).Group("s.id").Scan(&rows).Error; err != nil {
		return Summary{}, fmt.Errorf("summarise orientation session %d: %w", id, err)
	}
	if len(rows) == 0 {
		return Summary{}, fmt.Errorf("orientation session %d: %w", id, services.ErrNotFound)
	}
	r := rows[0]
	return Summary{SessionID: id, Convoked: r.Convoked, Present: r.Present, Excused: r.Excused, NoShow: r.NoShow,
		CaughtUp: r.CaughtUp, FormalNotices: r.FormalNotices, OrientationsByRoute: map[string]int{
			"professionnelle": r.Professionnelle, "socio_professionnelle": r.SocioProfessionnelle, "sociale": r.Sociale,
		}}, nil
}

// checkReferences refuses a territory or a site organisation the département does not have.
func checkReferences(tx *gorm.DB, row models.OrientationSession) error {
	var v services.Validator
	var n int64
	if err := tx.Model(&models.Territory{}).Where("departement = ? AND code = ?", row.Departement, row.TerritoryCode).Count(&n).Error; err != nil {
		return fmt.Errorf("look for territory %s: %w", row.TerritoryCode, err)
	}
	v.Check(n > 0, "territory_code", "no territory "+row.TerritoryCode)
	_, err := organisations.Find(tx, row.Departement, row.SiteOrganisationID)
	if err != nil && !errors.Is(err, services.ErrNotFound) {
		return err
	}
	v.Check(err == nil, "site_organisation_id", fmt.Sprintf("no organisation %d", row.SiteOrganisationID))
	return v.Err()
}

// caseWriter returns the caller if it may write convocations and sessions: administrators
// and agents.
func caseWriter(ctx context.Context) (auth.Principal, error) {
	return callerWith(ctx, "write orientation sessions and convocations", auth.RoleAdmin, auth.RoleAgent)
}

// callerWith returns the caller if it holds one of roles, else services.ErrForbidden saying
// it may not do what.
func callerWith(ctx context.Context, what string, roles ...auth.Role) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && !p.HasRole(roles...) {
		err = fmt.Errorf("role %s may not %s: %w", p.Role, what, services.ErrForbidden)
	}
	return p, err
}

func sessionCursor(after []string) (time.Time, int64, error) {
	bad := &services.ValidationError{Fields: []services.FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}}}
	if len(after) != 2 {
		return time.Time{}, 0, bad
	}
	at, err := time.Parse(time.RFC3339Nano, after[0])
	if err != nil {
		return time.Time{}, 0, bad
	}
	id, err := strconv.ParseInt(after[1], 10, 64)
	if err != nil {
		return time.Time{}, 0, bad
	}
	return at, id, nil
}

// localMidnight is the instant day (a calendar date) begins in Local.
func localMidnight(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, Local)
}

func sessionFromRow(r sessionRow) Session {
	return Session{ID: r.ID, TerritoryCode: r.TerritoryCode, SiteOrganisationID: r.SiteOrganisationID, StartsAt: r.StartsAt,
		Capacity: r.Capacity, EmploymentProfessional: r.EmploymentProfessional, SocialProfessional: r.SocialProfessional,
		Convoked: r.Convoked, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("sessions: time zone %s: %v", name, err)) // embedded by time/tzdata
	}
	return loc
}
