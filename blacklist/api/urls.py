"""Blacklist API routes."""

from rest_framework.routers import SimpleRouter

from blacklist.api import views

router = SimpleRouter()
router.register("blacklist/groups", views.BlacklistGroupViewSet, basename="blacklistgroup")
router.register("blacklist/numbers", views.BlacklistNumberViewSet, basename="blacklistnumber")
router.register(
    "blacklist/dynamic", views.DynamicBlacklistEntryViewSet, basename="dynamicblacklistentry"
)
router.register("whitelist", views.SystemWhitelistEntryViewSet, basename="systemwhitelistentry")

urlpatterns = router.urls
