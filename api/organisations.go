package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/organisations"
)

// organisationDTO is an organisation as the API shows it.
type organisationDTO struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	Kind          string    `json:"kind"`
	TerritoryCode *string   `json:"territory_code"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func toOrganisationDTO(o organisations.Organisation) organisationDTO {
	return organisationDTO{ID: o.ID, Name: o.Name, Kind: o.Kind, TerritoryCode: o.TerritoryCode, Version: o.Version,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
}

type organisationRequest struct {
	Name          Optional[string] `json:"name"`
	Kind          Optional[string] `json:"kind"`
	TerritoryCode Optional[string] `json:"territory_code"`
}

func (r organisationRequest) input(v *services.Validator) organisations.Input {
	return organisations.Input{Name: optText(v, "name", r.Name), Kind: optText(v, "kind", r.Kind), TerritoryCode: clearable(r.TerritoryCode)}
}

// referentDTO is a referent as the API shows it.
type referentDTO struct {
	ID             int64     `json:"id"`
	OrganisationID int64     `json:"organisation_id"`
	LastName       string    `json:"last_name"`
	FirstName      string    `json:"first_name"`
	Email          *string   `json:"email"`
	Phone          *string   `json:"phone"`
	Active         bool      `json:"active"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func toReferentDTO(r organisations.Referent) referentDTO {
	return referentDTO{ID: r.ID, OrganisationID: r.OrganisationID, LastName: r.LastName, FirstName: r.FirstName, Email: r.Email,
		Phone: r.Phone, Active: r.Active, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type referentRequest struct {
	OrganisationID Optional[int64]  `json:"organisation_id"`
	LastName       Optional[string] `json:"last_name"`
	FirstName      Optional[string] `json:"first_name"`
	Email          Optional[string] `json:"email"`
	Phone          Optional[string] `json:"phone"`
	Active         Optional[bool]   `json:"active"`
}

func (r referentRequest) input(v *services.Validator) organisations.ReferentInput {
	v.Check(!r.OrganisationID.Set, "organisation_id", "is read-only: the path names the organisation, fixed at creation")
	return organisations.ReferentInput{LastName: optText(v, "last_name", r.LastName), FirstName: optText(v, "first_name", r.FirstName),
		Email: clearable(r.Email), Phone: clearable(r.Phone), Active: notNull(v, "active", r.Active)}
}

type organisationHandlers struct {
	svc *organisations.Service
}

var (
	organisationView = view[organisations.Organisation, organisationDTO]{dto: toOrganisationDTO,
		version:  func(o organisations.Organisation) int { return o.Version },
		location: func(o organisations.Organisation) string { return location("/api/v1/organisations/")(o.ID) }}
	referentView = view[organisations.Referent, referentDTO]{dto: toReferentDTO,
		version:  func(r organisations.Referent) int { return r.Version },
		location: func(r organisations.Referent) string { return location("/api/v1/referents/")(r.ID) }}
)

// registerOrganisations adds the organisation and referent routes: every role reads
// organisations; administrators, agents and partners (their own organisation's) read
// referents; administrators write both.
func registerOrganisations(v1 *gin.RouterGroup, d Deps) {
	h := organisationHandlers{svc: organisations.New(d.DB)}
	adminOnly := requireRoles(auth.RoleAdmin)
	referentReaders := requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	v1.GET("/organisations", handle(h.list))
	v1.POST("/organisations", adminOnly, createFrom[organisationRequest](organisationView, h.svc.Create))
	v1.GET("/organisations/:id", getByID(organisationView, h.svc.Get))
	v1.PATCH("/organisations/:id", adminOnly, patchByID[organisationRequest](organisationView, h.svc.Update))
	v1.GET("/organisations/:id/referents", referentReaders, listByID(toReferentDTO, h.svc.Referents))
	v1.POST("/organisations/:id/referents", adminOnly, postToID[referentRequest](referentView, http.StatusCreated, h.svc.CreateReferent))
	v1.GET("/referents/:id", referentReaders, getByID(referentView, h.svc.Referent))
	v1.PATCH("/referents/:id", adminOnly, patchByID[referentRequest](referentView, h.svc.UpdateReferent))
}

func (h organisationHandlers) list(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	res, err := h.svc.List(c.Request.Context(), organisations.Filter{Kind: c.Query("kind"), Page: page})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toOrganisationDTO))
	return nil
}
