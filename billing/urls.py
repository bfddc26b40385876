"""Billing console URLs."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("cdrs/", views.CdrListView.as_view(), name="cdr_list"),
]
