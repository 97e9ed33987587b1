package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/enrolments"
	"parcours/services/programmes"
)

// unitCostDTO is what a programme costs on one basis; event is null but for per_event costs.
type unitCostDTO struct {
	Basis  string  `json:"basis"`
	Event  *string `json:"event"`
	Amount string  `json:"amount"`
}

// programmeDTO is a programme of the catalogue as the API shows it.
type programmeDTO struct {
	Code            string        `json:"code"`
	Name            string        `json:"name"`
	ActionCode      string        `json:"action_code"`
	OrganisationIDs []int64       `json:"organisation_ids"`
	UnitCosts       []unitCostDTO `json:"unit_costs"`
	MaxMonths       *int          `json:"max_months"`
	MaxRenewals     int           `json:"max_renewals"`
	Capacity        *int          `json:"capacity"`
	Version         int           `json:"version"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`
}

func toProgrammeDTO(p programmes.Programme) programmeDTO {
	out := programmeDTO{Code: p.Code, Name: p.Name, ActionCode: p.ActionCode, OrganisationIDs: p.OrganisationIDs,
		UnitCosts: make([]unitCostDTO, len(p.UnitCosts)), MaxMonths: p.MaxMonths, MaxRenewals: p.MaxRenewals,
		Capacity: p.Capacity, Version: p.Version, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
	for i, c := range p.UnitCosts {
		out.UnitCosts[i] = unitCostDTO{Basis: c.Basis, Event: nullable(c.Event), Amount: moneyString(c.Amount)}
	}
	return out
}

// unitCostRequest is one unit cost of a programme request, decoded as strictly as the body.
type unitCostRequest struct {
	Basis  Optional[string] `json:"basis"`
	Event  Optional[string] `json:"event"`
	Amount Optional[string] `json:"amount"`
}

// UnmarshalJSON refuses unknown fields inside a unit cost, as bindJSON does for the body.
func (r *unitCostRequest) UnmarshalJSON(b []byte) error {
	type plain unitCostRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(r))
}

// programmeRequest creates or changes a programme. max_months and capacity take null to
// remove the limit; unit_costs and organisation_ids replace the whole set.
type programmeRequest struct {
	Code            Optional[string]            `json:"code"`
	Name            Optional[string]            `json:"name"`
	ActionCode      Optional[string]            `json:"action_code"`
	OrganisationIDs Optional[[]int64]           `json:"organisation_ids"`
	UnitCosts       Optional[[]unitCostRequest] `json:"unit_costs"`
	MaxMonths       Optional[int]               `json:"max_months"`
	MaxRenewals     Optional[int]               `json:"max_renewals"`
	Capacity        Optional[int]               `json:"capacity"`
}

func (r programmeRequest) input(v *services.Validator) programmes.Input {
	in := programmes.Input{Code: optText(v, "code", r.Code), Name: optText(v, "name", r.Name),
		ActionCode: optText(v, "action_code", r.ActionCode), OrganisationIDs: notNull(v, "organisation_ids", r.OrganisationIDs),
		MaxMonths: limitOrNull(v, "max_months", r.MaxMonths), MaxRenewals: notNull(v, "max_renewals", r.MaxRenewals),
		Capacity: limitOrNull(v, "capacity", r.Capacity)}
	if costs := notNull(v, "unit_costs", r.UnitCosts); costs != nil {
		list := make([]programmes.UnitCost, len(*costs))
		for i, c := range *costs {
			list[i] = programmes.UnitCost{Basis: deref(optText(v, "unit_costs.basis", c.Basis)), Event: deref(orNull(c.Event))}
			v.Check(c.Amount.Set, "unit_costs.amount", "is required")
			if amount := optMoney(v, "unit_costs.amount", c.Amount); amount != nil {
				list[i].Amount = *amount
			}
		}
		in.UnitCosts = &list
	}
	return in
}

// limitOrNull reads a nullable limit: null removes it (0 for the service), a value must be
// at least 1.
func limitOrNull(v *services.Validator, field string, o Optional[int]) *int {
	if o.Null {
		zero := 0
		return &zero
	}
	if !o.Set {
		return nil
	}
	v.Check(o.Value >= 1, field, "must be at least 1, or null for no limit")
	return &o.Value
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// enrolmentDTO is an enrolment as the API shows it.
type enrolmentDTO struct {
	ID                 int64     `json:"id"`
	BeneficiaryID      int64     `json:"beneficiary_id"`
	ProgrammeCode      string    `json:"programme_code"`
	OrganisationID     int64     `json:"organisation_id"`
	ReferentID         *int64    `json:"referent_id"`
	OrientationID      *int64    `json:"orientation_id"`
	StartedOn          string    `json:"started_on"`
	FirstAppointmentOn *string   `json:"first_appointment_on"`
	Renewals           int       `json:"renewals"`
	EndedOn            *string   `json:"ended_on"`
	ExitReason         *string   `json:"exit_reason"`
	Version            int       `json:"version"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func toEnrolmentDTO(e enrolments.Enrolment) enrolmentDTO {
	return enrolmentDTO{ID: e.ID, BeneficiaryID: e.BeneficiaryID, ProgrammeCode: e.ProgrammeCode, OrganisationID: e.OrganisationID,
		ReferentID: e.ReferentID, OrientationID: e.OrientationID, StartedOn: dateString(e.StartedOn),
		FirstAppointmentOn: nullableDate(e.FirstAppointmentOn), Renewals: e.Renewals, EndedOn: nullableDate(e.EndedOn),
		ExitReason: e.ExitReason, Version: e.Version, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

// enrolmentRequest enrols a beneficiary; referent_id and orientation_id may be absent or null.
type enrolmentRequest struct {
	BeneficiaryID  Optional[int64]  `json:"beneficiary_id"`
	ProgrammeCode  Optional[string] `json:"programme_code"`
	OrganisationID Optional[int64]  `json:"organisation_id"`
	ReferentID     Optional[int64]  `json:"referent_id"`
	OrientationID  Optional[int64]  `json:"orientation_id"`
	StartedOn      Optional[string] `json:"started_on"`
}

func (r enrolmentRequest) input(v *services.Validator) enrolments.Input {
	return enrolments.Input{BeneficiaryID: notNull(v, "beneficiary_id", r.BeneficiaryID),
		ProgrammeCode: optText(v, "programme_code", r.ProgrammeCode), OrganisationID: notNull(v, "organisation_id", r.OrganisationID),
		ReferentID: orNull(r.ReferentID), OrientationID: orNull(r.OrientationID), StartedOn: optDate(v, "started_on", r.StartedOn)}
}

// enrolmentChangeRequest records a first appointment, renewals or an exit.
type enrolmentChangeRequest struct {
	FirstAppointmentOn Optional[string] `json:"first_appointment_on"`
	Renewals           Optional[int]    `json:"renewals"`
	EndedOn            Optional[string] `json:"ended_on"`
	ExitReason         Optional[string] `json:"exit_reason"`
}

func (r enrolmentChangeRequest) input(v *services.Validator) enrolments.Change {
	return enrolments.Change{FirstAppointmentOn: optDate(v, "first_appointment_on", r.FirstAppointmentOn),
		Renewals: notNull(v, "renewals", r.Renewals), EndedOn: optDate(v, "ended_on", r.EndedOn),
		ExitReason: optText(v, "exit_reason", r.ExitReason)}
}

// enrolmentEventDTO is a costed event of an enrolment.
type enrolmentEventDTO struct {
	ID          int64     `json:"id"`
	EnrolmentID int64     `json:"enrolment_id"`
	Event       string    `json:"event"`
	OccurredOn  string    `json:"occurred_on"`
	CreatedAt   time.Time `json:"created_at"`
}

func toEnrolmentEventDTO(e enrolments.Event) enrolmentEventDTO {
	return enrolmentEventDTO{ID: e.ID, EnrolmentID: e.EnrolmentID, Event: e.Event, OccurredOn: dateString(e.OccurredOn),
		CreatedAt: e.CreatedAt.UTC()}
}

type enrolmentEventRequest struct {
	Event      Optional[string] `json:"event"`
	OccurredOn Optional[string] `json:"occurred_on"`
}

func (r enrolmentEventRequest) input(v *services.Validator) enrolments.EventInput {
	return enrolments.EventInput{Event: optText(v, "event", r.Event), OccurredOn: optDate(v, "occurred_on", r.OccurredOn)}
}

// contractDTO is a contract signed during an enrolment.
type contractDTO struct {
	ID            int64     `json:"id"`
	EnrolmentID   int64     `json:"enrolment_id"`
	BeneficiaryID int64     `json:"beneficiary_id"`
	Type          string    `json:"type"`
	SignedOn      string    `json:"signed_on"`
	StartsOn      string    `json:"starts_on"`
	EndsOn        string    `json:"ends_on"`
	CreatedAt     time.Time `json:"created_at"`
}

func toContractDTO(c enrolments.Contract) contractDTO {
	return contractDTO{ID: c.ID, EnrolmentID: c.EnrolmentID, BeneficiaryID: c.BeneficiaryID, Type: c.Type,
		SignedOn: dateString(c.SignedOn), StartsOn: dateString(c.StartsOn), EndsOn: dateString(c.EndsOn), CreatedAt: c.CreatedAt.UTC()}
}

type contractRequest struct {
	Type     Optional[string] `json:"type"`
	SignedOn Optional[string] `json:"signed_on"`
	StartsOn Optional[string] `json:"starts_on"`
	EndsOn   Optional[string] `json:"ends_on"`
}

func (r contractRequest) input(v *services.Validator) enrolments.ContractInput {
	return enrolments.ContractInput{Type: optText(v, "type", r.Type), SignedOn: optDate(v, "signed_on", r.SignedOn),
		StartsOn: optDate(v, "starts_on", r.StartsOn), EndsOn: optDate(v, "ends_on", r.EndsOn)}
}

// firstVersion is the version of a record that never changes (events, contracts): its ETag
// is always "1".
func firstVersion[T any](T) int { return 1 }

var (
	programmeView = view[programmes.Programme, programmeDTO]{dto: toProgrammeDTO,
		version:  func(p programmes.Programme) int { return p.Version },
		location: func(p programmes.Programme) string { return "/api/v1/programmes/" + p.Code }}
	enrolmentView = view[enrolments.Enrolment, enrolmentDTO]{dto: toEnrolmentDTO,
		version:  func(e enrolments.Enrolment) int { return e.Version },
		location: func(e enrolments.Enrolment) string { return location("/api/v1/enrolments/")(e.ID) }}
	enrolmentEventView = view[enrolments.Event, enrolmentEventDTO]{dto: toEnrolmentEventDTO, version: firstVersion[enrolments.Event]}
	contractView       = view[enrolments.Contract, contractDTO]{dto: toContractDTO, version: firstVersion[enrolments.Contract]}
)

type accompanimentHandlers struct {
	programmes *programmes.Service
	enrolments *enrolments.Service
}

// registerAccompaniment adds the programme catalogue (every role reads it, administrators
// write it) and the enrolments with their costed events and contracts: administrators and
// agents (beneficiaries of their territories) read and write; partners read the enrolments at
// their organisation and record first appointments, exits and PPAE contracts on them;
// managers get 403.
func registerAccompaniment(v1 *gin.RouterGroup, d Deps) {
	h := accompanimentHandlers{programmes: programmes.New(d.DB), enrolments: enrolments.New(d.DB)}
	adminOnly := requireRoles(auth.RoleAdmin)
	v1.GET("/programmes", handle(h.listProgrammes))
	v1.POST("/programmes", adminOnly, createFrom[programmeRequest](programmeView, h.programmes.Create))
	v1.GET("/programmes/:code", handle(h.getProgramme))
	v1.PATCH("/programmes/:code", adminOnly, handle(h.updateProgramme))

	participants := requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	caseworkers := requireRoles(auth.RoleAdmin, auth.RoleAgent)
	v1.GET("/enrolments", participants, handle(h.listEnrolments))
	v1.POST("/enrolments", caseworkers, createFrom[enrolmentRequest](enrolmentView, h.enrolments.Create))
	v1.GET("/enrolments/:id", participants, getByID(enrolmentView, h.enrolments.Get))
	v1.PATCH("/enrolments/:id", participants, patchByID[enrolmentChangeRequest](enrolmentView, h.enrolments.Update))
	v1.GET("/enrolments/:id/events", participants, listByID(toEnrolmentEventDTO, h.enrolments.Events))
	v1.POST("/enrolments/:id/events", caseworkers, postToID[enrolmentEventRequest](enrolmentEventView, http.StatusCreated, h.enrolments.RecordEvent))
	v1.GET("/enrolments/:id/contracts", participants, listByID(toContractDTO, h.enrolments.Contracts))
	v1.POST("/enrolments/:id/contracts", participants, postToID[contractRequest](contractView, http.StatusCreated, h.enrolments.SignContract))
}

func (h accompanimentHandlers) listProgrammes(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	res, err := h.programmes.List(c.Request.Context(), programmes.Filter{Action: c.Query("action"), Page: page})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toProgrammeDTO))
	return nil
}

func (h accompanimentHandlers) getProgramme(c *gin.Context) error {
	p, err := h.programmes.Get(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	programmeView.render(c, http.StatusOK, p)
	return nil
}

func (h accompanimentHandlers) updateProgramme(c *gin.Context) error {
	version, err := expectedVersion(c)
	if err != nil {
		return err
	}
	in, err := bindInput[programmeRequest](c, false)
	if err != nil {
		return err
	}
	p, err := h.programmes.Update(c.Request.Context(), c.Param("code"), version, in)
	if err != nil {
		return err
	}
	programmeView.render(c, http.StatusOK, p)
	return nil
}

func (h accompanimentHandlers) listEnrolments(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	f := enrolments.Filter{Programme: c.Query("programme"), Page: page}
	var fields []services.FieldError
	if raw := c.Query("beneficiary"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			fields = append(fields, services.FieldError{Field: "beneficiary", Message: "must be a positive id"})
		}
		f.BeneficiaryID = id
	}
	if raw := c.Query("open"); raw != "" {
		open := raw == "true"
		if !open && raw != "false" {
			fields = append(fields, services.FieldError{Field: "open", Message: "must be true or false"})
		}
		f.Open = &open
	}
	if len(fields) > 0 {
		return badRequest("invalid query parameters", fields...)
	}
	res, err := h.enrolments.List(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toEnrolmentDTO))
	return nil
}
