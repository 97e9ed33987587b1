package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"parcours/services"
)

// view says how a service type T is rendered: as a DTO D, with its version as the ETag and,
// after a create, its Location.
type view[T, D any] struct {
	dto      func(T) D
	version  func(T) int
	location func(T) string // nil: no Location header
}

func (v view[T, D]) render(c *gin.Context, status int, item T) {
	if status == http.StatusCreated && v.location != nil {
		c.Header("Location", v.location(item))
	}
	respond(c, status, v.version(item), v.dto(item))
}

// getByID serves GET …/:id.
func getByID[T, D any](v view[T, D], get func(context.Context, int64) (T, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		item, err := get(c.Request.Context(), id)
		if err != nil {
			return err
		}
		v.render(c, http.StatusOK, item)
		return nil
	})
}

// createFrom serves a POST whose body R converts to the input I of create; 201.
func createFrom[R inputRequest[I], I, T, D any](v view[T, D], create func(context.Context, I) (T, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		in, err := bindInput[R](c, true)
		if err != nil {
			return err
		}
		item, err := create(c.Request.Context(), in)
		if err != nil {
			return err
		}
		v.render(c, http.StatusCreated, item)
		return nil
	})
}

// postToID serves a POST on …/:id whose body R converts to the input I of post, answering
// status (201 when it creates a sub-resource, 200 when it records on the resource).
func postToID[R inputRequest[I], I, T, D any](v view[T, D], status int, post func(context.Context, int64, I) (T, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		in, err := bindInput[R](c, true)
		if err != nil {
			return err
		}
		item, err := post(c.Request.Context(), id, in)
		if err != nil {
			return err
		}
		v.render(c, status, item)
		return nil
	})
}

// patchByID serves PATCH …/:id with If-Match, the body R converting to the input I of update.
func patchByID[R inputRequest[I], I, T, D any](v view[T, D], update func(context.Context, int64, int, I) (T, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		id, version, err := idAndVersion(c)
		if err != nil {
			return err
		}
		in, err := bindInput[R](c, false)
		if err != nil {
			return err
		}
		item, err := update(c.Request.Context(), id, version, in)
		if err != nil {
			return err
		}
		v.render(c, http.StatusOK, item)
		return nil
	})
}

// listByID serves GET …/:id/<children>, one keyset page of the children of the resource id.
func listByID[T, D any](dto func(T) D, list func(context.Context, int64, services.PageRequest) (services.Page[T], error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		page, err := pageRequest(c)
		if err != nil {
			return err
		}
		res, err := list(c.Request.Context(), id, page)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, newListResponse(res, dto))
		return nil
	})
}

// location builds the Location of a resource from its id under prefix.
func location(prefix string) func(id int64) string {
	return func(id int64) string { return prefix + strconv.FormatInt(id, 10) }
}

// idAndVersion reads the :id path parameter and the If-Match version of a PATCH.
func idAndVersion(c *gin.Context) (int64, int, error) {
	id, err := pathID(c)
	if err != nil {
		return 0, 0, err
	}
	version, err := expectedVersion(c)
	return id, version, err
}
