"""Alarm monitoring URLs."""

from django.urls import path

from vosadmin.alarms import views
from vosadmin.core.generic import model_pages

app_name = "alarms"

urlpatterns = [
    path("alarms/", views.CurrentAlarmListView.as_view(), name="alarm_list"),
    path("alarms/history/", views.AlarmHistoryView.as_view(), name="alarm_history"),
    path(
        "alarms/<int:pk>/acknowledge/",
        views.AlarmAcknowledgeView.as_view(),
        name="alarm_acknowledge",
    ),
    *model_pages(
        "alarm-rules",
        "alarmrule",
        views.AlarmRuleListView,
        views.AlarmRuleEditView,
        views.AlarmRuleDeleteView,
    ),
    *model_pages(
        "alarm-webhooks",
        "webhook",
        views.WebhookListView,
        views.WebhookEditView,
        views.WebhookDeleteView,
    ),
]
