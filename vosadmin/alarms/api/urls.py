"""Alarms API routes."""

from rest_framework.routers import SimpleRouter

from vosadmin.alarms.api import views

router = SimpleRouter()
router.register("alarms/rules", views.AlarmRuleViewSet, basename="alarmrule")
router.register("alarms/current", views.CurrentAlarmViewSet, basename="alarm-current")
router.register("alarms/history", views.AlarmHistoryViewSet, basename="alarm-history")

urlpatterns = router.urls
