package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/enrolments"
	"parcours/services/orientations"
)

// orientationDTO is an orientation decision as the API shows it.
type orientationDTO struct {
	ID               int64     `json:"id"`
	BeneficiaryID    int64     `json:"beneficiary_id"`
	Route            string    `json:"route"`
	OrganisationID   int64     `json:"organisation_id"`
	OrganisationName string    `json:"organisation_name"`
	ReferentID       *int64    `json:"referent_id"`
	ReferentName     *string   `json:"referent_name"`
	DecidedOn        string    `json:"decided_on"`
	NotifiedOn       *string   `json:"notified_on"`
	Origin           string    `json:"origin"`
	ConvocationID    *int64    `json:"convocation_id"`
	Current          bool      `json:"current"`
	SupersededOn     *string   `json:"superseded_on"`
	CreatedAt        time.Time `json:"created_at"`
}

func toOrientationDTO(o orientations.Orientation) orientationDTO {
	return orientationDTO{
		ID: o.ID, BeneficiaryID: o.BeneficiaryID, Route: o.Route, OrganisationID: o.OrganisationID,
		OrganisationName: o.OrganisationName, ReferentID: o.ReferentID, ReferentName: o.ReferentName,
		DecidedOn: dateString(o.DecidedOn), NotifiedOn: nullableDate(o.NotifiedOn), Origin: o.Origin,
		ConvocationID: o.ConvocationID, Current: o.Current, SupersededOn: nullableDate(o.SupersededOn),
		CreatedAt: o.CreatedAt.UTC(),
	}
}

// orientationRequest records a decision; referent_id, notified_on and convocation_id may be
// absent or null.
type orientationRequest struct {
	Route          Optional[string] `json:"route"`
	OrganisationID Optional[int64]  `json:"organisation_id"`
	ReferentID     Optional[int64]  `json:"referent_id"`
	DecidedOn      Optional[string] `json:"decided_on"`
	NotifiedOn     Optional[string] `json:"notified_on"`
	Origin         Optional[string] `json:"origin"`
	ConvocationID  Optional[int64]  `json:"convocation_id"`
}

func (r orientationRequest) input(v *services.Validator) orientations.Input {
	in := orientations.Input{
		Route: optText(v, "route", r.Route), OrganisationID: notNull(v, "organisation_id", r.OrganisationID),
		ReferentID: orNull(r.ReferentID), DecidedOn: optDate(v, "decided_on", r.DecidedOn),
		Origin: optText(v, "origin", r.Origin), ConvocationID: orNull(r.ConvocationID),
	}
	if !r.NotifiedOn.Null {
		in.NotifiedOn = optDate(v, "notified_on", r.NotifiedOn)
	}
	return in
}

// orNull reads an optional field for which null means absent.
func orNull[T any](o Optional[T]) *T {
	if !o.Set || o.Null {
		return nil
	}
	return &o.Value
}

// timelineEventDTO is one dated event of a pathway.
type timelineEventDTO struct {
	Date   string          `json:"date"`
	Type   string          `json:"type"`
	Detail json.RawMessage `json:"detail"`
}

type timelineDTO struct {
	BeneficiaryID int64              `json:"beneficiary_id"`
	Events        []timelineEventDTO `json:"events"`
}

func toTimelineDTO(t orientations.Timeline) timelineDTO {
	out := timelineDTO{BeneficiaryID: t.BeneficiaryID, Events: make([]timelineEventDTO, len(t.Events))}
	for i, e := range t.Events {
		out.Events[i] = timelineEventDTO{Date: dateString(e.Date), Type: e.Type, Detail: e.Detail}
	}
	return out
}

type orientationHandlers struct {
	svc *orientations.Service
}

// registerOrientations adds the orientation decisions and the pathway timeline of a
// beneficiary: administrators, agents of its territory and partners who may see it; managers
// get 403.
func registerOrientations(v1 *gin.RouterGroup, d Deps) {
	h := orientationHandlers{svc: orientations.New(d.DB).WithEventSources(enrolments.TimelineSources()...)}
	roles := requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	v1.POST("/beneficiaries/:id/orientations", roles, handle(h.decide))
	v1.GET("/beneficiaries/:id/orientations", roles, handle(h.history))
	v1.GET("/beneficiaries/:id/timeline", roles, handle(h.timeline))
}

func (h orientationHandlers) decide(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	in, err := bindInput[orientationRequest](c, true)
	if err != nil {
		return err
	}
	o, err := h.svc.Decide(c.Request.Context(), id, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toOrientationDTO(o))
	return nil
}

func (h orientationHandlers) history(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	res, err := h.svc.History(c.Request.Context(), id, page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toOrientationDTO))
	return nil
}

func (h orientationHandlers) timeline(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	t, err := h.svc.Timeline(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toTimelineDTO(t))
	return nil
}
