"""Billing API routes."""

from rest_framework.routers import SimpleRouter

from billing.api import accounts, views

router = SimpleRouter()
router.register("cdrs", views.CdrViewSet, basename="cdr")
router.register("rate-groups", accounts.RateGroupViewSet, basename="rategroup")
router.register("rates", accounts.RateViewSet, basename="rate")
router.register("accounts", accounts.AccountViewSet, basename="account")
router.register("payments", accounts.PaymentViewSet, basename="payment")

urlpatterns = router.urls
