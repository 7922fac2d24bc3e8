"""Django admin for saved scenarios: read-only (a saved scenario never changes); delete is for moderation."""

import json

from django.contrib import admin
from django.utils.html import format_html

from .models import Scenario


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "protocol", "preset", "duration_s", "interventions", "created_at", "forked_from")
    list_filter = ("protocol", ("preset", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("slug", "title", "description", "preset")
    date_hierarchy = "created_at"
    list_select_related = ("forked_from",)
    readonly_fields = ("slug", "link", "title", "description", "protocol", "preset", "created_at", "forked_from",
                       "digest", "layout_json", "scenario_json")
    fields = readonly_fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # scenarios are created by the playground (Share, import, API), validated there

    def has_change_permission(self, request, obj=None):
        return False  # immutable: the change page is a read-only view

    @admin.display(description="duration")
    def duration_s(self, obj):
        return f"{obj.duration / 1000:.3f} s" if obj.duration is not None else "-"

    @admin.display(description="interventions")
    def interventions(self, obj):
        return obj.intervention_count

    @admin.display(description="link")
    def link(self, obj):
        url = obj.get_absolute_url()
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a> · <a href="{}.json">JSON</a>',
                           url, url, url)

    @admin.display(description="scenario")
    def scenario_json(self, obj):
        return format_html("<pre style='max-height:40em;overflow:auto'>{}</pre>",
                           json.dumps(obj.scenario, indent=2, ensure_ascii=False))

    @admin.display(description="layout")
    def layout_json(self, obj):
        return json.dumps(obj.layout) if obj.layout else "-"
