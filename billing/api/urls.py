"""Billing API routes."""

from rest_framework.routers import SimpleRouter

from billing.api import views

router = SimpleRouter()
router.register("cdrs", views.CdrViewSet, basename="cdr")

urlpatterns = router.urls
