"""Softswitch API routes."""

from rest_framework.routers import SimpleRouter

from softswitch.api import views

router = SimpleRouter()
router.register("gateways/mapping", views.MappingGatewayViewSet, basename="mappinggateway")
router.register("gateways/routing", views.RoutingGatewayViewSet, basename="routinggateway")
router.register("phones", views.PhoneViewSet, basename="phone")
router.register("registrations", views.RegistrationViewSet, basename="registration")
router.register("calls", views.CurrentCallViewSet, basename="currentcall")

urlpatterns = router.urls
