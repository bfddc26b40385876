"""Billing API routes."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import accounts, reports, views

router = SimpleRouter()
router.register("cdrs", views.CdrViewSet, basename="cdr")
router.register("rate-groups", accounts.RateGroupViewSet, basename="rategroup")
router.register("rates", accounts.RateViewSet, basename="rate")
router.register("accounts", accounts.AccountViewSet, basename="account")
router.register("payments", accounts.PaymentViewSet, basename="payment")

urlpatterns = [
    *router.urls,
    path("reports/gateways/", reports.GatewayReportView.as_view(), name="gateway-report"),
]
