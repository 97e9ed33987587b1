package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/territories"
)

// territoryDTO is a territory as the API shows it.
type territoryDTO struct {
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Departement string    `json:"departement"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type createTerritoryRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type updateTerritoryRequest struct {
	Name Optional[string] `json:"name"`
}

func (r createTerritoryRequest) input(*services.Validator) territories.NewTerritory {
	return territories.NewTerritory{Code: r.Code, Name: r.Name}
}

func (r updateTerritoryRequest) input(v *services.Validator) territories.Changes {
	return territories.Changes{Name: notNull(v, "name", r.Name)}
}

func toTerritoryDTO(t territories.Territory) territoryDTO {
	return territoryDTO{
		Code: t.Code, Name: t.Name, Departement: t.Departement, Version: t.Version,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
}

type territoryHandlers struct {
	svc *territories.Service
}

func (h territoryHandlers) list(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	res, err := h.svc.List(c.Request.Context(), page)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toTerritoryDTO))
	return nil
}

func (h territoryHandlers) get(c *gin.Context) error {
	t, err := h.svc.Get(c.Request.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, t.Version, toTerritoryDTO(t))
	return nil
}

func (h territoryHandlers) create(c *gin.Context) error {
	in, err := bindInput[createTerritoryRequest](c, true)
	if err != nil {
		return err
	}
	t, err := h.svc.Create(c.Request.Context(), in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/territories/"+t.Code)
	respond(c, http.StatusCreated, t.Version, toTerritoryDTO(t))
	return nil
}

func (h territoryHandlers) update(c *gin.Context) error {
	version, err := expectedVersion(c)
	if err != nil {
		return err
	}
	changes, err := bindInput[updateTerritoryRequest](c, false)
	if err != nil {
		return err
	}
	t, err := h.svc.Update(c.Request.Context(), c.Param("code"), version, changes)
	if err != nil {
		return err
	}
	respond(c, http.StatusOK, t.Version, toTerritoryDTO(t))
	return nil
}
