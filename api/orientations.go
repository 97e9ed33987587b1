package api

import "github.com/gin-gonic/gin"

// registerOrientations adds the routes of this capability (being written).
func registerOrientations(v1 *gin.RouterGroup, d Deps) {}
