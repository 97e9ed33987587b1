package api

import (
	"net/http"
	"strconv"
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

// registerOrganisations adds the organisation and referent routes: every role reads
// organisations; administrators, agents and partners (their own organisation's) read
// referents; administrators write both.
func registerOrganisations(v1 *gin.RouterGroup, d Deps) {
	h := organisationHandlers{svc: organisations.New(d.DB)}
	adminOnly := requireRoles(auth.RoleAdmin)
	referentReaders := requireRoles(auth.RoleAdmin, auth.RoleAgent, auth.RolePartner)
	v1.GET("/organisations", handle(h.list))
	v1.POST("/organisations", adminOnly, handle(h.create))
	v1.GET("/organisations/:id", handle(h.get))
	v1.PATCH("/organisations/:id", adminOnly, handle(h.update))
	v1.GET("/organisations/:id/referents", referentReaders, handle(h.listReferents))
	v1.POST("/organisations/:id/referents", adminOnly, handle(h.createReferent))
	v1.GET("/referents/:id", referentReaders, handle(h.getReferent))
	v1.PATCH("/referents/:id", adminOnly, handle(h.updateReferent))
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

func (h organisationHandlers) get(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	o, err := h.svc.Get(c.Request.Context(), id)
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, o.Version, toOrganisationDTO(o))
	return nil
}

func (h organisationHandlers) create(c *gin.Context) error {
	in, err := bindInput[organisationRequest](c, true)
	if err != nil {
		return err
	}
	o, err := h.svc.Create(c.Request.Context(), in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/organisations/"+strconv.FormatInt(o.ID, 10))
	respond(c, http.StatusCreated, o.Version, toOrganisationDTO(o))
	return nil
}

func (h organisationHandlers) update(c *gin.Context) error {
	id, version, err := idAndVersion(c)
	if err != nil {
		return err
	}
	in, err := bindInput[organisationRequest](c, false)
	if err != nil {
		return err
	}
	o, err := h.svc.Update(c.Request.Context(), id, version, in)
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, o.Version, toOrganisationDTO(o))
	return nil
}

func (h organisationHandlers) listReferents(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Referents(c.Request.Context(), id, page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toReferentDTO))
	return nil
}

func (h organisationHandlers) getReferent(c *gin.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	r, err := h.svc.Referent(c.Request.Context(), id)
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, r.Version, toReferentDTO(r))
	return nil
}

func (h organisationHandlers) createReferent(c *gin.Context) error {
	orgID, err := pathID(c)
	if err != nil {
		return err
	}
	in, err := bindInput[referentRequest](c, true)
	if err != nil {
		return err
	}
	r, err := h.svc.CreateReferent(c.Request.Context(), orgID, in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/referents/"+strconv.FormatInt(r.ID, 10))
	respond(c, http.StatusCreated, r.Version, toReferentDTO(r))
	return nil
}

func (h organisationHandlers) updateReferent(c *gin.Context) error {
	id, version, err := idAndVersion(c)
	if err != nil {
		return err
	}
	in, err := bindInput[referentRequest](c, false)
	if err != nil {
		return err
	}
	r, err := h.svc.UpdateReferent(c.Request.Context(), id, version, in)
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, r.Version, toReferentDTO(r))
	return nil
}
