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

func toTerritoryDTO(t territories.Territory) territoryDTO {
	return territoryDTO{
		Code: t.Code, Name: t.Name, Departement: t.Departement, Version: t.Version,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
}

type territoryHandlers struct {
	svc *territories.Service
}

func (h territoryHandlers) list(c *gin.Context) {
	page, err := pageRequest(c)
	if err != nil {
		renderError(c, err)
		return
	}
	res, err := h.svc.List(c.Request.Context(), page)
	if err != nil {
		renderError(c, err)
		return
	}
	c.JSON(http.StatusOK, newListResponse(res, toTerritoryDTO))
}

func (h territoryHandlers) get(c *gin.Context) {
	t, err := h.svc.Get(c.Request.Context(), c.Param("code"))
	if err != nil {
		renderError(c, err)
		return
	}
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusOK, toTerritoryDTO(t))
}

func (h territoryHandlers) create(c *gin.Context) {
	var req createTerritoryRequest
	if err := bindJSON(c, &req); err != nil {
		renderError(c, err)
		return
	}
	t, err := h.svc.Create(c.Request.Context(), territories.NewTerritory{Code: req.Code, Name: req.Name})
	if err != nil {
		renderError(c, err)
		return
	}
	c.Header("Location", "/api/v1/territories/"+t.Code)
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusCreated, toTerritoryDTO(t))
}

func (h territoryHandlers) update(c *gin.Context) {
	version, err := expectedVersion(c)
	if err != nil {
		renderError(c, err)
		return
	}
	var req updateTerritoryRequest
	if err := bindJSON(c, &req); err != nil {
		renderError(c, err)
		return
	}
	var v services.Validator
	changes := territories.Changes{Name: notNull(&v, "name", req.Name)}
	if err := v.Err(); err != nil {
		renderError(c, err)
		return
	}
	t, err := h.svc.Update(c.Request.Context(), c.Param("code"), version, changes)
	if err != nil {
		renderError(c, err)
		return
	}
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusOK, toTerritoryDTO(t))
}
