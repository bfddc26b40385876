"""Core API routes."""

from rest_framework.routers import SimpleRouter

from vosadmin.core.api.parameters import ParameterViewSet

router = SimpleRouter()
router.register("parameters", ParameterViewSet, basename="parameter")

urlpatterns = router.urls
