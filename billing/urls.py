"""Billing console URLs: the CDR page, the gateway report and account management."""

from django.urls import path

from billing import views
from vosadmin.core.generic import model_pages

app_name = "billing"

urlpatterns = [
    path("cdrs/", views.CdrListView.as_view(), name="cdr_list"),
    path("reports/gateways/", views.GatewayReportView.as_view(), name="gateway_report"),
    *model_pages(
        "rate-groups",
        "rategroup",
        views.RateGroupListView,
        views.RateGroupEditView,
        views.RateGroupDeleteView,
    ),
    path("rates/import/", views.RateImportView.as_view(), name="rate_import"),
    path("rates/export/", views.RateExportView.as_view(), name="rate_export"),
    *model_pages("rates", "rate", views.RateListView, views.RateEditView, views.RateDeleteView),
    *model_pages(
        "accounts",
        "account",
        views.AccountListView,
        views.AccountEditView,
        views.AccountDeleteView,
    ),
    path("accounts/<int:pk>/pay/", views.AccountPayView.as_view(), name="account_pay"),
    path("payments/", views.PaymentListView.as_view(), name="payment_list"),
]
