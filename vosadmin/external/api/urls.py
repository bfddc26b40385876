"""Web API access-control routes."""

from rest_framework.routers import SimpleRouter

from vosadmin.external.api import views

router = SimpleRouter()
router.register("web-access-rules", views.WebAccessRuleViewSet, basename="webaccessrule")

urlpatterns = router.urls
