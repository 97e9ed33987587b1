package api

import "github.com/gin-gonic/gin"

// registerAccompaniment adds the routes of this capability (being written).
func registerAccompaniment(v1 *gin.RouterGroup, d Deps) {}
