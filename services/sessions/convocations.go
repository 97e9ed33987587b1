package sessions

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	convocationResource  = "convocation"
	formalNoticeResource = "formal_notice"
)

// Attendances a convocation may record.
const (
	Present = "present"
	Excused = "excused"
	NoShow  = "no_show"
)

// Attendances lists the attendances, in the order of the summary.
var Attendances = []string{Present, Excused, NoShow}

// Outcomes of a formal notice.
var Outcomes = []string{"answered", "unanswered", "sanction_proposed"}

// Convocation invites a beneficiary to a session; it carries the attendance, the catch-up
// appointment and the formal notice, if any.
type Convocation struct {
	ID              int64
	SessionID       int64
	BeneficiaryID   int64
	SentOn          time.Time
	Attendance      *string
	CatchUpOn       *time.Time
	CatchUpAttended *bool
	FormalNotice    *FormalNotice
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// FormalNotice is the mise en demeure sent after an unexcused absence.
type FormalNotice struct {
	ID               int64
	ConvocationID    int64
	BeneficiaryID    int64
	IssuedOn         time.Time
	ResponseDeadline time.Time
	Outcome          *string
	Version          int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ConvocationInput convokes a beneficiary; both fields are required.
type ConvocationInput struct {
	BeneficiaryID *int64
	SentOn        *time.Time
}

// Validate checks the input's own rules.
func (in ConvocationInput) Validate(bool) error {
	var v services.Validator
	v.Check(in.BeneficiaryID != nil, "beneficiary_id", "is required")
	v.Check(in.BeneficiaryID == nil || *in.BeneficiaryID > 0, "beneficiary_id", "must be a positive id")
	checkDate(&v, "sent_on", in.SentOn)
	return v.Err()
}

// CatchUpInput records the catch-up appointment of an absent person.
type CatchUpInput struct {
	Date     *time.Time
	Attended *bool // nil until known
}

// Validate checks the input's own rules against today's date.
func (in CatchUpInput) Validate(bool) error { return in.validate(LocalDate(time.Now())) }

func (in CatchUpInput) validate(today time.Time) error {
	var v services.Validator
	checkDate(&v, "date", in.Date)
	v.Check(in.Attended == nil || in.Date == nil || !in.Date.After(today), "attended", "cannot be known before the appointment's date")
	return v.Err()
}

// FormalNoticeInput issues a formal notice.
type FormalNoticeInput struct {
	IssuedOn         *time.Time
	ResponseDeadline *time.Time
	Outcome          *string // optional
}

// Validate checks the input's own rules.
func (in FormalNoticeInput) Validate(bool) error {
	var v services.Validator
	checkDate(&v, "issued_on", in.IssuedOn)
	checkDate(&v, "response_deadline", in.ResponseDeadline)
	v.Check(in.IssuedOn == nil || in.ResponseDeadline == nil || !in.ResponseDeadline.Before(*in.IssuedOn),
		"response_deadline", "must not be before issued_on")
	checkOutcome(&v, in.Outcome)
	return v.Err()
}

// Convoke convokes a beneficiary to session sessionID and audits it. The session row is locked
// so that two convocations cannot both take its last place. A full session, or a person
// already convoked to an open session, is a conflict; a letter sent after the session's date
// is a validation error; a session or beneficiary the caller may not see is not found.
func (s *Service) Convoke(ctx context.Context, sessionID int64, in ConvocationInput) (Convocation, error) {
	p, err := caseWriter(ctx)
	if err != nil {
		return Convocation{}, err
	}
	if err := in.Validate(true); err != nil {
		return Convocation{}, err
	}
	var out Convocation
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		session, err := lockSession(tx, p, sessionID)
		if err != nil {
			return err
		}
		if err := lockBeneficiary(tx, p, *in.BeneficiaryID); err != nil {
			return err
		}
		if date := LocalDate(session.StartsAt); in.SentOn.After(date) {
			return fieldError("sent_on", "must not be after the session's date, "+date.Format(time.DateOnly))
		}
		if err := s.checkPlace(tx, session, *in.BeneficiaryID); err != nil {
			return err
		}
		row := models.Convocation{Departement: p.Departement, SessionID: sessionID, BeneficiaryID: *in.BeneficiaryID, SentOn: *in.SentOn, Version: 1}
		subject := fmt.Sprintf("the convocation of beneficiary %d to session %d", row.BeneficiaryID, sessionID)
		if err := services.Insert(ctx, tx, &row, &row.ID, convocationResource, subject); err != nil {
			return err
		}
		out = convocationFromRow(row, nil)
		return feed.Append(tx, feed.Convocation, feed.Created, row.ID)
	})
	return out, err
}

// checkPlace refuses a full session and a person already convoked to an open session: a
// convocation with no attendance yet, at a session that is still to come or whose attendance
// nobody has recorded yet.
func (s *Service) checkPlace(tx *gorm.DB, session models.OrientationSession, beneficiaryID int64) error {
	var taken int64
	if err := tx.Model(&models.Convocation{}).Where("session_id = ?", session.ID).Count(&taken).Error; err != nil {
		return fmt.Errorf("count the convocations of session %d: %w", session.ID, err)
	}
	if taken >= int64(session.Capacity) {
		return fmt.Errorf("session %d is full (%d places): %w", session.ID, session.Capacity, services.ErrConflict)
	}
	var open []int64
	if err := tx.Table("convocations c").Joins("JOIN orientation_sessions s ON s.id = c.session_id").
		Where("c.beneficiary_id = ? AND c.attendance IS NULL", beneficiaryID).
		Where("(s.starts_at > ? OR NOT EXISTS (SELECT 1 FROM convocations r WHERE r.session_id = s.id AND r.attendance IS NOT NULL))", s.now()).
		Limit(1).Pluck("s.id", &open).Error; err != nil {
		return fmt.Errorf("look for open convocations: %w", err)
	}
	if len(open) > 0 {
		return fmt.Errorf("beneficiary %d is already convoked to open session %d: %w", beneficiaryID, open[0], services.ErrConflict)
	}
	return nil
}

// Convocations returns the convocations of session sessionID, by id, one keyset page at a
// time, and audits the read of each: they name people, so managers may not read them.
func (s *Service) Convocations(ctx context.Context, sessionID int64, page services.PageRequest) (services.Page[Convocation], error) {
	if _, err := callerWith(ctx, "read convocations", auth.RoleAdmin, auth.RoleAgent, auth.RolePartner); err != nil {
		return services.Page[Convocation]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, page)
	if err := v.Err(); err != nil {
		return services.Page[Convocation]{}, err
	}
	var out services.Page[Convocation]
	err := services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if _, err := s.Get(ctx, sessionID); err != nil {
			return err
		}
		var rows []models.Convocation
		if err := tx.Where("session_id = ? AND id > ?", sessionID, after).Order("id").Limit(page.Limit + 1).Find(&rows).Error; err != nil {
			return fmt.Errorf("list the convocations of session %d: %w", sessionID, err)
		}
		items, err := withNotices(tx, rows)
		if err != nil {
			return err
		}
		out, err = services.AuditedPage(ctx, tx, convocationResource, items, page.Limit, func(c Convocation) int64 { return c.ID })
		return err
	})
	return out, err
}

// RecordAttendance records whether the person came to the session, once it has started. An
// attendance that a catch-up or a formal notice rests on cannot change to one they do not.
func (s *Service) RecordAttendance(ctx context.Context, id int64, expectedVersion int, attendance string) (Convocation, error) {
	p, err := callerWith(ctx, "record attendance", auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	if err != nil {
		return Convocation{}, err
	}
	var v services.Validator
	v.Check(slices.Contains(Attendances, attendance), "attendance", `must be "present", "excused" or "no_show"`)
	if err := v.Err(); err != nil {
		return Convocation{}, err
	}
	return s.changeConvocation(ctx, p, id, expectedVersion, func(tx *gorm.DB, c lockedConvocation) (map[string]any, error) {
		if s.now().Before(c.SessionStartsAt) {
			return nil, fmt.Errorf("convocation %d: its session has not started yet: %w", id, services.ErrConflict)
		}
		if c.CatchUpOn != nil && attendance == Present {
			return nil, fmt.Errorf("convocation %d has a catch-up appointment, which follows an absence: %w", id, services.ErrConflict)
		}
		has, err := hasNotice(tx, id)
		if err != nil {
			return nil, err
		}
		if has && attendance != NoShow {
			return nil, fmt.Errorf("convocation %d has a formal notice, which follows an unexcused absence: %w", id, services.ErrConflict)
		}
		return map[string]any{"attendance": attendance}, nil
	})
}

// CatchUp records (or changes) the catch-up appointment offered after an absence, on or after
// the session's date.
func (s *Service) CatchUp(ctx context.Context, id int64, in CatchUpInput) (Convocation, error) {
	p, err := caseWriter(ctx)
	if err != nil {
		return Convocation{}, err
	}
	if err := in.validate(LocalDate(s.now())); err != nil {
		return Convocation{}, err
	}
	return s.changeConvocation(ctx, p, id, services.AnyVersion, func(_ *gorm.DB, c lockedConvocation) (map[string]any, error) {
		if c.Attendance == nil || (*c.Attendance != NoShow && *c.Attendance != Excused) {
			return nil, fmt.Errorf("convocation %d: a catch-up follows a no-show or an excused absence: %w", id, services.ErrConflict)
		}
		if date := LocalDate(c.SessionStartsAt); in.Date.Before(date) {
			return nil, fieldError("date", "must not be before the session's date, "+date.Format(time.DateOnly))
		}
		return map[string]any{"catch_up_on": *in.Date, "catch_up_attended": in.Attended}, nil
	})
}

// IssueFormalNotice records the formal notice sent after an unexcused no-show that no
// attended catch-up made good, at most one per convocation, and audits it.
func (s *Service) IssueFormalNotice(ctx context.Context, convocationID int64, in FormalNoticeInput) (FormalNotice, error) {
	p, err := caseWriter(ctx)
	if err != nil {
		return FormalNotice{}, err
	}
	if err := in.Validate(true); err != nil {
		return FormalNotice{}, err
	}
	var row models.FormalNotice
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		c, err := lockConvocation(tx, p, convocationID)
		if err != nil {
			return err
		}
		if err := noticePreconditions(tx, c); err != nil {
			return err
		}
		if date := LocalDate(c.SessionStartsAt); in.IssuedOn.Before(date) {
			return fieldError("issued_on", "must not be before the session's date, "+date.Format(time.DateOnly))
		}
		row = models.FormalNotice{Departement: p.Departement, ConvocationID: c.ID, BeneficiaryID: c.BeneficiaryID,
			IssuedOn: *in.IssuedOn, ResponseDeadline: *in.ResponseDeadline, Outcome: in.Outcome, Version: 1}
		return services.Insert(ctx, tx, &row, &row.ID, formalNoticeResource, fmt.Sprintf("a formal notice of convocation %d", c.ID))
	})
	if err != nil {
		return FormalNotice{}, err
	}
	return noticeFromRow(row), nil
}

// UpdateFormalNotice records the outcome of formal notice id if it is still at
// expectedVersion.
func (s *Service) UpdateFormalNotice(ctx context.Context, id int64, expectedVersion int, outcome string) (FormalNotice, error) {
	p, err := caseWriter(ctx)
	if err != nil {
		return FormalNotice{}, err
	}
	var v services.Validator
	checkOutcome(&v, &outcome)
	if err := v.Err(); err != nil {
		return FormalNotice{}, err
	}
	var row models.FormalNotice
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		err := models.Translate(Visible(tx.Table("formal_notices f").Select("f.*").
			Joins("JOIN convocations c ON c.id = f.convocation_id").Joins("JOIN orientation_sessions s ON s.id = c.session_id"), p).
			Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "f"}}).Where("f.id = ?", id).Take(&row).Error)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("formal notice %d: %w", id, services.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read formal notice %d: %w", id, err)
		}
		if err := services.CheckVersion(fmt.Sprintf("formal notice %d", id), row.Version, expectedVersion); err != nil {
			return err
		}
		row.Outcome = &outcome
		if err := services.SaveVersion(tx, &row, &row.Version, fmt.Sprintf("formal notice %d", id), map[string]any{"outcome": outcome}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, formalNoticeResource, strconv.FormatInt(id, 10))
	})
	if err != nil {
		return FormalNotice{}, err
	}
	return noticeFromRow(row), nil
}

// lockedConvocation is a convocation with its session's start, read under a row lock.
type lockedConvocation struct {
	models.Convocation
	SessionStartsAt time.Time
}

// changeConvocation locks convocation id if p may see it, checks its version, asks change for
// the columns to set (or a refusal), writes them with a new version and audits the update.
func (s *Service) changeConvocation(ctx context.Context, p auth.Principal, id int64, expectedVersion int,
	change func(tx *gorm.DB, c lockedConvocation) (map[string]any, error)) (Convocation, error) {
	var out Convocation
	err := services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		c, err := lockConvocation(tx, p, id)
		if err != nil {
			return err
		}
		if err := services.CheckVersion(fmt.Sprintf("convocation %d", id), c.Version, expectedVersion); err != nil {
			return err
		}
		columns, err := change(tx, c)
		if err != nil {
			return err
		}
		columns["version"] = c.Version + 1
		columns["updated_at"] = gorm.Expr("now()")
		row := c.Convocation
		if err := tx.Model(&row).Clauses(clause.Returning{}).Updates(columns).Error; err != nil {
			return fmt.Errorf("update convocation %d: %w", id, err)
		}
		items, err := withNotices(tx, []models.Convocation{row})
		if err != nil {
			return err
		}
		out = items[0]
		if err := feed.Append(tx, feed.Convocation, feed.Updated, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, convocationResource, strconv.FormatInt(id, 10))
	})
	return out, err
}

// noticePreconditions allows a formal notice only after an unexcused no-show, without an
// attended catch-up, and once per convocation.
func noticePreconditions(tx *gorm.DB, c lockedConvocation) error {
	switch {
	case c.Attendance == nil || *c.Attendance != NoShow:
		return fmt.Errorf("convocation %d: a formal notice follows an unexcused no-show: %w", c.ID, services.ErrConflict)
	case c.CatchUpAttended != nil && *c.CatchUpAttended:
		return fmt.Errorf("convocation %d: the person came to the catch-up appointment: %w", c.ID, services.ErrConflict)
	}
	has, err := hasNotice(tx, c.ID)
	if err == nil && has {
		err = fmt.Errorf("convocation %d already has a formal notice: %w", c.ID, services.ErrConflict)
	}
	return err
}

// lockSession reads session id under a row lock if p may see it.
func lockSession(tx *gorm.DB, p auth.Principal, id int64) (models.OrientationSession, error) {
	var row models.OrientationSession
	err := models.Translate(Visible(tx.Table("orientation_sessions s").Select("s.*"), p).
		Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "s"}}).Where("s.id = ?", id).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("orientation session %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read orientation session %d: %w", id, err)
	}
	return row, nil
}

// lockBeneficiary locks beneficiary id if p may see it, so that one person is not convoked
// twice at once.
func lockBeneficiary(tx *gorm.DB, p auth.Principal, id int64) error {
	q, err := beneficiaries.Visible(tx.Table("beneficiaries b").Select("b.id").
		Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "b"}}), p)
	if err != nil {
		return err
	}
	var ids []int64
	if err := q.Where("b.id = ?", id).Pluck("b.id", &ids).Error; err != nil {
		return fmt.Errorf("read beneficiary %d: %w", id, err)
	}
	if len(ids) == 0 {
		return fmt.Errorf("beneficiary %d: %w", id, services.ErrNotFound)
	}
	return nil
}

// lockConvocation reads convocation id with its session's start under a row lock, if p may
// see its session.
func lockConvocation(tx *gorm.DB, p auth.Principal, id int64) (lockedConvocation, error) {
	var row lockedConvocation
	err := models.Translate(Visible(tx.Table("convocations c").Select("c.*, s.starts_at AS session_starts_at").
		Joins("JOIN orientation_sessions s ON s.id = c.session_id"), p).
		Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "c"}}).Where("c.id = ?", id).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("convocation %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read convocation %d: %w", id, err)
	}
	return row, nil
}

func hasNotice(tx *gorm.DB, convocationID int64) (bool, error) {
	var n int64
	if err := tx.Model(&models.FormalNotice{}).Where("convocation_id = ?", convocationID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("look for the formal notice of convocation %d: %w", convocationID, err)
	}
	return n > 0, nil
}

// withNotices presents rows with their formal notices, read in one query.
func withNotices(tx *gorm.DB, rows []models.Convocation) ([]Convocation, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var notices []models.FormalNotice
	if len(ids) > 0 {
		if err := tx.Where("convocation_id IN ?", ids).Find(&notices).Error; err != nil {
			return nil, fmt.Errorf("read formal notices: %w", err)
		}
	}
	byConvocation := map[int64]*FormalNotice{}
	for _, n := range notices {
		fn := noticeFromRow(n)
		byConvocation[n.ConvocationID] = &fn
	}
	out := make([]Convocation, len(rows))
	for i, r := range rows {
		out[i] = convocationFromRow(r, byConvocation[r.ID])
	}
	return out, nil
}

func checkDate(v *services.Validator, field string, d *time.Time) {
	v.Check(d != nil, field, "is required")
	v.Check(d == nil || (!d.Before(rsaStart) && d.Year() <= 2100), field, "must be a date from 2009-06-01 (the rSa) to 2100")
}

func checkOutcome(v *services.Validator, outcome *string) {
	v.Check(outcome == nil || slices.Contains(Outcomes, *outcome), "outcome", `must be "answered", "unanswered" or "sanction_proposed"`)
}

func fieldError(field, message string) error {
	return &services.ValidationError{Fields: []services.FieldError{{Field: field, Message: message}}}
}

func convocationFromRow(r models.Convocation, notice *FormalNotice) Convocation {
	return Convocation{ID: r.ID, SessionID: r.SessionID, BeneficiaryID: r.BeneficiaryID, SentOn: r.SentOn, Attendance: r.Attendance,
		CatchUpOn: r.CatchUpOn, CatchUpAttended: r.CatchUpAttended, FormalNotice: notice, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func noticeFromRow(r models.FormalNotice) FormalNotice {
	return FormalNotice{ID: r.ID, ConvocationID: r.ConvocationID, BeneficiaryID: r.BeneficiaryID, IssuedOn: r.IssuedOn,
		ResponseDeadline: r.ResponseDeadline, Outcome: r.Outcome, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
