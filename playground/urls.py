from django.contrib import admin
from django.urls import path

from . import api, classroom, experiment_pages, lessons, pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("play/<slug:protocol>/", views.play, name="play"),
    path("api/protocols", views.protocols_api, name="protocols-api"),
    path("healthz", views.healthz, name="healthz"),
    # saved scenarios and share links (docs/sharing.md)
    path("s/<slug:slug>", pages.scenario_page, name="scenario"),
    path("s/<slug:slug>.json", api.scenario_file, name="scenario-file"),
    path("p/<slug:key>", pages.preset_page, name="preset"),
    path("e/<slug:stem>", pages.mutation_example_page, name="mutation-example"),
    path("import", pages.scenario_import, name="scenario-import"),
    path("api/scenarios", api.scenarios, name="scenarios-api"),
    path("api/scenarios/<slug:slug>", api.scenario_detail, name="scenario-api"),
    # lessons and embeds (docs/lessons.md)
    path("learn/", lessons.learn_index, name="learn"),
    path("learn/<slug:slug>/", lessons.learn_lesson, name="lesson"),
    path("embed/s/<slug:slug>/", lessons.embed_saved, name="embed-saved"),
    path("embed/<slug:slug>/", lessons.embed_lesson, name="embed-lesson"),
    # the class: students join with a code (docs/classroom.md)
    path("join", classroom.join, name="join"),
    path("c/<str:code>", classroom.class_page, name="class"),
    path("c/<str:code>/qr.svg", classroom.class_qr, name="class-qr"),
    # experiments: seeded trials against the papers' figures (docs/experiments.md)
    path("experiments/", experiment_pages.experiments_index, name="experiments"),
    path("experiments/<slug:slug>/", experiment_pages.experiment_page, name="experiment"),
    path("admin/", admin.site.urls),
]
