package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/sessions"
)

// sessionDTO is an orientation session as the API shows it.
type sessionDTO struct {
	ID                     int64     `json:"id"`
	TerritoryCode          string    `json:"territory_code"`
	SiteOrganisationID     int64     `json:"site_organisation_id"`
	StartsAt               time.Time `json:"starts_at"`
	Capacity               int       `json:"capacity"`
	EmploymentProfessional string    `json:"employment_professional"`
	SocialProfessional     string    `json:"social_professional"`
	Convoked               int       `json:"convoked"`
	Version                int       `json:"version"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

func toSessionDTO(s sessions.Session) sessionDTO {
	return sessionDTO{ID: s.ID, TerritoryCode: s.TerritoryCode, SiteOrganisationID: s.SiteOrganisationID, StartsAt: s.StartsAt.UTC(),
		Capacity: s.Capacity, EmploymentProfessional: s.EmploymentProfessional, SocialProfessional: s.SocialProfessional,
		Convoked: s.Convoked, Version: s.Version, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

type sessionRequest struct {
	TerritoryCode          Optional[string] `json:"territory_code"`
	SiteOrganisationID     Optional[int64]  `json:"site_organisation_id"`
	StartsAt               Optional[string] `json:"starts_at"`
	Capacity               Optional[int]    `json:"capacity"`
	EmploymentProfessional Optional[string] `json:"employment_professional"`
	SocialProfessional     Optional[string] `json:"social_professional"`
}

func (r sessionRequest) input(v *services.Validator) sessions.SessionInput {
	return sessions.SessionInput{TerritoryCode: optText(v, "territory_code", r.TerritoryCode),
		SiteOrganisationID: notNull(v, "site_organisation_id", r.SiteOrganisationID), StartsAt: optInstant(v, "starts_at", r.StartsAt),
		Capacity: notNull(v, "capacity", r.Capacity), EmploymentProfessional: optText(v, "employment_professional", r.EmploymentProfessional),
		SocialProfessional: optText(v, "social_professional", r.SocialProfessional)}
}

// formalNoticeDTO is a formal notice as the API shows it.
type formalNoticeDTO struct {
	ID               int64     `json:"id"`
	ConvocationID    int64     `json:"convocation_id"`
	BeneficiaryID    int64     `json:"beneficiary_id"`
	IssuedOn         string    `json:"issued_on"`
	ResponseDeadline string    `json:"response_deadline"`
	Outcome          *string   `json:"outcome"`
	Version          int       `json:"version"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func toFormalNoticeDTO(f sessions.FormalNotice) formalNoticeDTO {
	return formalNoticeDTO{ID: f.ID, ConvocationID: f.ConvocationID, BeneficiaryID: f.BeneficiaryID, IssuedOn: dateString(f.IssuedOn),
		ResponseDeadline: dateString(f.ResponseDeadline), Outcome: f.Outcome, Version: f.Version,
		CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC()}
}

// convocationDTO is a convocation as the API shows it, with its formal notice if any.
type convocationDTO struct {
	ID              int64            `json:"id"`
	SessionID       int64            `json:"session_id"`
	BeneficiaryID   int64            `json:"beneficiary_id"`
	SentOn          string           `json:"sent_on"`
	Attendance      *string          `json:"attendance"`
	CatchUpOn       *string          `json:"catch_up_on"`
	CatchUpAttended *bool            `json:"catch_up_attended"`
	FormalNotice    *formalNoticeDTO `json:"formal_notice"`
	Version         int              `json:"version"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
}

func toConvocationDTO(c sessions.Convocation) convocationDTO {
	out := convocationDTO{ID: c.ID, SessionID: c.SessionID, BeneficiaryID: c.BeneficiaryID, SentOn: dateString(c.SentOn),
		Attendance: c.Attendance, CatchUpOn: nullableDate(c.CatchUpOn), CatchUpAttended: c.CatchUpAttended, Version: c.Version,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.FormalNotice != nil {
		f := toFormalNoticeDTO(*c.FormalNotice)
		out.FormalNotice = &f
	}
	return out
}

type convocationRequest struct {
	BeneficiaryID Optional[int64]  `json:"beneficiary_id"`
	SentOn        Optional[string] `json:"sent_on"`
}

func (r convocationRequest) input(v *services.Validator) sessions.ConvocationInput {
	return sessions.ConvocationInput{BeneficiaryID: notNull(v, "beneficiary_id", r.BeneficiaryID), SentOn: optDate(v, "sent_on", r.SentOn)}
}

type catchUpRequest struct {
	Date     Optional[string] `json:"date"`
	Attended Optional[bool]   `json:"attended"`
}

func (r catchUpRequest) input(v *services.Validator) sessions.CatchUpInput {
	in := sessions.CatchUpInput{Date: optDate(v, "date", r.Date)}
	if r.Attended.Set && !r.Attended.Null {
		in.Attended = &r.Attended.Value
	}
	return in
}

type formalNoticeRequest struct {
	IssuedOn         Optional[string] `json:"issued_on"`
	ResponseDeadline Optional[string] `json:"response_deadline"`
	Outcome          Optional[string] `json:"outcome"`
}

func (r formalNoticeRequest) input(v *services.Validator) sessions.FormalNoticeInput {
	in := sessions.FormalNoticeInput{IssuedOn: optDate(v, "issued_on", r.IssuedOn), ResponseDeadline: optDate(v, "response_deadline", r.ResponseDeadline)}
	if r.Outcome.Set && !r.Outcome.Null {
		in.Outcome = &r.Outcome.Value
	}
	return in
}

// attendanceRequest records the attendance at a session.
type attendanceRequest struct {
	Attendance Optional[string] `json:"attendance"`
}

func (r attendanceRequest) input(v *services.Validator) string {
	return requiredText(v, "attendance", r.Attendance)
}

// outcomeRequest records the outcome of a formal notice.
type outcomeRequest struct {
	Outcome Optional[string] `json:"outcome"`
}

func (r outcomeRequest) input(v *services.Validator) string {
	return requiredText(v, "outcome", r.Outcome)
}

// requiredText reads a text field that must be given and not null.
func requiredText(v *services.Validator, field string, o Optional[string]) string {
	v.Check(o.Set, field, "is required")
	if s := optText(v, field, o); s != nil {
		return *s
	}
	return ""
}

// summaryDTO is the summary of a session.
type summaryDTO struct {
	SessionID           int64          `json:"session_id"`
	Convoked            int            `json:"convoked"`
	Present             int            `json:"present"`
	Excused             int            `json:"excused"`
	NoShow              int            `json:"no_show"`
	CaughtUp            int            `json:"caught_up"`
	FormalNotices       int            `json:"formal_notices"`
	OrientationsByRoute map[string]int `json:"orientations_by_route"`
}

type sessionHandlers struct {
	svc *sessions.Service
}

var (
	sessionView = view[sessions.Session, sessionDTO]{dto: toSessionDTO,
		version:  func(s sessions.Session) int { return s.Version },
		location: func(s sessions.Session) string { return location("/api/v1/orientation-sessions/")(s.ID) }}
	convocationView = view[sessions.Convocation, convocationDTO]{dto: toConvocationDTO,
		version: func(c sessions.Convocation) int { return c.Version }}
	formalNoticeView = view[sessions.FormalNotice, formalNoticeDTO]{dto: toFormalNoticeDTO,
		version: func(f sessions.FormalNotice) int { return f.Version }}
)

// registerSessions adds the orientation platform routes. Sessions and their summaries name no
// one: every role reads those it may see (agents their territories', partners those at their
// organisation). Convocations name people: no managers. Administrators and agents create
// sessions, convoke, record catch-ups and formal notices; partners may record attendance at
// the sessions they host.
func registerSessions(v1 *gin.RouterGroup, d Deps) {
	h := sessionHandlers{svc: sessions.New(d.DB)}
	caseWriters := requireRoles(auth.RoleAdmin, auth.RoleAgent)
	caseReaders := requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	v1.GET("/orientation-sessions", handle(h.list))
	v1.POST("/orientation-sessions", caseWriters, createFrom[sessionRequest](sessionView, h.svc.Create))
	v1.GET("/orientation-sessions/:id", getByID(sessionView, h.svc.Get))
	v1.GET("/orientation-sessions/:id/summary", handle(h.summary))
	v1.GET("/orientation-sessions/:id/convocations", caseReaders, listByID(toConvocationDTO, h.svc.Convocations))
	v1.POST("/orientation-sessions/:id/convocations", caseWriters, postToID[convocationRequest](convocationView, http.StatusCreated, h.svc.Convoke))
	v1.PATCH("/convocations/:id", caseReaders, patchByID[attendanceRequest](convocationView, h.svc.RecordAttendance))
	v1.POST("/convocations/:id/catch-up", caseWriters, postToID[catchUpRequest](convocationView, http.StatusOK, h.svc.CatchUp))
	v1.POST("/convocations/:id/formal-notice", caseWriters, postToID[formalNoticeRequest](formalNoticeView, http.StatusCreated, h.svc.IssueFormalNotice))
	v1.PATCH("/formal-notices/:id", caseWriters, patchByID[outcomeRequest](formalNoticeView, h.svc.UpdateFormalNotice))
}

func (h sessionHandlers) list(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	from, to, err := queryDateRange(c)
	if err != nil {
		return err
	}
	res, err := h.svc.List(c.Request.Context(), sessions.Filter{Territory: c.Query("territory"), From: from, To: to, Page: page})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toSessionDTO))
	return nil
}

func (h sessionHandlers) summary(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	s, err := h.svc.Summary(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, summaryDTO{SessionID: s.SessionID, Convoked: s.Convoked, Present: s.Present, Excused: s.Excused,
		NoShow: s.NoShow, CaughtUp: s.CaughtUp, FormalNotices: s.FormalNotices, OrientationsByRoute: s.OrientationsByRoute})
	return nil
}

// optInstant parses an instant field (RFC 3339, "2019-12-13T09:00:00+01:00"): nil when
// absent, a field error when null or malformed.
func optInstant(v *services.Validator, field string, o Optional[string]) *time.Time {
	s := notNull(v, field, o)
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	v.Check(err == nil, field, `must be an RFC 3339 instant such as "2019-12-13T09:00:00+01:00"`)
	if err != nil {
		return nil
	}
	return &t
}

// queryDate reads an optional calendar date query parameter ("2019-12-13").
func queryDate(c *gin.Context, name string) (*time.Time, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return nil, nil
	}
	d, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		return nil, badRequest("invalid "+name, services.FieldError{Field: name, Message: `must be a date such as "2019-12-13"`})
	}
	return &d, nil
}
