"""Number management URLs, and the dynamic-blacklist presets of the System parameter page."""

from django.urls import path

from blacklist import views
from vosadmin.core.generic import model_pages

app_name = "blacklist"

urlpatterns = [
    *model_pages(
        "blacklist-groups",
        "blacklistgroup",
        views.BlacklistGroupListView,
        views.BlacklistGroupEditView,
        views.BlacklistGroupDeleteView,
    ),
    path(
        "blacklist-numbers/import/",
        views.BlacklistNumberImportView.as_view(),
        name="blacklistnumber_import",
    ),
    path(
        "blacklist-numbers/export/",
        views.BlacklistNumberExportView.as_view(),
        name="blacklistnumber_export",
    ),
    *model_pages(
        "blacklist-numbers",
        "blacklistnumber",
        views.BlacklistNumberListView,
        views.BlacklistNumberEditView,
        views.BlacklistNumberDeleteView,
    ),
    path(
        "system-white-list/import/",
        views.WhitelistImportView.as_view(),
        name="systemwhitelistentry_import",
    ),
    path(
        "system-white-list/export/",
        views.WhitelistExportView.as_view(),
        name="systemwhitelistentry_export",
    ),
    *model_pages(
        "system-white-list",
        "systemwhitelistentry",
        views.SystemWhitelistEntryListView,
        views.SystemWhitelistEntryEditView,
        views.SystemWhitelistEntryDeleteView,
    ),
    path(
        "dynamic-black-list/",
        views.DynamicBlacklistListView.as_view(),
        name="dynamicblacklistentry_list",
    ),
    path(
        "dynamic-black-list/history/",
        views.DynamicBlacklistHistoryView.as_view(),
        name="dynamicblacklistentry_history",
    ),
    path(
        "dynamic-black-list/<int:pk>/release/",
        views.DynamicBlacklistReleaseView.as_view(),
        name="dynamicblacklistentry_release",
    ),
    path(
        "parameters/dynamic-blacklist-presets/<slug:preset>/<slug:family>/",
        views.PresetApplyView.as_view(),
        name="preset_apply",
    ),
]
